//! `egg:Paste#urlmap`: the longest prefix that matches at a path-segment boundary wins; the
//! prefix is stripped from the path the app sees (WSGI `SCRIPT_NAME` / `PATH_INFO`).

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;
use futures::future::BoxFuture;
use http::uri::PathAndQuery;
use http::{Request, StatusCode, Uri};
use tower::{Service, ServiceExt};

use crate::pipeline::HttpService;
use crate::webob::webob_page;

/// The prefix a request was dispatched under (WSGI `SCRIPT_NAME`), in request extensions.
/// The full original URI is in axum's `OriginalUri`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptName(pub String);

#[derive(Clone)]
pub struct UrlMap {
    /// Longest prefix first; prefixes have no trailing slash (`/` is "").
    entries: Vec<(String, HttpService)>,
}

impl UrlMap {
    pub fn new(mut entries: Vec<(String, HttpService)>) -> Self {
        // paste.urlmap sorts by prefix length, longest first (stable for equal lengths).
        entries.sort_by(|a, b| b.0.len().cmp(&a.0.len()));
        Self { entries }
    }

    /// The entry for `path` and the path left after its prefix.
    fn find<'p>(&self, path: &'p str) -> Option<(usize, &'p str)> {
        self.entries
            .iter()
            .position(|(prefix, _)| {
                path == prefix
                    || (path.starts_with(prefix.as_str()) && path[prefix.len()..].starts_with('/'))
            })
            .map(|i| (i, &path[self.entries[i].0.len()..]))
    }
}

impl Service<Request<Body>> for UrlMap {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let path = req.uri().path().to_owned();
        let Some((idx, rest)) = self.find(&path) else {
            let resp = webob_page(
                req.headers(),
                StatusCode::NOT_FOUND,
                "The resource could not be found.",
                "",
            );
            return Box::pin(async move { Ok(resp) });
        };
        let (prefix, svc) = &self.entries[idx];
        let new_pq = match req.uri().query() {
            Some(q) => format!("{rest}?{q}"),
            None => rest.to_owned(),
        };
        let mut parts = req.uri().clone().into_parts();
        // An empty PATH_INFO (`/v1.0`) has no origin-form; keep it empty-but-valid as "".
        parts.path_and_query = if new_pq.is_empty() {
            None
        } else {
            PathAndQuery::try_from(new_pq.as_str()).ok()
        };
        if let Ok(uri) = Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
        req.extensions_mut().insert(ScriptName(prefix.clone()));
        let svc = svc.clone();
        Box::pin(svc.oneshot(req))
    }
}
