//! The typed values that travel in request extensions between this server's layers and
//! handlers: the request id (`request_id` filter), the TLS client certificate (listener), and
//! the caller's identity (`RequestContext`, from the token filter or `keystonecontext`). They
//! live here, below both the auth filters that make them and the VIM API that reads them.

use std::sync::Arc;

/// The per-request id set by the `request_id` filter (`req-<uuid4>`), and the inbound
/// global request id if the client sent a valid one (oslo.middleware `RequestId`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId {
    /// `req-<uuid4>`, echoed as `X-Openstack-Request-Id`.
    pub local: String,
    /// A valid inbound `X-Openstack-Request-Id` (`req-<uuid>`), kept only for logs.
    pub global: Option<String>,
}

/// DER bytes of the verified TLS client certificate of the connection a request came in on.
/// Inserted by the listener (never taken from a client-supplied header) and hashed by the
/// `thumbprint_verify` check (RFC 8705 §3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerCertificate(pub Arc<Vec<u8>>);

/// Who the caller is, as oslo.context's `RequestContext` holds it: user, scope, roles.
///
/// Shared, not copied: a [`RequestContext`] holds it behind an `Arc`, so the token filter's
/// identity of a cached token reaches every request (and every handler's extractor) without
/// one string being copied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub user_domain_id: Option<String>,
    pub user_domain_name: Option<String>,
    /// Project (tenant) id; `None` in the `noauth` admin context and for domain/system scope.
    pub project_id: Option<String>,
    pub project_name: Option<String>,
    pub project_domain_id: Option<String>,
    pub project_domain_name: Option<String>,
    pub domain_id: Option<String>,
    pub domain_name: Option<String>,
    pub system_scope: Option<String>,
    /// Role names, each trimmed (oslo.context splits `X-Roles` on `,` and strips items).
    pub roles: Vec<String>,
    /// Policy rule `context_is_admin` = `role:admin`, compared case-insensitively.
    pub is_admin: bool,
}

impl Identity {
    /// True when `role` is one of the caller's roles (case-insensitive, as oslo.policy).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r.eq_ignore_ascii_case(role))
    }
}

/// Tacker's request context (`tacker.context.Context`, oslo.context `RequestContext`): the
/// caller's [`Identity`] (read through `Deref`: `ctx.project_id`, `ctx.is_admin`) and the ids of
/// this request.
///
/// Made by the token filter from its cached identity, by the `keystonecontext` filter from the
/// identity headers, or the admin context of `noauth` pipelines. Handlers read it with the axum
/// extractor. Cloning it copies no identity field: the identity is shared and read-only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestContext {
    identity: Arc<Identity>,
    pub request_id: Option<String>,
    pub global_request_id: Option<String>,
}

impl RequestContext {
    /// The context of `noauth` pipelines: admin, no user, no project (Tacker's lazily
    /// created `get_admin_context()`).
    pub fn noauth_admin() -> Self {
        Self::from(Identity {
            is_admin: true,
            ..Identity::default()
        })
    }

    /// The context of a shared `identity`, without request ids.
    pub fn shared(identity: Arc<Identity>) -> Self {
        Self {
            identity,
            request_id: None,
            global_request_id: None,
        }
    }

    /// The same context with the ids of `request_id` (local and, if valid, global).
    pub fn with_request_id(mut self, request_id: Option<&RequestId>) -> Self {
        self.request_id = request_id.map(|r| r.local.clone());
        self.global_request_id = request_id.and_then(|r| r.global.clone());
        self
    }
}

impl From<Identity> for RequestContext {
    fn from(identity: Identity) -> Self {
        Self::shared(Arc::new(identity))
    }
}

impl std::ops::Deref for RequestContext {
    type Target = Identity;

    fn deref(&self) -> &Identity {
        &self.identity
    }
}

/// A handler found no [`RequestContext`]: the pipeline authenticates but has no
/// `keystonecontext` (upstream would fall back to an admin context; refusing fails closed).
/// The server's one answer for it: `401` with the text `401 Unauthorized`.
#[derive(Clone, Copy, Debug)]
pub struct MissingContext;

impl axum::response::IntoResponse for MissingContext {
    fn into_response(self) -> axum::response::Response {
        (http::StatusCode::UNAUTHORIZED, "401 Unauthorized").into_response()
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestContext {
    type Rejection = MissingContext;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestContext>()
            .cloned()
            .ok_or(MissingContext)
    }
}

impl PeerCertificate {
    /// The certificate from a PEM text, as Python's `ssl.PEM_cert_to_DER_cert` reads
    /// Apache mod_ssl's `SSL_CLIENT_CERT`: the text must start exactly with
    /// `-----BEGIN CERTIFICATE-----` and, once trimmed, end with `-----END CERTIFICATE-----`;
    /// whitespace inside the base64 is ignored. Only for a trusted TLS-terminating front end,
    /// never for a header a client could send.
    pub fn from_pem(pem: &str) -> Option<Self> {
        use base64::Engine as _;
        const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
        const END: &str = "-----END CERTIFICATE-----";
        let body = pem.strip_prefix(BEGIN)?.trim_end().strip_suffix(END)?;
        let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        Some(Self(Arc::new(der)))
    }
}
