//! `Content-Type` handling of the SOL apps, as Tacker's `SolResource._deserialize_body` does
//! it (`Accept` goes through `tacker_common::accept`, the server's one negotiation).

/// The media type of a `Content-Type` value, lower-cased, without parameters (WebOb's
/// `Request.content_type`).
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_drops_parameters() {
        assert_eq!(
            media_type("Application/JSON; charset=UTF-8"),
            "application/json"
        );
    }
}
