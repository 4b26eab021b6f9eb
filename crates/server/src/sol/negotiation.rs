//! `Accept` and `Content-Type` handling of the SOL apps, as WebOb's
//! `AcceptValidHeader.acceptable_offers` and Tacker's `SolResource._deserialize_body` do it.

/// Whether an `Accept` header admits `offer` (`type/subtype`): the most specific matching
/// media range decides, and it must have `q > 0` (RFC 9110 §12.5.1). No header, or a header
/// that does not parse, admits everything (WebOb's `AcceptNoHeader` / `AcceptInvalidHeader`).
pub fn accept_admits(accept: Option<&str>, offer: &str) -> bool {
    let Some(accept) = accept else { return true };
    let Some((offer_type, offer_sub)) = offer.split_once('/') else {
        return false;
    };
    if accept.split(',').all(|r| r.trim().is_empty()) {
        return true; // an empty header is treated as no preference
    }
    let mut best: Option<(u8, f32)> = None;
    for range in accept.split(',') {
        let range = range.trim();
        if range.is_empty() {
            continue;
        }
        let mut params = range.split(';');
        let media = params.next().unwrap_or("").trim();
        let Some((rtype, rsub)) = media.split_once('/') else {
            return true; // invalid header: WebOb treats it as absent
        };
        let mut q = 1.0f32;
        for p in params {
            if let Some((k, val)) = p.split_once('=') {
                if k.trim().eq_ignore_ascii_case("q") {
                    match val.trim().parse::<f32>() {
                        Ok(x) if (0.0..=1.0).contains(&x) => q = x,
                        _ => return true,
                    }
                }
            }
        }
        let specificity = match (rtype.trim(), rsub.trim()) {
            ("*", "*") => 1,
            (t, "*") if t.eq_ignore_ascii_case(offer_type) => 2,
            (t, s) if t.eq_ignore_ascii_case(offer_type) && s.eq_ignore_ascii_case(offer_sub) => 3,
            _ => continue,
        };
        if best.is_none_or(|(spec, _)| specificity > spec) {
            best = Some((specificity, q));
        }
    }
    matches!(best, Some((_, q)) if q > 0.0)
}

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
    fn json_is_admitted_by_wildcards_and_itself() {
        for a in [
            "*/*",
            "application/*",
            "application/json",
            "text/html, application/json;q=0.1",
            "Application/JSON",
        ] {
            assert!(accept_admits(Some(a), "application/json"), "{a}");
        }
        assert!(accept_admits(None, "application/json"));
        assert!(accept_admits(Some(""), "application/json"));
    }

    #[test]
    fn json_is_refused_when_not_listed_or_q_zero() {
        for a in [
            "text/plain",
            "application/xml",
            "application/json;q=0",
            "*/*, application/json;q=0",
            "application/*;q=0",
        ] {
            assert!(!accept_admits(Some(a), "application/json"), "{a}");
        }
    }

    #[test]
    fn unparseable_accept_admits_everything() {
        assert!(accept_admits(Some("garbage"), "application/json"));
        assert!(accept_admits(Some("text/plain;q=abc"), "application/json"));
    }

    #[test]
    fn media_type_drops_parameters() {
        assert_eq!(
            media_type("Application/JSON; charset=UTF-8"),
            "application/json"
        );
    }
}
