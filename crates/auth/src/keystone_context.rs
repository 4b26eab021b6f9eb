//! `keystonecontext` (`tacker.auth:TackerKeystoneContext`): makes sure a [`RequestContext`]
//! with a user is in the request extensions, or refuses the request with WebOb's plain
//! `401 Unauthorized`. Behind a token filter the context is the one that filter derived;
//! on a pipeline without one (an authenticating proxy in front sets the identity headers) it
//! is read from the headers, as `oslo_context.RequestContext.from_environ` does.

use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, Request, StatusCode};
use tower::{Layer, Service};

use tacker_common::{Identity, RequestContext, RequestId, WebObError};

/// Where `keystonecontext` finds the caller's identity; decided once, when the pipeline is
/// built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentitySource {
    /// A token filter earlier in the pipeline put the typed [`RequestContext`] into the
    /// request (it also set the identity headers, for wire parity; they are not read).
    TokenFilter,
    /// No token filter: the identity headers are trusted as sent (the deployment must put an
    /// authenticating proxy in front that sets them).
    TrustedHeaders,
}

/// The `keystonecontext` paste filter.
#[derive(Clone, Copy, Debug)]
pub struct KeystoneContextLayer {
    source: IdentitySource,
}

impl KeystoneContextLayer {
    pub fn new(source: IdentitySource) -> Self {
        Self { source }
    }
}

impl<S> Layer<S> for KeystoneContextLayer {
    type Service = KeystoneContext<S>;

    fn layer(&self, inner: S) -> Self::Service {
        KeystoneContext {
            inner,
            source: self.source,
        }
    }
}

/// Service built by [`KeystoneContextLayer`].
#[derive(Clone, Debug)]
pub struct KeystoneContext<S> {
    inner: S,
    source: IdentitySource,
}

impl<S> Service<Request<Body>> for KeystoneContext<S>
where
    S: Service<Request<Body>, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future =
        futures::future::Either<S::Future, futures::future::Ready<Result<Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let has_user = match self.source {
            IdentitySource::TokenFilter => req
                .extensions()
                .get::<RequestContext>()
                .is_some_and(|ctx| ctx.user_id.is_some()),
            IdentitySource::TrustedHeaders => {
                let ctx = context_from_headers(req.headers(), req.extensions().get::<RequestId>());
                let has_user = ctx.user_id.is_some();
                req.extensions_mut().insert(ctx);
                has_user
            }
        };
        if !has_user {
            tracing::error!("X_USER_ID is not found in request");
            // `return webob.exc.HTTPUnauthorized()`.
            let page =
                WebObError::new(StatusCode::UNAUTHORIZED).render(req.method(), req.headers());
            return futures::future::Either::Right(futures::future::ready(Ok(page)));
        }
        futures::future::Either::Left(self.inner.call(req))
    }
}

/// `oslo_context.RequestContext.from_environ` over the identity headers. Only the dashed
/// header spellings are read: the token filter strips exactly those, so an underscore
/// variant (which WSGI servers fold into the same environ key) can never smuggle identity in.
pub fn context_from_headers(headers: &HeaderMap, request_id: Option<&RequestId>) -> RequestContext {
    let first = |names: &[&str]| {
        names.iter().find_map(|n| {
            headers
                .get(*n)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        })
    };
    // oslo.context: `[r.strip() for r in roles.split(',')]`; empty items dropped.
    let roles: Vec<String> = first(&["x-roles"])
        .map(|r| {
            r.split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    // Policy rule `context_is_admin` = `role:admin`; oslo.policy compares role names
    // case-insensitively.
    let is_admin = roles.iter().any(|r| r.eq_ignore_ascii_case("admin"));
    RequestContext::from(Identity {
        user_id: first(&["x-user-id", "x-user"]),
        user_name: first(&["x-user-name"]),
        user_domain_id: first(&["x-user-domain-id"]),
        user_domain_name: first(&["x-user-domain-name"]),
        project_id: first(&["x-project-id", "x-tenant-id", "x-tenant"]),
        project_name: first(&["x-project-name", "x-tenant-name"]),
        project_domain_id: first(&["x-project-domain-id"]),
        project_domain_name: first(&["x-project-domain-name"]),
        domain_id: first(&["x-domain-id"]),
        domain_name: first(&["x-domain-name"]),
        system_scope: first(&["openstack-system-scope"]),
        roles,
        is_admin,
    })
    .with_request_id(request_id)
}

#[cfg(test)]
mod tests {
    //! The cases of Tacker's `unit/test_auth.py::TackerKeystoneContextTestCase`.
    use super::*;
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};
    use tower::ServiceExt;

    type Seen = Arc<Mutex<Option<RequestContext>>>;

    async fn run(
        headers: &[(&str, &str)],
        rid: Option<RequestId>,
    ) -> (StatusCode, Option<RequestContext>) {
        let seen: Seen = Arc::default();
        let seen2 = seen.clone();
        let app = tower::service_fn(move |req: Request<Body>| {
            let seen = seen2.clone();
            async move {
                *seen.lock().unwrap() = req.extensions().get::<RequestContext>().cloned();
                Ok::<_, Infallible>(Response::new(Body::empty()))
            }
        });
        let mut req = Request::builder().uri("/");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut req = req.body(Body::empty()).unwrap();
        if let Some(rid) = rid {
            req.extensions_mut().insert(rid);
        }
        let resp = KeystoneContextLayer::new(IdentitySource::TrustedHeaders)
            .layer(app)
            .oneshot(req)
            .await
            .unwrap();
        let ctx = seen.lock().unwrap().clone();
        (resp.status(), ctx)
    }

    #[tokio::test]
    async fn test_no_user_id() {
        let (status, ctx) = run(
            &[("x-project-id", "testtenantid"), ("x-auth-token", "t")],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(ctx.is_none(), "the app must not run");
    }

    #[tokio::test]
    async fn test_no_user_id_body_is_webob_401() {
        let app = tower::service_fn(|_req: Request<Body>| async {
            Ok::<_, Infallible>(Response::new(Body::empty()))
        });
        // curl's default Accept: WebOb picks its HTML page.
        let req = Request::builder()
            .uri("/")
            .header("accept", "*/*")
            .body(Body::empty())
            .unwrap();
        let resp = KeystoneContextLayer::new(IdentitySource::TrustedHeaders)
            .layer(app)
            .oneshot(req)
            .await
            .unwrap();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.contains("<title>401 Unauthorized</title>"), "{body}");
        assert!(body.contains("authorized to access the document"), "{body}");
    }

    #[tokio::test]
    async fn test_empty_user_id_is_no_user_id() {
        let (status, _) = run(&[("x-user-id", "")], None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn test_with_user_id() {
        let (status, ctx) = run(
            &[
                ("x-project-id", "testtenantid"),
                ("x-user-id", "testuserid"),
            ],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ctx.unwrap().user_id.as_deref(), Some("testuserid"));
    }

    #[tokio::test]
    async fn test_with_tenant_id() {
        let (status, ctx) = run(
            &[
                ("x-project-id", "testtenantid"),
                ("x-user-id", "test_user_id"),
            ],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ctx.unwrap().project_id.as_deref(), Some("testtenantid"));
        // The deprecated tenant spelling maps to the same field.
        let (_, ctx) = run(&[("x-tenant-id", "t2"), ("x-user-id", "u")], None).await;
        assert_eq!(ctx.unwrap().project_id.as_deref(), Some("t2"));
    }

    #[tokio::test]
    async fn test_roles_no_admin() {
        let (status, ctx) = run(
            &[
                ("x-project-id", "testtenantid"),
                ("x-user-id", "testuserid"),
                ("x-roles", "role1, role2 , role3,role4,role5"),
            ],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let ctx = ctx.unwrap();
        assert_eq!(ctx.roles, ["role1", "role2", "role3", "role4", "role5"]);
        assert!(!ctx.is_admin);
    }

    #[tokio::test]
    async fn test_roles_with_admin() {
        let (status, ctx) = run(
            &[
                ("x-project-id", "testtenantid"),
                ("x-user-id", "testuserid"),
                ("x-roles", "role1, role2 , role3,role4,role5,AdMiN"),
            ],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let ctx = ctx.unwrap();
        assert_eq!(
            ctx.roles,
            ["role1", "role2", "role3", "role4", "role5", "AdMiN"]
        );
        assert!(ctx.is_admin);
    }

    #[tokio::test]
    async fn test_with_user_tenant_name() {
        let (status, ctx) = run(
            &[
                ("x-project-id", "testtenantid"),
                ("x-user-id", "testuserid"),
                ("x-project-name", "testtenantname"),
                ("x-user-name", "testusername"),
            ],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let ctx = ctx.unwrap();
        assert_eq!(ctx.user_id.as_deref(), Some("testuserid"));
        assert_eq!(ctx.user_name.as_deref(), Some("testusername"));
        assert_eq!(ctx.project_id.as_deref(), Some("testtenantid"));
        assert_eq!(ctx.project_name.as_deref(), Some("testtenantname"));
    }

    #[tokio::test]
    async fn test_request_id_extracted_from_env() {
        let rid = RequestId {
            local: "dummy-request-id".into(),
            global: Some("req-11111111-2222-3333-4444-555555555555".into()),
        };
        let (_, ctx) = run(
            &[
                ("x-project-id", "testtenantid"),
                ("x-user-id", "testuserid"),
            ],
            Some(rid),
        )
        .await;
        let ctx = ctx.unwrap();
        assert_eq!(ctx.request_id.as_deref(), Some("dummy-request-id"));
        assert_eq!(
            ctx.global_request_id.as_deref(),
            Some("req-11111111-2222-3333-4444-555555555555")
        );
    }

    #[tokio::test]
    async fn underscore_header_spellings_are_not_identity() {
        let (status, _) = run(&[("x_user_id", "spoofed")], None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn domains_and_system_scope_are_read() {
        let (_, ctx) = run(
            &[
                ("x-user-id", "u"),
                ("x-user-domain-id", "ud"),
                ("x-user-domain-name", "udn"),
                ("x-project-domain-id", "pd"),
                ("x-project-domain-name", "pdn"),
                ("x-domain-id", "d"),
                ("x-domain-name", "dn"),
                ("openstack-system-scope", "all"),
            ],
            None,
        )
        .await;
        let ctx = ctx.unwrap();
        assert_eq!(ctx.user_domain_id.as_deref(), Some("ud"));
        assert_eq!(ctx.user_domain_name.as_deref(), Some("udn"));
        assert_eq!(ctx.project_domain_id.as_deref(), Some("pd"));
        assert_eq!(ctx.project_domain_name.as_deref(), Some("pdn"));
        assert_eq!(ctx.domain_id.as_deref(), Some("d"));
        assert_eq!(ctx.domain_name.as_deref(), Some("dn"));
        assert_eq!(ctx.system_scope.as_deref(), Some("all"));
        assert!(ctx.project_id.is_none());
    }

    /// Behind a token filter the filter's typed context is used as is: identity headers are
    /// never read (not even ones a client managed to send), and a request that reaches it
    /// without a context with a user is refused.
    #[tokio::test]
    async fn behind_a_token_filter_the_typed_context_is_used_never_the_headers() {
        let seen: Seen = Arc::default();
        let seen2 = seen.clone();
        let app = tower::service_fn(move |req: Request<Body>| {
            let seen = seen2.clone();
            async move {
                *seen.lock().unwrap() = req.extensions().get::<RequestContext>().cloned();
                Ok::<_, Infallible>(Response::new(Body::empty()))
            }
        });
        let layer = KeystoneContextLayer::new(IdentitySource::TokenFilter);
        let typed = RequestContext::from(Identity {
            user_id: Some("from-token".into()),
            roles: vec!["member".into()],
            ..Identity::default()
        });
        let mut req = Request::builder()
            .uri("/")
            .header("x-user-id", "from-header")
            .header("x-roles", "admin")
            .body(Body::empty())
            .unwrap();
        req.extensions_mut().insert(typed.clone());
        let resp = layer.layer(app.clone()).oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(seen.lock().unwrap().take(), Some(typed));

        let req = Request::builder()
            .uri("/")
            .header("x-user-id", "from-header")
            .body(Body::empty())
            .unwrap();
        let resp = layer.layer(app).oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(seen.lock().unwrap().is_none(), "the app must not run");
    }
}
