//! `catch_errors` (`oslo_middleware:CatchErrors`): a panic anywhere below, while building the
//! response future or while running it, becomes WebOb's `500 Internal Server Error` page,
//! logged once with the request id. The connection is never dropped.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;
use futures::future::BoxFuture;
use futures::FutureExt;
use http::header::ACCEPT;
use http::{HeaderMap, Request, StatusCode};
use tacker_common::RequestId;
use tower::{Layer, Service};

use tacker_common::WebObError;

#[derive(Clone, Copy, Debug, Default)]
pub struct CatchErrorsLayer;

impl<S> Layer<S> for CatchErrorsLayer {
    type Service = CatchErrors<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CatchErrors { inner }
    }
}

#[derive(Clone, Debug)]
pub struct CatchErrors<S> {
    inner: S,
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic payload)")
}

impl<S> Service<Request<Body>> for CatchErrors<S>
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

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let method = req.method().clone();
        // Only `Accept` decides the page (WebOb's negotiation); keep no other header.
        let mut headers = HeaderMap::new();
        for value in req.headers().get_all(ACCEPT) {
            headers.append(ACCEPT, value.clone());
        }
        let request_id = req.extensions().get::<RequestId>().map(|r| r.local.clone());
        let fail = move |payload: Box<dyn Any + Send>| {
            tracing::error!(
                request_id = request_id.as_deref().unwrap_or("-"),
                "An error occurred during processing the request: panic: {}",
                panic_message(payload.as_ref())
            );
            WebObError::new(StatusCode::INTERNAL_SERVER_ERROR).render(&method, &headers)
        };
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(req))) {
            Ok(fut) => Box::pin(async move {
                match AssertUnwindSafe(fut).catch_unwind().await {
                    Ok(result) => result,
                    Err(payload) => Ok(fail(payload)),
                }
            }),
            Err(payload) => {
                let resp = fail(payload);
                Box::pin(async move { Ok(resp) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use tower::ServiceExt;

    #[tokio::test]
    async fn panic_in_the_handler_future_becomes_500() {
        let app = tower::service_fn(|_req: Request<Body>| async {
            if true {
                panic!("boom");
            }
            Ok::<_, Infallible>(Response::new(Body::empty()))
        });
        let req = Request::builder()
            .header("accept", "*/*")
            .body(Body::empty())
            .unwrap();
        let resp = CatchErrorsLayer.layer(app).oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            body.contains("<h1>500 Internal Server Error</h1>") && body.contains("The server has either erred or is incapable of performing the requested operation."),
            "{body}"
        );
        assert!(
            !body.contains("boom"),
            "the panic message is logged, never sent"
        );
    }

    #[derive(Clone)]
    struct PanicsInCall;
    impl Service<Request<Body>> for PanicsInCall {
        type Response = Response;
        type Error = Infallible;
        type Future = futures::future::Ready<Result<Response, Infallible>>;
        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, _req: Request<Body>) -> Self::Future {
            panic!("synchronous boom")
        }
    }

    #[tokio::test]
    async fn panic_while_calling_becomes_500() {
        let resp = CatchErrorsLayer
            .layer(PanicsInCall)
            .oneshot(Request::new(Body::empty()))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
