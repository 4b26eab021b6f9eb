//! WebOb's default HTML error page (`webob.exc.WSGIHTTPException`), as Tacker's routes and
//! urlmap answer for paths they do not know.

use axum::response::{IntoResponse, Response};
use http::{header, StatusCode};

/// The HTML page WebOb renders for `status` with `detail` (may be empty), e.g.
/// `404 Not Found` / "The resource could not be found.".
pub fn webob_error_page(status: StatusCode, explanation: &str, detail: &str) -> Response {
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    let body = format!(
        "<html>\n <head>\n  <title>{title}</title>\n </head>\n <body>\n  <h1>{title}</h1>\n  {explanation}<br /><br />\n{detail}\n\n\n </body>\n</html>"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
        body,
    )
        .into_response()
}

/// `404 Not Found` with WebOb's explanation "The resource could not be found." and `detail`.
pub fn webob_not_found(detail: &str) -> Response {
    webob_error_page(
        StatusCode::NOT_FOUND,
        "The resource could not be found.",
        detail,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    #[tokio::test]
    async fn not_found_page_matches_recording() {
        let resp = webob_not_found("");
        let body = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        // 154 bytes in tacker-golden/00_root_and_v1_0.txt.
        assert_eq!(body.len(), 154);
    }
}
