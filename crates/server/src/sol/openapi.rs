//! `GET /openapi.yaml`: the API reference the server is tested against, embedded at build
//! time so the served document always matches the binary.

use axum::routing::get;
use axum::Router;
use http::header;

/// `api-ref/openapi.yaml` (OpenAPI 3.1).
pub const OPENAPI_YAML: &str = include_str!("../../../../api-ref/openapi.yaml");

/// Where the API description is served, outside every pipeline.
pub const OPENAPI_PATH: &str = "/openapi.yaml";

/// Serves [`OPENAPI_YAML`] at [`OPENAPI_PATH`] (`Content-Type: application/yaml`, RFC 9512).
/// Mounted outside the authenticated pipelines: the reference is public.
pub fn openapi_app() -> Router {
    Router::new().route(
        OPENAPI_PATH,
        get(|| async { ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI_YAML) }),
    )
}
