//! SOL013 common surface of the SOL API prefixes (issue 6). Each function builds the app a
//! paste factory name maps to; paths are relative to the composite's urlmap prefix.
//! (Placeholder: filled by the SOL013 work; until then every path answers the fallback 404.)

use axum::Router;

/// `vnflcm_api_versions` (`/vnflcm`).
pub fn vnflcm_versions_app() -> Router {
    Router::new()
}
/// `vnflcmaapp_v1` (`/vnflcm/v1`).
pub fn vnflcm_v1_app() -> Router {
    Router::new()
}
/// `vnflcmaapp_v2` (`/vnflcm/v2`).
pub fn vnflcm_v2_app() -> Router {
    Router::new()
}
/// `vnfpkgmapp_v1` (`/vnfpkgm/v1`).
pub fn vnfpkgm_v1_app() -> Router {
    Router::new()
}
/// `vnffmaapp_v1` (`/vnffm/v1`).
pub fn vnffm_v1_app() -> Router {
    Router::new()
}
/// `vnfpmaapp_v2` (`/vnfpm/v2`).
pub fn vnfpm_v2_app() -> Router {
    Router::new()
}
