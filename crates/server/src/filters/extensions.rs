//! `extensions` (`tacker.api.extensions:extension_middleware_factory`): serves the extension
//! resources of `/v1.0` (the `extensions` listing and the `vims` collection) and passes
//! every other path down to `APIRouter`.

use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures::future::BoxFuture;
use http::{Method, Request, StatusCode};
use serde_json::{json, Value};
use tacker_common::PyJson;
use tower::{Layer, Service, ServiceExt};

use crate::webob::webob_page;

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

/// The `extensions` filter; `resources` serves the extension collections (`/vims...`).
#[derive(Clone)]
pub struct ExtensionsLayer {
    resources: Router,
}

impl ExtensionsLayer {
    pub fn new(resources: Router) -> Self {
        Self { resources }
    }
}

impl<S> Layer<S> for ExtensionsLayer {
    type Service = Extensions<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Extensions {
            inner,
            resources: self.resources.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Extensions<S> {
    inner: S,
    resources: Router,
}

/// What the extension mapper matches for a path (relative to `/v1.0`).
enum Route<'a> {
    Index,
    Show(&'a str),
    Vims,
    Other,
}

fn route(path: &str) -> Route<'_> {
    match path {
        "/extensions" | "/extensions.json" => Route::Index,
        "/vims" | "/vims.json" => Route::Vims,
        _ => {
            if let Some(alias) = path.strip_prefix("/extensions/") {
                if !alias.is_empty() && !alias.contains('/') {
                    // routes' `{id}.:(format)` form.
                    return Route::Show(alias.strip_suffix(".json").unwrap_or(alias));
                }
            }
            if path.starts_with("/vims/") {
                return Route::Vims;
            }
            Route::Other
        }
    }
}

impl<S> Service<Request<Body>> for Extensions<S>
where
    S: Service<Request<Body>, Response = Response, Error = std::convert::Infallible>
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<'static, Result<Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let method = req.method().clone();
        let is_get = method == Method::GET || method == Method::HEAD;
        let resource_not_found = |req: &Request<Body>| {
            // ExtensionController.create/delete: HTTPNotFound("Resource not found.").
            webob_page(
                req.headers(),
                StatusCode::NOT_FOUND,
                "The resource could not be found.",
                "Resource not found.",
            )
        };
        let resp = match route(req.uri().path()) {
            Route::Index if is_get => PyJson(json!({ "extensions": extensions() })).into_response(),
            Route::Index if method == Method::POST => resource_not_found(&req),
            Route::Show(alias) if is_get => {
                match extensions().into_iter().find(|e| e["alias"] == alias) {
                    Some(ext) => PyJson(json!({ "extension": ext })).into_response(),
                    None => webob_page(
                        req.headers(),
                        StatusCode::NOT_FOUND,
                        "The resource could not be found.",
                        &format!("Extension with alias {alias} does not exist"),
                    ),
                }
            }
            // Upstream: DELETE is the same 404, PUT crashes with 500 (no `update`): 404 here.
            Route::Show(_) if method == Method::DELETE || method == Method::PUT => {
                resource_not_found(&req)
            }
            Route::Vims => {
                let resources = self.resources.clone();
                return Box::pin(async move { resources.oneshot(req).await });
            }
            _ => return Box::pin(self.inner.call(req)),
        };
        Box::pin(async move { Ok(resp) })
    }
}
