//! What can go wrong talking to Keystone, with keystoneauth1's texts.

use reqwest::{Response, StatusCode};
use tacker_common::py::{error_chain, is_tls_failure, py_str};

/// A failed Keystone call. The `Display` text is what keystoneauth1's exception renders with
/// `str()`, since callers pass it on in API error messages.
#[derive(Debug, thiserror::Error)]
pub enum KeystoneError {
    /// No answer: `ConnectFailure`, `ConnectTimeout`, `SSLError` texts.
    #[error("{0}")]
    Transport(String),
    /// An HTTP error answer: `<message> (HTTP <status>)[ (Request-ID: <id>)]`.
    #[error("{message}")]
    Http { status: u16, message: String },
    /// A 2xx token answer without the token id header.
    #[error("Keystone token response has no X-Subject-Token")]
    NoSubjectToken,
    /// A 2xx answer whose body is not what Keystone sends.
    #[error("{0}")]
    BadResponse(String),
}

impl KeystoneError {
    /// Keystone refused the credentials (401) or the request (400): keystoneauth's
    /// `Unauthorized` / `BadRequest`, which Tacker reports as `VimUnauthorizedException`.
    pub fn is_auth_failure(&self) -> bool {
        matches!(
            self,
            KeystoneError::Http {
                status: 400 | 401,
                ..
            }
        )
    }
}

/// keystoneauth1 `Session.request`'s text for a request that got no answer.
pub fn transport_error_text(url: &str, err: &reqwest::Error) -> String {
    if err.is_timeout() {
        format!("Request to {url} timed out")
    } else if is_tls_failure(err) {
        format!("SSL exception connecting to {url}: {}", error_chain(err))
    } else {
        format!(
            "Unable to establish connection to {url}: {}",
            error_chain(err)
        )
    }
}

/// keystoneauth1 `exceptions.from_response(...)` rendered with `str()`:
/// `"<message> (HTTP <status>)[ (Request-ID: <id>)]"`, where the message comes from the
/// body's `error.message` (Keystone), the first API-SIG `errors[].title`, "Unrecognized schema
/// in response body." for any other JSON, or the class default for a non-JSON body.
pub async fn http_error_text(resp: Response) -> String {
    let status = resp.status();
    let request_id = resp
        .headers()
        .get("x-openstack-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_json = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    // Bounded: a body over the limit is not parsed and gives the class default message.
    let body = crate::read_body(resp, crate::BODY_LIMIT)
        .await
        .unwrap_or_default();
    let mut message = None;
    if is_json {
        if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) {
            message = Some(match (json.get("error"), json.get("errors")) {
                (Some(serde_json::Value::Object(error)), _) => error.get("message").map(py_str),
                (_, Some(serde_json::Value::Array(errors))) if json.is_object() => {
                    errors.first().map(|first| {
                        let title = first.get("title").map(py_str);
                        let title = title.unwrap_or_else(|| "None".to_owned());
                        if errors.len() > 1 {
                            format!("Multiple error responses, showing first only: {title}")
                        } else {
                            title
                        }
                    })
                }
                _ => Some("Unrecognized schema in response body.".to_owned()),
            });
        }
    }
    let message = message
        .flatten()
        .unwrap_or_else(|| default_message(status).to_owned());
    let mut text = format!("{message} (HTTP {})", status.as_u16());
    if let Some(id) = request_id {
        text.push_str(&format!(" (Request-ID: {id})"));
    }
    text
}

/// keystoneauth1's text for an HTTP error answer with the class default message and nothing
/// taken from the answer (`"Unauthorized (HTTP 401)"`): what a VIM's endpoint, which the
/// API client chose, may have its error reported as without echoing its body or headers.
pub fn status_error_text(status: u16) -> String {
    let message = StatusCode::from_u16(status)
        .map(default_message)
        .unwrap_or("HTTP Error");
    format!("{message} (HTTP {status})")
}

/// The class-level `message` of keystoneauth1's HTTP exceptions.
fn default_message(status: StatusCode) -> &'static str {
    let specific = match status.as_u16() {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        417 => "Expectation Failed",
        422 => "Unprocessable Entity",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    };
    if !specific.is_empty() {
        specific
    } else if status.is_client_error() {
        "HTTP Client Error"
    } else if status.is_server_error() {
        "HTTP Server Error"
    } else {
        "HTTP Error"
    }
}
