//! `request_id` (`oslo_middleware:RequestId`): a fresh `req-<uuid4>` per request, put in the
//! request extensions as [`RequestId`] and sent back as `X-Openstack-Request-Id` unless the
//! app already set one. A valid inbound id is kept only as the global request id, for logs.

use std::sync::OnceLock;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;
use futures::future::BoxFuture;
use http::{HeaderValue, Request};
use regex::Regex;
use tacker_common::RequestId;
use tower::{Layer, Service};
use tracing::Instrument;

/// `X-Openstack-Request-Id` (oslo.middleware `HTTP_RESP_HEADER_REQUEST_ID`).
pub const REQUEST_ID_HEADER: &str = "x-openstack-request-id";

#[derive(Clone, Copy, Debug, Default)]
pub struct RequestIdLayer;

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestIdService { inner }
    }
}

#[derive(Clone, Debug)]
pub struct RequestIdService<S> {
    inner: S,
}

/// oslo.middleware `ID_FORMAT`: `req-` and a lower-case hex UUID.
fn valid_global_id(v: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^req-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$")
            .expect("static regex")
    })
    .is_match(v)
}

impl<S> Service<Request<Body>> for RequestIdService<S>
where
    S: Service<Request<Body>, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let local = format!("req-{}", uuid::Uuid::new_v4());
        let global = req
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| valid_global_id(v))
            .map(str::to_owned);
        let span = tracing::info_span!(
            "request",
            request_id = %local,
            global_request_id = global.as_deref().unwrap_or("-"),
        );
        let method = req.method().clone();
        // The path as the client sent it: nesting under a urlmap prefix strips the prefix.
        let path = req
            .extensions()
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| req.uri().path(), |o| o.0.path())
            .to_owned();
        req.extensions_mut().insert(RequestId {
            local: local.clone(),
            global,
        });
        let fut = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        Box::pin(
            async move {
                let mut resp = fut.await?;
                if !resp.headers().contains_key(REQUEST_ID_HEADER) {
                    let value =
                        HeaderValue::from_str(&local).expect("req-<uuid> is a valid header value");
                    resp.headers_mut().insert(REQUEST_ID_HEADER, value);
                }
                tracing::info!(%method, path, status = resp.status().as_u16(), "request handled");
                Ok(resp)
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};
    use tower::ServiceExt;

    #[tokio::test]
    async fn sets_header_and_keeps_only_valid_inbound_id_as_global() {
        let seen: Arc<Mutex<Option<RequestId>>> = Arc::default();
        let seen2 = seen.clone();
        let app = tower::service_fn(move |req: Request<Body>| {
            let seen = seen2.clone();
            async move {
                *seen.lock().unwrap() = req.extensions().get::<RequestId>().cloned();
                Ok::<_, Infallible>(Response::new(Body::empty()))
            }
        });
        let inbound = "req-11111111-2222-3333-4444-555555555555";
        let req = Request::builder()
            .header(REQUEST_ID_HEADER, inbound)
            .body(Body::empty())
            .unwrap();
        let resp = RequestIdLayer
            .layer(app.clone())
            .oneshot(req)
            .await
            .unwrap();
        let rid = seen.lock().unwrap().clone().unwrap();
        let header = resp.headers()[REQUEST_ID_HEADER].to_str().unwrap();
        assert_eq!(header, rid.local);
        assert_ne!(header, inbound, "the inbound id is never echoed");
        assert!(header.starts_with("req-") && uuid::Uuid::parse_str(&header[4..]).is_ok());
        assert_eq!(rid.global.as_deref(), Some(inbound));

        let req = Request::builder()
            .header(REQUEST_ID_HEADER, "req-not-a-uuid")
            .body(Body::empty())
            .unwrap();
        RequestIdLayer.layer(app).oneshot(req).await.unwrap();
        assert_eq!(seen.lock().unwrap().clone().unwrap().global, None);
    }

    #[tokio::test]
    async fn an_id_set_by_the_app_is_kept() {
        let app = tower::service_fn(|_req: Request<Body>| async {
            let mut r = Response::new(Body::empty());
            r.headers_mut()
                .insert(REQUEST_ID_HEADER, HeaderValue::from_static("req-app"));
            Ok::<_, Infallible>(r)
        });
        let resp = RequestIdLayer
            .layer(app)
            .oneshot(Request::new(Body::empty()))
            .await
            .unwrap();
        assert_eq!(resp.headers()[REQUEST_ID_HEADER], "req-app");
    }
}
