//! The context of `noauth` pipelines: Tacker's `tacker.wsgi.Request.context` falls back to an
//! admin context (no user, no project) when no `keystonecontext` filter has set one.

use std::task::{Context, Poll};

use axum::body::Body;
use http::Request;
use tacker_common::{RequestContext, RequestId};
use tower::{Layer, Service};

#[derive(Clone, Copy, Debug, Default)]
pub struct NoAuthContextLayer;

impl<S> Layer<S> for NoAuthContextLayer {
    type Service = NoAuthContext<S>;

    fn layer(&self, inner: S) -> Self::Service {
        NoAuthContext { inner }
    }
}

#[derive(Clone, Debug)]
pub struct NoAuthContext<S> {
    inner: S,
}

impl<S> Service<Request<Body>> for NoAuthContext<S>
where
    S: Service<Request<Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        if req.extensions().get::<RequestContext>().is_none() {
            let mut ctx = RequestContext::noauth_admin();
            if let Some(rid) = req.extensions().get::<RequestId>() {
                ctx.request_id = Some(rid.local.clone());
                ctx.global_request_id = rid.global.clone();
            }
            req.extensions_mut().insert(ctx);
        }
        self.inner.call(req)
    }
}
