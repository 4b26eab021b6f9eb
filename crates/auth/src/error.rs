//! `AuthError`, and the one place that turns it into keystonemiddleware's `{"error": {...}}`.

use axum::body::Body;
use axum::response::Response;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use tacker_oauth2_client::ClientError;

/// Seconds a client is asked to wait when the authorization server is unavailable.
const RETRY_AFTER_SECONDS: &str = "5";

/// Everything that can go wrong in the `external_oauth2_token` filter. The `String` is the
/// internal reason: logged, never sent (the body only depends on the variant, as upstream).
/// It never contains the access token, the client secret or the client assertion.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// 401 (`InvalidToken`): no/unusable token, inactive, expired, thumbprint mismatch.
    #[error("{0}")]
    InvalidToken(String),
    /// 403 (`ForbiddenToken`): a required claim is missing or has the wrong type.
    #[error("{0}")]
    Forbidden(String),
    /// 500 (`ConfigurationError`): a bad option. At start-up it is returned by
    /// `ExternalOAuth2Layer::from_sections` and no response is ever sent.
    #[error("{0}")]
    Configuration(String),
    /// 500 (`ServiceError`): the authorization server answered in an unusable way, or TLS to
    /// it failed.
    #[error("{0}")]
    Service(String),
    /// 503 (deliberate difference: upstream 500): the authorization server is unreachable or
    /// did not answer within `http_connect_timeout`.
    #[error("{0}")]
    Unavailable(String),
}

impl From<ClientError> for AuthError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Config(m) | ClientError::Credentials(m) => Self::Configuration(m),
            ClientError::Unavailable(m) => Self::Unavailable(m),
            ClientError::Transport(m) => Self::Service(m),
        }
    }
}

const BODY_401: &str = r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made is denied, because the token is invalid."}}"#;
const BODY_403: &str = r#"{"error": {"code": 403, "title": "Forbidden", "message": "The request you have made is denied, because the necessary information could not be parsed."}}"#;
const BODY_500_CONFIG: &str = r#"{"error": {"code": 500, "title": "Internal Server Error", "message": "The request you have made is denied, because the configuration parameters are incorrect and the token can not be verified."}}"#;
const BODY_500_SERVICE: &str = r#"{"error": {"code": 500, "title": "Internal Server Error", "message": "The request you have made is denied, because an exception occurred while accessing the external authentication server for token validation."}}"#;
const BODY_503: &str = r#"{"error": {"code": 503, "title": "Service Unavailable", "message": "The request you have made is denied, because an exception occurred while accessing the external authentication server for token validation."}}"#;

impl AuthError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Configuration(_) | Self::Service(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Log the reason with upstream's wording and build the response. `challenge` is the
    /// `Authorization OAuth 2.0 uri="<audience>"` value added to every 401.
    pub fn into_response(self, challenge: &HeaderValue, request_id: Option<&str>) -> Response {
        let rid = request_id.unwrap_or("-");
        let body = match &self {
            Self::InvalidToken(m) => {
                tracing::info!(
                    request_id = rid,
                    "Rejecting request. Need a valid OAuth 2.0 access token. error: {m}"
                );
                BODY_401
            }
            Self::Forbidden(m) => {
                tracing::warn!(
                    request_id = rid,
                    "Rejecting request. The necessary information is required.error: {m}"
                );
                BODY_403
            }
            Self::Configuration(m) => {
                tracing::error!(
                    request_id = rid,
                    "Rejecting request. The configuration parameters are incorrect. error: {m}"
                );
                BODY_500_CONFIG
            }
            Self::Service(m) => {
                tracing::warn!(request_id = rid, "Rejecting request. An exception occurred and the OAuth 2.0 access token can not be verified. error: {m}");
                BODY_500_SERVICE
            }
            Self::Unavailable(m) => {
                tracing::warn!(request_id = rid, "Rejecting request. The external authorization server is temporarily unavailable. error: {m}");
                BODY_503
            }
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        // No charset, as WebOb sends it; Content-Length also kept for HEAD.
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        match self {
            Self::InvalidToken(_) => {
                headers.append(WWW_AUTHENTICATE, challenge.clone());
                // RFC 6750 §3.1, for standard clients (deliberate addition).
                headers.append(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            Self::Unavailable(_) => {
                headers.insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_401_is_130_bytes() {
        assert_eq!(BODY_401.len(), 130);
    }
}
