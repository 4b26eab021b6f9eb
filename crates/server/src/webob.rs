//! WebOb's content negotiation for its default error pages
//! (`WSGIHTTPException.generate_response`): `text/html` or `application/json` when `Accept`
//! prefers one of them, `text/plain` otherwise (also when there is no `Accept` header).

use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, StatusCode};
use tacker_common::{to_py_json, webob_error_page};

/// The WebOb page for `status` in the representation `Accept` asks for.
pub fn webob_page(
    headers: &HeaderMap,
    status: StatusCode,
    explanation: &str,
    detail: &str,
) -> Response {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let status_line = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    // WebOb's body template: "${explanation}<br /><br />\n${detail}\n${html_comment}\n".
    let body = format!("{explanation}<br /><br />\n{detail}\n\n");
    match best_offer(&accept) {
        Some("text/html") => webob_error_page(status, explanation, detail),
        Some(_) => {
            let json = serde_json::json!({
                "message": body,
                "code": status_line,
                "title": status.canonical_reason().unwrap_or(""),
            });
            (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                to_py_json(&json),
            )
                .into_response()
        }
        None => {
            let plain = format!("{status_line}\n\n{}", strip_tags(&body));
            (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")],
                plain,
            )
                .into_response()
        }
    }
}

/// WebOb `strip_tags`: newlines become spaces, `<br ...>` a newline, other tags vanish.
fn strip_tags(s: &str) -> String {
    let s = s.replace('\n', " ").replace('\r', "");
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

/// The best of the offers `text/html`, `application/json` (in that order of preference on
/// ties) for an `Accept` value; `None` when neither is acceptable or the header is empty.
fn best_offer(accept: &str) -> Option<&'static str> {
    const OFFERS: [&str; 2] = ["text/html", "application/json"];
    let mut best: Option<(f32, usize)> = None;
    for (idx, offer) in OFFERS.iter().enumerate() {
        let (otype, osub) = offer.split_once('/').expect("offers are type/subtype");
        // The most specific matching range decides the offer's quality (RFC 7231 §5.3.2).
        let mut chosen: Option<(u8, f32)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let Some((t, s)) = media.split_once('/') else {
                continue;
            };
            let q = parts
                .filter_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                })
                .next()
                .unwrap_or(1.0);
            let specificity = match (t, s) {
                ("*", "*") => 0,
                (t, "*") if t == otype => 1,
                (t, s) if t == otype && s == osub => 2,
                _ => continue,
            };
            if chosen.is_none_or(|(sp, _)| specificity > sp) {
                chosen = Some((specificity, q));
            }
        }
        if let Some((_, q)) = chosen {
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, idx));
            }
        }
    }
    best.map(|(_, i)| OFFERS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_webob() {
        assert_eq!(best_offer("*/*"), Some("text/html"));
        assert_eq!(best_offer("application/json"), Some("application/json"));
        assert_eq!(
            best_offer("text/html;q=0.5, application/json"),
            Some("application/json")
        );
        assert_eq!(best_offer("text/plain"), None);
        assert_eq!(best_offer(""), None);
        assert_eq!(best_offer("text/*"), Some("text/html"));
    }

    #[tokio::test]
    async fn plain_and_json_bodies() {
        let mut h = HeaderMap::new();
        let expl =
            "The server has either erred or is incapable of performing the requested operation.";
        let r = webob_page(&h, StatusCode::INTERNAL_SERVER_ERROR, expl, "");
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/plain; charset=UTF-8"
        );
        let b = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(
            b,
            format!("500 Internal Server Error\n\n{expl}\n\n   ").as_bytes()
        );

        h.insert(header::ACCEPT, "application/json".parse().unwrap());
        let r = webob_page(&h, StatusCode::INTERNAL_SERVER_ERROR, expl, "");
        let b = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&b).unwrap(),
            format!(
                "{{\"message\": \"{expl}<br /><br />\\n\\n\\n\", \"code\": \"500 Internal Server Error\", \"title\": \"Internal Server Error\"}}"
            )
        );
    }
}
