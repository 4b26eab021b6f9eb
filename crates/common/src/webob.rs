//! WebOb's HTTP exceptions (`webob.exc.HTTP*`) as they render themselves for a request
//! (`WSGIHTTPException.generate_response`, WebOb 1.8): the class's status and explanation, an
//! optional detail, and the representation the request's `Accept` picks among `text/html`
//! and `application/json` (`text/plain` when it picks neither; a missing header counts as an
//! empty one there). A `HEAD` request gets the headers of an empty HTML answer.
//!
//! Every WebOb page the server writes goes through [`WebObError::render`]: the routes'
//! 404s, `catch_errors`' 500, `keystonecontext`'s 401, the extension controller's 404s.

use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, Method, StatusCode};
use tower::util::MapResponse;

use crate::accept::Accept;
use crate::to_py_json;

/// One `webob.exc.HTTP*` exception.
#[derive(Clone, Debug)]
pub struct WebObError {
    status: StatusCode,
    explanation: Cow<'static, str>,
    detail: String,
}

/// The class-level `title` and `explanation` of WebOb 1.8's exception for `status` (as the
/// module leaves them after import: each explanation on one line, single-spaced).
fn class_of(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("Bad Request", "The server could not comply with the request since it is either malformed or otherwise incorrect."),
        401 => ("Unauthorized", "This server could not verify that you are authorized to access the document you requested. Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand how to supply the credentials required."),
        403 => ("Forbidden", "Access was denied to this resource."),
        404 => ("Not Found", "The resource could not be found."),
        405 => ("Method Not Allowed", "The server could not comply with the request since it is either malformed or otherwise incorrect."),
        406 => ("Not Acceptable", "The server could not comply with the request since it is either malformed or otherwise incorrect."),
        408 => ("Request Timeout", "The server has waited too long for the request to be sent by the client."),
        411 => ("Length Required", "Content-Length header required."),
        413 => ("Request Entity Too Large", "The body of your request was too large for this server."),
        500 => ("Internal Server Error", "The server has either erred or is incapable of performing the requested operation."),
        503 => ("Service Unavailable", "The server is currently unavailable. Please try again at a later time."),
        _ => (status.canonical_reason().unwrap_or(""), ""),
    }
}

impl WebObError {
    /// `webob.exc.HTTP<status>()` with its class explanation and no detail.
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            explanation: Cow::Borrowed(class_of(status).1),
            detail: String::new(),
        }
    }

    /// `webob.exc.HTTPNotFound()`.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND)
    }

    /// `explanation=...` given to the constructor.
    pub fn with_explanation(mut self, explanation: impl Into<Cow<'static, str>>) -> Self {
        self.explanation = explanation.into();
        self
    }

    /// `detail=...` given to the constructor.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The page for a request with `method` and `headers`.
    pub fn render(&self, method: &Method, headers: &HeaderMap) -> Response {
        let (title, _) = class_of(self.status);
        let status_line = format!("{} {title}", self.status.as_u16());
        if method == Method::HEAD {
            // `WSGIHTTPException.__call__`: a HEAD answer is the bare Response, no body.
            return (
                self.status,
                [
                    (header::CONTENT_TYPE, "text/html; charset=UTF-8"),
                    (header::CONTENT_LENGTH, "0"),
                ],
            )
                .into_response();
        }
        // `environ.get('HTTP_ACCEPT', '')`: no header reads as an empty (valid) one.
        let accept = match Accept::from_headers(headers) {
            Accept::NoHeader => Accept::parse(Some("")),
            other => other,
        };
        match accept.best(&["text/html", "application/json"]) {
            Some("text/html") => {
                let body = format!(
                    "<html>\n <head>\n  <title>{status_line}</title>\n </head>\n <body>\n  <h1>{status_line}</h1>\n  {}\n </body>\n</html>",
                    self.body(html_escape)
                );
                (
                    self.status,
                    [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
                    body,
                )
                    .into_response()
            }
            Some(_) => {
                let json = serde_json::json!({
                    "message": self.body(|s| s.to_owned()),
                    "code": status_line,
                    "title": title,
                });
                (
                    self.status,
                    [(header::CONTENT_TYPE, "application/json")],
                    to_py_json(&json),
                )
                    .into_response()
            }
            None => {
                let plain = format!(
                    "{status_line}\n\n{}",
                    strip_tags(&self.body(|s| s.to_owned()))
                );
                (
                    self.status,
                    [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")],
                    plain,
                )
                    .into_response()
            }
        }
    }

    /// `body_template_obj`: `${explanation}<br /><br />\n${detail}\n${html_comment}\n`.
    fn body(&self, escape: impl Fn(&str) -> String) -> String {
        format!(
            "{}<br /><br />\n{}\n\n",
            escape(&self.explanation),
            escape(&self.detail)
        )
    }
}

/// A router's answers without `Allow`. axum adds that header to the answer of a route's
/// method fallback (after any layer of the router has run); WebOb's routes never send one (an
/// unrouted method is the plain 404 page), so routers that serve that page from method
/// fallbacks are wrapped in this.
pub fn without_allow_header<S>(service: S) -> MapResponse<S, fn(Response) -> Response> {
    fn strip(mut response: Response) -> Response {
        response.headers_mut().remove(header::ALLOW);
        response
    }
    MapResponse::new(service, strip)
}

/// `webob.util.html_escape`: `html.escape(s, quote=True)`, non-ASCII as `&#NNN;`.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c if c.is_ascii() => out.push(c),
            c => out.push_str(&format!("&#{};", c as u32)),
        }
    }
    out
}

/// WebOb `strip_tags`: newlines become spaces, `<br ...>` a newline, comments and other tags
/// vanish (`<.*?>`, across lines).
fn strip_tags(s: &str) -> String {
    let s = s.replace('\n', " ").replace('\r', "");
    let s = s.replace("<!--", "").replace("-->", "");
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let tag = &rest[open..open + close + 1];
        if tag.len() >= 3 && tag[1..3].eq_ignore_ascii_case("br") {
            out.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn page(e: &WebObError, method: Method, accept: Option<&str>) -> (String, String) {
        let mut headers = HeaderMap::new();
        if let Some(a) = accept {
            headers.insert(header::ACCEPT, a.parse().unwrap());
        }
        let resp = e.render(&method, &headers);
        let ct = resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let body = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (ct, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn not_found_page_matches_recording() {
        let (ct, body) = page(&WebObError::not_found(), Method::GET, Some("*/*")).await;
        assert_eq!(ct, "text/html; charset=UTF-8");
        // 154 bytes in tacker-golden/00_root_and_v1_0.txt.
        assert_eq!(body.len(), 154);
    }

    /// 358 bytes as real Tacker sends keystonecontext's 401 (issue 12, WebOb 1.8).
    #[tokio::test]
    async fn unauthorized_page_is_one_single_spaced_line() {
        let e = WebObError::new(StatusCode::UNAUTHORIZED);
        let (_, body) = page(&e, Method::GET, Some("*/*")).await;
        assert_eq!(body.len(), 358);
        assert!(body.contains("authorized to access the document you requested. Either"));
    }

    #[tokio::test]
    async fn detail_is_escaped_in_html_only_and_plain_strips_tags() {
        let e = WebObError::not_found().with_detail("a <b> & \"c\" 'd'");
        let (_, html) = page(&e, Method::GET, Some("text/html")).await;
        assert!(
            html.contains("a &lt;b&gt; &amp; &quot;c&quot; &#x27;d&#x27;"),
            "{html}"
        );
        let (ct, plain) = page(&e, Method::GET, None).await;
        assert_eq!(ct, "text/plain; charset=UTF-8");
        assert_eq!(
            plain,
            "404 Not Found\n\nThe resource could not be found.\n\n a  & \"c\" 'd'  "
        );
        let (ct, json) = page(&e, Method::GET, Some("application/json")).await;
        assert_eq!(ct, "application/json");
        assert!(json
            .starts_with("{\"message\": \"The resource could not be found.<br /><br />\\na <b>"));
        let (ct, head) = page(&e, Method::HEAD, Some("*/*")).await;
        assert_eq!(
            (ct.as_str(), head.as_str()),
            ("text/html; charset=UTF-8", "")
        );
    }
}
