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
        entries.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tagged(tag: &'static str) -> HttpService {
        HttpService::new(tower::service_fn(move |req: Request<Body>| async move {
            let script = req.extensions().get::<ScriptName>().cloned().unwrap();
            let body = format!("{tag} script={} path={}", script.0, req.uri());
            Ok::<_, Infallible>(Response::new(Body::from(body)))
        }))
    }

    async fn hit(map: &UrlMap, path: &str) -> String {
        let req = Request::builder().uri(path).body(Body::empty()).unwrap();
        let resp = map.clone().oneshot(req).await.unwrap();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn longest_prefix_at_a_segment_boundary_wins_and_is_stripped() {
        let map = UrlMap::new(vec![
            ("".into(), tagged("root")),
            ("/vnflcm".into(), tagged("versions")),
            ("/vnflcm/v1".into(), tagged("v1")),
            ("/v1.0".into(), tagged("api")),
        ]);
        assert_eq!(
            hit(&map, "/vnflcm/v1/vnf_instances?a=b").await,
            "v1 script=/vnflcm/v1 path=/vnf_instances?a=b"
        );
        assert_eq!(hit(&map, "/vnflcm/v1").await, "v1 script=/vnflcm/v1 path=");
        assert_eq!(
            hit(&map, "/vnflcm/api_versions").await,
            "versions script=/vnflcm path=/api_versions"
        );
        // Not a segment boundary: falls back to the shorter prefix.
        assert_eq!(
            hit(&map, "/vnflcm/v10").await,
            "versions script=/vnflcm path=/v10"
        );
        assert_eq!(hit(&map, "/v1.0x").await, "root script= path=/v1.0x");
        assert_eq!(hit(&map, "/v1.0/").await, "api script=/v1.0 path=/");
        assert_eq!(hit(&map, "/").await, "root script= path=/");
    }

    #[tokio::test]
    async fn no_match_without_a_root_entry_is_404() {
        let map = UrlMap::new(vec![("/v1.0".into(), tagged("api"))]);
        let req = Request::builder()
            .uri("/other")
            .body(Body::empty())
            .unwrap();
        let resp = map.oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    }
}
