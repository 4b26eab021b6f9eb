//! The HTTP client to the authorization server: TLS trust, client certificate, timeout,
//! redirects.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use secrecy::ExposeSecret;

use crate::{ClientAuthenticator, ClientError, ClientOptions, Clock};

/// Build the HTTP client described by `options`:
/// * TLS verification against `cafile` only when set, else the system roots; `insecure`
///   disables verification;
/// * client certificate `certfile` (+ `keyfile`, or a combined PEM in `certfile`);
/// * redirects are not followed (a 3xx is a non-200 answer: keystoneauth would re-POST the
///   token to wherever a redirect points, which we refuse to do);
/// * `http_connect_timeout` bounds the connection here and each call in [`OAuth2Client`].
///
/// Unreadable or invalid files fail start-up with a message naming option and path.
pub fn build_http_client(options: &ClientOptions) -> Result<reqwest::Client, ClientError> {
    let group = &options.group;
    let read = |key: &str, path: &std::path::Path| {
        std::fs::read(path).map_err(|e| {
            ClientError::Config(format!(
                "[{group}] {key} = \"{}\": cannot read the file: {e}",
                path.display()
            ))
        })
    };
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "tacker-rs/",
            env!("CARGO_PKG_VERSION"),
            " tacker-oauth2-client"
        ));
    if let Some(t) = options.http_connect_timeout {
        builder = builder.connect_timeout(t);
    }
    if options.insecure {
        builder = builder.danger_accept_invalid_certs(true);
    } else if let Some(cafile) = &options.cafile {
        let pem = read("cafile", cafile)?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            ClientError::Config(format!(
                "[{group}] cafile = \"{}\": not a PEM CA bundle: {e}",
                cafile.display()
            ))
        })?;
        if certs.is_empty() {
            return Err(ClientError::Config(format!(
                "[{group}] cafile = \"{}\": no certificate in the file",
                cafile.display()
            )));
        }
        builder = builder.tls_built_in_root_certs(false);
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(certfile) = &options.certfile {
        let mut pem = read("certfile", certfile)?;
        if let Some(keyfile) = &options.keyfile {
            pem.push(b'\n');
            pem.extend_from_slice(&read("keyfile", keyfile)?);
        }
        let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
            ClientError::Config(format!(
                "[{group}] certfile = \"{}\": not a PEM certificate with its private key (keyfile): {e}",
                certfile.display()
            ))
        })?;
        builder = builder.identity(identity);
    }
    builder
        .build()
        .map_err(|e| ClientError::Config(format!("[{group}] cannot build the HTTP client: {e}")))
}

/// An HTTP client plus this service's client authentication: one form POST to the AS.
#[derive(Clone, Debug)]
pub struct OAuth2Client {
    http: reqwest::Client,
    authenticator: ClientAuthenticator,
    timeout: Option<Duration>,
}

impl OAuth2Client {
    /// Everything from the options: [`build_http_client`] then [`ClientAuthenticator::new`].
    pub fn new(options: &ClientOptions, clock: Arc<dyn Clock>) -> Result<Self, ClientError> {
        let http = build_http_client(options)?;
        let authenticator = ClientAuthenticator::new(options, clock)?;
        Ok(Self::from_parts(
            http,
            authenticator,
            options.http_connect_timeout,
        ))
    }

    /// For callers that must interleave their own checks between the two steps (the
    /// middleware's construction order).
    pub fn from_parts(
        http: reqwest::Client,
        authenticator: ClientAuthenticator,
        timeout: Option<Duration>,
    ) -> Self {
        Self {
            http,
            authenticator,
            timeout,
        }
    }

    pub fn authenticator(&self) -> &ClientAuthenticator {
        &self.authenticator
    }

    /// POST `params` (after the client authentication fields) as a form to `url`.
    /// Any HTTP status is returned as a response; only transport problems are errors:
    /// refused/unresolvable/timed out → [`ClientError::Unavailable`], others → `Transport`.
    pub async fn post_form(
        &self,
        url: &str,
        params: &[(&str, &str)],
    ) -> Result<reqwest::Response, ClientError> {
        let form = self.authenticator.form(params)?;
        let mut request = self
            .http
            .post(url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form.body.expose_secret().to_owned());
        if let Some(auth) = &form.authorization {
            let mut value = HeaderValue::from_str(auth.expose_secret()).map_err(|_| {
                ClientError::Credentials(
                    "client_id or client_secret cannot be sent in a Basic header".into(),
                )
            })?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        if let Some(t) = self.timeout {
            request = request.timeout(t);
        }
        request.send().await.map_err(classify)
    }
}

/// Timeouts and failures to connect are "the AS is unavailable"; a TLS failure (rustls errors
/// arrive as `io::ErrorKind::InvalidData`) is a misconfiguration, not an outage.
pub(crate) fn classify(e: reqwest::Error) -> ClientError {
    let text = error_chain(&e);
    if e.is_timeout() {
        return ClientError::Unavailable(text);
    }
    if e.is_connect() && !is_tls_failure(&e) {
        return ClientError::Unavailable(text);
    }
    ClientError::Transport(text)
}

fn is_tls_failure(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::InvalidData {
                return true;
            }
        }
        source = s.source();
    }
    false
}

fn error_chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SystemClock;
    use tacker_common::config::Section;
    use wiremock::matchers::{body_string, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn opts(pairs: &[(&str, &str)]) -> ClientOptions {
        let mut s = Section::new("ext_oauth2_auth");
        for (k, v) in pairs {
            s.set(*k, *v, "tacker.conf");
        }
        ClientOptions::from_section(&s).unwrap()
    }

    #[tokio::test]
    async fn posts_form_with_basic_auth_and_does_not_follow_redirects() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/introspect"))
            .and(header("authorization", "Basic Yzpz"))
            .and(header("content-type", "application/x-www-form-urlencoded"))
            .and(body_string("token=a%2Bb&token_type_hint=access_token"))
            .respond_with(ResponseTemplate::new(302).insert_header("location", "/elsewhere"))
            .expect(1)
            .mount(&server)
            .await;
        let client = OAuth2Client::new(
            &opts(&[
                ("client_id", "c"),
                ("client_secret", "s"),
                ("http_connect_timeout", "5"),
            ]),
            Arc::new(SystemClock),
        )
        .unwrap();
        let resp = client
            .post_form(
                &format!("{}/introspect", server.uri()),
                &[("token", "a+b"), ("token_type_hint", "access_token")],
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), 302);
    }

    #[tokio::test]
    async fn connection_refused_is_unavailable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let client = OAuth2Client::new(
            &opts(&[
                ("client_id", "c"),
                ("client_secret", "s"),
                ("http_connect_timeout", "5"),
            ]),
            Arc::new(SystemClock),
        )
        .unwrap();
        let err = client
            .post_form(&format!("http://{addr}/x"), &[])
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::Unavailable(_)), "{err:?}");
    }

    #[test]
    fn unreadable_cafile_names_option_and_path() {
        let err = build_http_client(&opts(&[("cafile", "/nonexistent/ca.pem")])).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("[ext_oauth2_auth] cafile = \"/nonexistent/ca.pem\""));
    }
}
