//! The HTTP side of the drivers: one `reqwest` client per registration with the TLS policy
//! the upstream client would have, and the error texts of the Python clients upstream uses
//! (keystoneauth1 for Keystone, the `kubernetes` client / urllib3 for Kubernetes), since
//! those texts reach API clients as the `VimConnectionException` / `VimUnauthorizedException`
//! message.

use std::time::Duration;

use reqwest::{Response, StatusCode};

use tacker_common::py::{py_str, py_str_repr};

/// Connection set-up limit for every call a driver makes (upstream has none; a VIM that
/// never answers would hold the API request forever).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request limit for every call a driver makes.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How the peer's TLS certificate is checked.
pub(crate) enum Tls {
    /// The system roots (keystoneauth with `verify=True`).
    SystemRoots,
    /// Not at all (`cert_verify: "False"`; Kubernetes without `ssl_ca_cert`).
    Insecure,
    /// Only these CA certificates (Kubernetes `ssl_ca_cert`).
    OnlyRoots(Vec<reqwest::Certificate>),
}

pub(crate) fn client(tls: Tls, timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    let builder = reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(timeout);
    let builder = match tls {
        Tls::SystemRoots => builder,
        Tls::Insecure => builder.danger_accept_invalid_certs(true),
        Tls::OnlyRoots(roots) => roots
            .into_iter()
            .fold(builder.tls_built_in_root_certs(false), |b, c| {
                b.add_root_certificate(c)
            }),
    };
    builder.build()
}

/// An error and its causes, `": "`-separated, as Python prints chained exceptions inline.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn is_tls_failure(err: &reqwest::Error) -> bool {
    let chain = error_chain(err).to_ascii_lowercase();
    chain.contains("certificate") || chain.contains("tls") || chain.contains("handshake")
}

/// keystoneauth1 `Session.request`'s text for a request that got no answer.
pub(crate) fn keystoneauth_transport_error(url: &str, err: &reqwest::Error) -> String {
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
pub(crate) async fn keystoneauth_http_error(resp: Response) -> String {
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
    let body = resp.bytes().await.unwrap_or_default();
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
        .unwrap_or_else(|| keystoneauth_default_message(status).to_owned());
    let mut text = format!("{message} (HTTP {})", status.as_u16());
    if let Some(id) = request_id {
        text.push_str(&format!(" (Request-ID: {id})"));
    }
    text
}

/// The class-level `message` of keystoneauth1's HTTP exceptions.
fn keystoneauth_default_message(status: StatusCode) -> &'static str {
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

/// `str(kubernetes.client.exceptions.ApiException)` for an HTTP error answer:
/// `"(<status>)\nReason: <reason>\nHTTP response headers: HTTPHeaderDict({...})\nHTTP
/// response body: <body>\n"`.
pub(crate) async fn k8s_api_exception(resp: Response) -> String {
    let status = resp.status();
    let headers = resp
        .headers()
        .iter()
        .map(|(name, value)| {
            format!(
                "{}: {}",
                py_str_repr(&title_case(name.as_str())),
                py_str_repr(&String::from_utf8_lossy(value.as_bytes()))
            )
        })
        .collect::<Vec<_>>();
    let body = resp.bytes().await.unwrap_or_default();
    let mut text = format!(
        "({})\nReason: {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    if !headers.is_empty() {
        text.push_str(&format!(
            "HTTP response headers: HTTPHeaderDict({{{}}})\n",
            headers.join(", ")
        ));
    }
    if !body.is_empty() {
        text.push_str(&format!(
            "HTTP response body: {}\n",
            String::from_utf8_lossy(&body)
        ));
    }
    text
}

/// urllib3's `MaxRetryError` text, which the `kubernetes` client lets through when a request
/// gets no answer.
pub(crate) fn k8s_transport_error(url: &reqwest::Url, err: &reqwest::Error) -> String {
    let pool = if url.scheme() == "https" {
        "HTTPSConnectionPool"
    } else {
        "HTTPConnectionPool"
    };
    let cause = if err.is_timeout() {
        format!("ConnectTimeoutError({})", py_str_repr(&error_chain(err)))
    } else if is_tls_failure(err) {
        format!("SSLError({})", py_str_repr(&error_chain(err)))
    } else {
        format!(
            "NewConnectionError({})",
            py_str_repr(&format!(
                "Failed to establish a new connection: {}",
                error_chain(err)
            ))
        )
    };
    format!(
        "{pool}(host={}, port={}): Max retries exceeded with url: {} (Caused by {cause})",
        py_str_repr(url.host_str().unwrap_or("")),
        url.port_or_known_default().unwrap_or(0),
        url.path()
    )
}

/// `content-type` → `Content-Type`, the spelling servers send and Python shows.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_title_cased() {
        assert_eq!(title_case("content-type"), "Content-Type");
        assert_eq!(
            title_case("x-openstack-request-id"),
            "X-Openstack-Request-Id"
        );
        assert_eq!(title_case("date"), "Date");
    }
}
