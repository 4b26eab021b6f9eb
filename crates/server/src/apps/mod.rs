//! The paste apps this crate provides itself: the root versions document and the empty
//! legacy `/v1.0` router; and `/healthcheck` (oslo.middleware's app), outside every pipeline. The SOL apps live in `crate::sol`, the VIM API in `tacker_vim`.

mod healthcheck;
mod versions;

pub use healthcheck::{healthcheck_app, HEALTHCHECK_PATH, HEALTHCHECK_TIMEOUT};
pub use versions::versions_app;

use axum::Router;
use http::{HeaderMap, Method};
use tacker_common::WebObError;

/// `tacker.api.v1.router:APIRouter`: its mapper is empty (every legacy resource comes from
/// the `extensions` filter), so everything that reaches it is WebOb's 404.
pub fn api_router_v1_app() -> Router {
    not_found_app()
}

/// An app that answers WebOb's 404 page to everything: `APIRouter`, and the Prometheus /
/// server-notification receivers this server does not provide.
pub fn not_found_app() -> Router {
    Router::new().fallback(|method: Method, headers: HeaderMap| async move {
        WebObError::not_found().render(&method, &headers)
    })
}
