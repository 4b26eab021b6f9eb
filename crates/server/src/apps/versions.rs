//! `tacker.api.versions:Versions` (`/`, outside every pipeline): the version list at `/`,
//! WebOb's 404 "Unknown API version specified" anywhere else under it.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::json;
use tacker_common::PyJson;

use crate::listener::ConnectionInfo;
use tacker_common::WebObError;

/// `scheme` is `https` when the listener serves TLS (the connection's [`ConnectionInfo`]
/// wins when present); `fallback_host` stands in for a request
/// without `Host` (WebOb would use `SERVER_NAME:SERVER_PORT`).
pub fn versions_app(scheme: &'static str, fallback_host: String) -> Router {
    Router::new().fallback(move |req: Request| {
        let fallback_host = fallback_host.clone();
        async move { versions(scheme, &fallback_host, req) }
    })
}

fn versions(scheme: &str, fallback_host: &str, req: Request) -> Response {
    // The app sits at the empty urlmap prefix, so the path is the request's whole path.
    if req.uri().path() != "/" {
        return WebObError::not_found()
            .with_explanation("Unknown API version specified")
            .render(req.method(), req.headers());
    }
    let conn = req.extensions().get::<ConnectionInfo>();
    let scheme = conn
        .map(|c| if c.tls { "https" } else { "http" })
        .unwrap_or(scheme);
    let fallback_host = conn
        .map(|c| c.local_addr.to_string())
        .unwrap_or_else(|| fallback_host.to_owned());
    // WebOb `application_url`: scheme + Host (HTTP/2: the :authority) + SCRIPT_NAME ("").
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or(fallback_host);
    // Upstream answers 500 when Accept/Content-Type name something other than JSON; JSON is
    // the only representation, so it is always the answer here (api-ref/compat.md).
    PyJson(json!({
        "versions": [{
            "id": "v1.0",
            "status": "CURRENT",
            "links": [{"rel": "self", "href": format!("{scheme}://{host}/v1.0")}],
        }]
    }))
    .into_response()
}
