//! The HTTP side of the drivers: one `reqwest` client per registration with the TLS policy
//! the upstream client would have, and the error texts of the `kubernetes` client / urllib3
//! (keystoneauth1's are in `tacker-keystone`), since those texts reach API clients as the
//! `VimConnectionException` / `VimUnauthorizedException` message.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Response;

use super::endpoints::{EndpointPolicy, PolicyResolver};

use tacker_common::py::{error_chain, is_tls_failure, py_str_repr};

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

/// How much of an error answer's body a debug log line shows.
const LOGGED_BODY: usize = 1024;

/// A client for one registration's calls. Redirects are never followed (upstream follows up
/// to 10, with the credentials): the caller chose the URL, not where it points on to. Host
/// names resolve only to addresses `[vim_endpoints]` allows.
pub(crate) fn client(
    tls: Tls,
    timeout: Duration,
    endpoints: &Arc<EndpointPolicy>,
) -> Result<reqwest::Client, reqwest::Error> {
    let builder = reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(PolicyResolver(endpoints.clone())))
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

/// `str(kubernetes.client.exceptions.ApiException)` for an HTTP error answer, without what the
/// answer carried: `"(<status>)\nReason: <reason>\n"`. Upstream goes on with `HTTP response
/// headers: HTTPHeaderDict({...})` and `HTTP response body: ...`, which would hand anything a
/// chosen URL answers back to the API client; here those go to the debug log (the body
/// truncated).
pub(crate) async fn k8s_api_exception(resp: Response) -> String {
    let status = resp.status();
    log_error_answer(resp).await;
    format!(
        "({})\nReason: {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
}

/// Log an error answer of a VIM endpoint at debug: status, headers (sensitive ones hidden)
/// and the start of the body.
pub(crate) async fn log_error_answer(resp: Response) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let url = resp.url().clone();
    let status = resp.status();
    let headers = resp
        .headers()
        .iter()
        .map(|(name, value)| {
            let shown = if value.is_sensitive() || name == reqwest::header::SET_COOKIE {
                "***".into()
            } else {
                String::from_utf8_lossy(value.as_bytes())
            };
            format!("{}: {shown}", title_case(name.as_str()))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let body = tacker_keystone::body_prefix(resp, LOGGED_BODY).await;
    tracing::debug!(
        %url,
        status = status.as_u16(),
        headers,
        body = %String::from_utf8_lossy(&body),
        "VIM endpoint error answer (body truncated to {LOGGED_BODY} bytes)"
    );
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

/// The urllib3 text of a connection never attempted because `[vim_endpoints]` refuses the
/// address: the shape of a failed connection, with the reason.
pub(crate) fn k8s_refused(url: &reqwest::Url, reason: &str) -> String {
    let pool = if url.scheme() == "https" {
        "HTTPSConnectionPool"
    } else {
        "HTTPConnectionPool"
    };
    format!(
        "{pool}(host={}, port={}): Max retries exceeded with url: {} (Caused by NewConnectionError({}))",
        py_str_repr(url.host_str().unwrap_or("")),
        url.port_or_known_default().unwrap_or(0),
        url.path(),
        py_str_repr(&format!("Failed to establish a new connection: {reason}"))
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
