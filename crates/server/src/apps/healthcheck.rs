//! `GET` / `HEAD /healthcheck`, as oslo.middleware's `healthcheck` app answers it
//! (`oslo_middleware/healthcheck/__init__.py`), for load balancers: served outside every paste
//! pipeline (no request id, no token), with one check, the database.
//!
//! * `GET`: `200` `OK` when the database answers a trivial query within
//!   [`HEALTHCHECK_TIMEOUT`], else `503` with the failed check as the reason. The reasons are
//!   `text/plain; charset=UTF-8` (oslo's `_make_text_response`), or the non-detailed JSON
//!   document when `Accept` prefers `application/json` (`_make_json_response`).
//! * `HEAD`: `204` when healthy, `503` when not, empty body (`HEAD_HEALTHY_TO_STATUS_CODES`).
//!   Any other method is answered as `GET`, as upstream's app does.
//!
//! The reason never carries the database's address, user or error text: it is served to
//! anyone who can reach the port. The cause is logged.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use http::{header, HeaderMap, Method, StatusCode};
use tacker_common::accept::Accept;
use tacker_vim::VimStore;

/// Where the health check is served, outside every pipeline.
pub const HEALTHCHECK_PATH: &str = "/healthcheck";

/// How long the database may take to answer before the check fails: well under the health
/// check timeouts of load balancers (haproxy's `timeout check` defaults to its connect
/// timeout, typically 5 s).
pub const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The reason of a healthy answer (oslo's backends report `OK`).
const OK_REASON: &str = "OK";
/// The reasons of a failed database check.
const DB_FAILED: &str = "database: the query failed";
const DB_TIMED_OUT: &str = "database: no answer within 2 seconds";

/// The `/healthcheck` app over `store`.
pub fn healthcheck_app(store: Arc<dyn VimStore>) -> Router {
    // Any method: upstream's app answers every method as `GET`, except `HEAD`.
    Router::new().route(HEALTHCHECK_PATH, any(healthcheck).with_state(store))
}

/// One check per request, as upstream runs its backends per request.
async fn healthcheck(
    State(store): State<Arc<dyn VimStore>>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let reason = match tokio::time::timeout(HEALTHCHECK_TIMEOUT, store.ping()).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => {
            tracing::warn!(cause = %e, "healthcheck: the database check failed");
            Some(DB_FAILED)
        }
        Err(_) => {
            tracing::warn!(
                timeout = ?HEALTHCHECK_TIMEOUT,
                "healthcheck: the database did not answer in time"
            );
            Some(DB_TIMED_OUT)
        }
    };
    let healthy = reason.is_none();
    let reason = reason.unwrap_or(OK_REASON);
    if method == Method::HEAD {
        let status = if healthy {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        return respond(status, "text/plain; charset=UTF-8", String::new());
    }
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    // oslo's offer order; no acceptable offer (or none asked for) is text/plain, never 406.
    let offers = ["text/plain", "text/html", "application/json"];
    match Accept::from_headers(&headers).best(&offers) {
        Some("application/json") => respond(status, "application/json", json_reasons(reason)),
        _ => respond(status, "text/plain; charset=UTF-8", reason.to_owned()),
    }
}

/// `json.dumps({"detailed": False, "reasons": [reason]}, indent=4, sort_keys=True)`.
fn json_reasons(reason: &str) -> String {
    format!(
        "{{\n    \"detailed\": false,\n    \"reasons\": [\n        {}\n    ]\n}}",
        serde_json::Value::from(reason)
    )
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .expect("a valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_reasons_is_pythons_indented_sorted_dump() {
        assert_eq!(
            json_reasons("OK"),
            "{\n    \"detailed\": false,\n    \"reasons\": [\n        \"OK\"\n    ]\n}"
        );
    }
}
