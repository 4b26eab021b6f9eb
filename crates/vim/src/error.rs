//! `VimError`: every failure of the `/v1.0` API, and the one place that turns it into
//! Tacker's error envelope `{"TackerError": {"type", "message", "detail": ""}}`
//! (`tacker/api/v1/base.py` fault map, spec §2.9).

use axum::response::{IntoResponse, Response};
use http::{header, StatusCode};

/// Failures of the VIM registry. Each variant names the upstream exception class it stands
/// for (the envelope's `type`) and the status it becomes.
#[derive(Debug, thiserror::Error)]
pub enum VimError {
    /// webob `HTTPBadRequest` (validation, tenant checks) → 400.
    #[error("{0}")]
    BadRequest(String),
    /// `MalformedRequestBody` → 400.
    #[error("Malformed request body: Cannot understand JSON")]
    MalformedRequestBody,
    /// `BadRequest` (PUT without a JSON object body) → 400.
    #[error("Bad body request: {0}")]
    BadBody(String),
    /// `DuplicateEntity` (unique live name per tenant) → 409.
    #[error("vim already exist with given ['tenant_id', 'name', 'deleted_at']")]
    DuplicateEntity,
    /// `VimNotFoundException` → 404 (upstream 500; deliberate fix, see api-ref/compat.md).
    #[error("Specified VIM id {0} is invalid. Please verify and pass a valid VIM id")]
    VimNotFound(String),
    /// `VimDefaultDuplicateException` → 409 (upstream 500; deliberate fix).
    #[error("Default VIM already exists {0}.")]
    VimDefaultDuplicate(String),
    /// Another request changed the VIM's credentials between this update's read and its
    /// write (a concurrent update on another server process) → 409 `Conflict`. Upstream
    /// has no such check (the last writer wins, with a key that may not match).
    #[error("VIM {0} was updated by another request at the same time; retry the update")]
    UpdateConflict(String),
    /// `VimInUseException` → 500 (as upstream).
    #[error("VIM {0} is still in use by VNF")]
    VimInUse(String),
    /// `VimUnauthorizedException` → 500 (as upstream).
    #[error("{0}")]
    VimUnauthorized(String),
    /// `VimConnectionException` → 500 (as upstream).
    #[error("{0}")]
    VimConnection(String),
    /// `VimKeyNotFoundException` → 500.
    #[error("Unable to find key file for VIM {0}")]
    VimKeyNotFound(String),
    /// `VimEncryptKeyError` → 500.
    #[error("Barbican must be enabled for VIM {0}")]
    VimEncryptKey(String),
    /// `KeyManagerError` → 500.
    #[error("Key manager error: {0}")]
    KeyManager(String),
    /// `PolicyNotAuthorized` on create → 403 (upstream crashes with 500; deliberate fix).
    #[error("Policy doesn't allow {0} to be performed.")]
    PolicyNotAuthorized(String),
    /// webob `HTTPNotFound` (policy denial on show/update/delete) → 404.
    #[error("The resource could not be found.")]
    HttpNotFound,
    /// The database cannot be reached (connection refused or lost, no pooled connection
    /// within `[database] pool_timeout`) → 503 `HTTPServiceUnavailable` with `Retry-After`
    /// (upstream: oslo.db's `DBConnectionError` becomes the generic 500; deliberate
    /// difference, see api-ref/compat.md). The cause is logged once, never sent.
    #[error("database unavailable: {0}")]
    DatabaseUnavailable(String),
    /// Any other failure → 500 `HTTPInternalServerError` with the generic message; the cause
    /// is logged once, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Seconds a client is asked to wait (`Retry-After`) when the database is unavailable.
pub const DATABASE_RETRY_AFTER_SECS: u32 = 5;

impl VimError {
    /// The upstream exception class name, used as the envelope's `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            VimError::BadRequest(_) => "HTTPBadRequest",
            VimError::MalformedRequestBody => "MalformedRequestBody",
            VimError::BadBody(_) => "BadRequest",
            VimError::DuplicateEntity => "DuplicateEntity",
            VimError::VimNotFound(_) => "VimNotFoundException",
            VimError::VimDefaultDuplicate(_) => "VimDefaultDuplicateException",
            VimError::UpdateConflict(_) => "Conflict",
            VimError::VimInUse(_) => "VimInUseException",
            VimError::VimUnauthorized(_) => "VimUnauthorizedException",
            VimError::VimConnection(_) => "VimConnectionException",
            VimError::VimKeyNotFound(_) => "VimKeyNotFoundException",
            VimError::VimEncryptKey(_) => "VimEncryptKeyError",
            VimError::KeyManager(_) => "KeyManagerError",
            VimError::PolicyNotAuthorized(_) => "PolicyNotAuthorized",
            VimError::HttpNotFound => "HTTPNotFound",
            VimError::DatabaseUnavailable(_) => "HTTPServiceUnavailable",
            VimError::Internal(_) => "HTTPInternalServerError",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            VimError::BadRequest(_) | VimError::MalformedRequestBody | VimError::BadBody(_) => {
                StatusCode::BAD_REQUEST
            }
            VimError::DuplicateEntity
            | VimError::VimDefaultDuplicate(_)
            | VimError::UpdateConflict(_) => StatusCode::CONFLICT,
            VimError::VimNotFound(_) | VimError::HttpNotFound => StatusCode::NOT_FOUND,
            VimError::PolicyNotAuthorized(_) => StatusCode::FORBIDDEN,
            VimError::VimInUse(_)
            | VimError::VimUnauthorized(_)
            | VimError::VimConnection(_)
            | VimError::VimKeyNotFound(_)
            | VimError::VimEncryptKey(_)
            | VimError::KeyManager(_)
            | VimError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            VimError::DatabaseUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The client-visible message (internal causes are replaced by the generic text).
    pub fn client_message(&self) -> String {
        match self {
            VimError::Internal(_) => {
                "Request Failed: internal server error while processing your request.".to_owned()
            }
            VimError::DatabaseUnavailable(_) => {
                "The database is unavailable; retry the request later.".to_owned()
            }
            other => other.to_string(),
        }
    }
}

impl IntoResponse for VimError {
    fn into_response(self) -> Response {
        match &self {
            VimError::Internal(cause) => {
                tracing::error!(cause = %cause, "request failed with an internal error");
            }
            VimError::DatabaseUnavailable(cause) => {
                tracing::warn!(cause = %cause, "request failed: the database is unavailable");
            }
            _ => {}
        }
        let body = tacker_error_body(self.type_name(), &self.client_message());
        let mut response = (
            self.status(),
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        if matches!(self, VimError::DatabaseUnavailable(_)) {
            // RFC 9110 §10.2.3: a 503 may say when to come back; the pool reconnects by
            // itself, so the same request can simply be sent again.
            response.headers_mut().insert(
                header::RETRY_AFTER,
                http::HeaderValue::from(DATABASE_RETRY_AFTER_SECS),
            );
        }
        response
    }
}

/// `{"TackerError": {"type": …, "message": …, "detail": ""}}` serialised with Python's
/// `json.dumps` separators (`", "`, `": "`), as the upstream bodies are.
pub fn tacker_error_body(type_name: &str, message: &str) -> String {
    format!(
        "{{\"TackerError\": {{\"type\": {}, \"message\": {}, \"detail\": \"\"}}}}",
        serde_json::Value::from(type_name),
        serde_json::Value::from(message)
    )
}
