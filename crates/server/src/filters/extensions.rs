//! `extensions` (`tacker.api.extensions:extension_middleware_factory`): routes the extension
//! resources of `/v1.0` (the `extensions` listing and the `vims` collection) and passes
//! every other request down to `APIRouter`.

use std::convert::Infallible;

use axum::body::Body;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Router;
use http::{HeaderMap, Method, Request};
use serde_json::{json, Value};
use tacker_common::webob::{without_allow_header, WebObError};
use tacker_common::PyJson;
use tower::util::MapResponse;
use tower::{Layer, Service};

/// The extensions Tacker loads, in its file-name order (`commonservices`, `nfvo`, `vnfm`).
fn extensions() -> [Value; 3] {
    let ext = |name: &str, alias: &str, description: &str, updated: &str| {
        json!({
            "name": name,
            "alias": alias,
            "description": description,
            "namespace": "https://wiki.openstack.org/Tacker",
            "updated": updated,
            "links": [],
        })
    };
    [
        ext(
            "COMMONSERVICES",
            "Commonservices",
            "Extension for CommonServices",
            "2016-06-06T13:00:00-00:00",
        ),
        ext(
            "NFV Orchestrator",
            "NFVO",
            "Extension for NFV Orchestrator",
            "2015-12-21T10:00:00-00:00",
        ),
        ext(
            "VNF Manager",
            "VNFM",
            "Extension for VNF Manager",
            "2013-11-19T10:00:00-00:00",
        ),
    ]
}

/// The `extensions` filter: `resources` are the extension collections' routes (`/vims...`).
#[derive(Clone)]
pub struct ExtensionsLayer {
    resources: Router,
}

impl ExtensionsLayer {
    pub fn new(resources: Router) -> Self {
        Self { resources }
    }
}

impl<S> Layer<S> for ExtensionsLayer
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    type Service = MapResponse<Router, fn(Response) -> Response>;

    /// `ExtensionMiddleware`: the extension controller's routes and the extension resources
    /// are matched by path and method (routes' mapper); any other request goes to `inner`
    /// (APIRouter). An unrouted method of `/extensions` falls through too, as upstream. No
    /// answer carries `Allow` (see [`without_allow_header`]).
    fn layer(&self, inner: S) -> Self::Service {
        let listing = || -> MethodRouter {
            get(index)
                .post(resource_not_found)
                .fallback_service(inner.clone())
        };
        let member = get(show)
            .delete(resource_not_found)
            // Upstream crashes with 500 (no `update`): the same 404 as DELETE here.
            .put(resource_not_found)
            .fallback_service(inner.clone());
        let router = Router::new()
            .route("/extensions", listing())
            .route("/extensions.json", listing())
            .route("/extensions/{alias}", member)
            .merge(self.resources.clone())
            .fallback_service(inner);
        without_allow_header(router)
    }
}

async fn index() -> Response {
    PyJson(json!({ "extensions": extensions() })).into_response()
}

/// routes' `{id}.:(format)` form: `/extensions/NFVO.json` is `NFVO`.
async fn show(Path(alias): Path<String>, method: Method, headers: HeaderMap) -> Response {
    let alias = alias.strip_suffix(".json").unwrap_or(&alias);
    match extensions().into_iter().find(|e| e["alias"] == alias) {
        Some(ext) => PyJson(json!({ "extension": ext })).into_response(),
        None => WebObError::not_found()
            .with_detail(format!("Extension with alias {alias} does not exist"))
            .render(&method, &headers),
    }
}

/// ExtensionController.create/delete: `HTTPNotFound("Resource not found.")`.
async fn resource_not_found(method: Method, headers: HeaderMap) -> Response {
    WebObError::not_found()
        .with_detail("Resource not found.")
        .render(&method, &headers)
}
