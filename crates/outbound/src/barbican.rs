//! Barbican opaque secrets, as Tacker's `tacker/keymgr/barbican_key_manager.py` stores VIM
//! Fernet keys there, with the service context of
//! `tacker.context.generate_tacker_service_context()`. What a secret is for (a VIM's key) is
//! the caller's business: the server adapts this client to the VIM registry's key manager.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use tacker_common::config::Section;
use tacker_oauth2_client::options::read_str;
use tacker_oauth2_client::Clock;

use crate::error::BarbicanError;
use crate::keystone::KeystoneClient;
use crate::options::ServiceAuthOptions;
use crate::token::{AccessToken, TokenSource};

/// Upper bound of one Barbican call (upstream has none; a hung Barbican must not hang a VIM
/// create forever).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// `[key_manager]` options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyManagerOptions {
    /// `barbican_endpoint` (str, default unset): required with external OAuth 2.0; without it
    /// the endpoint comes from the Keystone catalog.
    pub barbican_endpoint: Option<String>,
    /// `barbican_version` (str, default `v1`).
    pub barbican_version: String,
}

impl KeyManagerOptions {
    pub fn from_section(section: &Section) -> Self {
        Self {
            barbican_endpoint: read_str(section, "barbican_endpoint"),
            barbican_version: read_str(section, "barbican_version").unwrap_or_else(|| "v1".into()),
        }
    }
}

/// How this service authenticates to Barbican.
#[derive(Clone, Debug)]
pub enum ServiceAuth {
    /// `use_ext_oauth2_auth = True`: `Authorization: Bearer <client-credentials token>` to
    /// `[key_manager] barbican_endpoint`.
    ExtOAuth2(TokenSource),
    /// Otherwise: `X-Auth-Token` of the `[keystone_authtoken]` service user, Barbican from the
    /// catalog.
    Keystone(KeystoneClient),
}

impl ServiceAuth {
    /// Upstream's choice in `generate_tacker_service_context()`: `[ext_oauth2_auth]
    /// use_ext_oauth2_auth` decides; each mode's options are checked now (start-up error
    /// text naming file, section, option).
    pub fn from_config(
        ext_oauth2_auth: &Section,
        keystone_authtoken: &Section,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, BarbicanError> {
        let options = ServiceAuthOptions::from_sections(ext_oauth2_auth, keystone_authtoken)?;
        Self::from_options(&options, clock)
    }
}

/// The plain HTTP client for Barbican and Keystone: system roots, no redirects.
pub fn default_http_client() -> Result<reqwest::Client, BarbicanError> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(CALL_TIMEOUT)
        .user_agent(concat!(
            "tacker-rs/",
            env!("CARGO_PKG_VERSION"),
            " tacker-outbound"
        ))
        .build()
        .map_err(|e| BarbicanError::HttpClient(e.to_string()))
}

/// The credential one call was made with (so a 401 invalidates exactly that one).
enum Credential {
    Bearer(AccessToken),
    Keystone(AccessToken),
}

/// Stores, reads and deletes Barbican opaque secrets with the service credential.
#[derive(Clone)]
pub struct BarbicanClient {
    options: Arc<KeyManagerOptions>,
    auth: ServiceAuth,
    http: reqwest::Client,
}

impl fmt::Debug for BarbicanClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarbicanClient")
            .field("options", &self.options)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct SecretRef {
    secret_ref: String,
}

impl BarbicanClient {
    /// A client for `options`, authenticating with `auth`. An empty `barbican_endpoint` in
    /// external mode is reported by every call, as upstream does (`KeyManagerError`), and
    /// warned about here.
    pub fn new(options: KeyManagerOptions, auth: ServiceAuth) -> Result<Self, BarbicanError> {
        if matches!(auth, ServiceAuth::ExtOAuth2(_)) && options.barbican_endpoint.is_none() {
            tracing::warn!("[key_manager] barbican_endpoint is not set: every Barbican call will fail while [ext_oauth2_auth] use_ext_oauth2_auth is true");
        }
        Ok(Self {
            options: Arc::new(options),
            auth,
            http: default_http_client()?,
        })
    }

    /// [`Self::from_options`] from the raw sections of tacker.conf: `use_ext_oauth2_auth =
    /// True` with a missing or wrong option is an error (refuse start-up); an incomplete
    /// `[keystone_authtoken]` otherwise is `Ok(None)`.
    pub fn from_config(
        key_manager: &Section,
        ext_oauth2_auth: &Section,
        keystone_authtoken: &Section,
        clock: Arc<dyn Clock>,
    ) -> Result<Option<Self>, BarbicanError> {
        let service_auth = ServiceAuthOptions::from_sections(ext_oauth2_auth, keystone_authtoken)?;
        Self::from_options(
            KeyManagerOptions::from_section(key_manager),
            &service_auth,
            clock,
        )
    }

    /// Use `http` for Barbican calls (tests, custom TLS trust).
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// `<ep>/<barbican_version>/secrets/<rest>`.
    fn secrets_url(&self, endpoint: &str, rest: &str) -> String {
        let ep = endpoint.trim_end_matches('/');
        let version = self.options.barbican_version.trim_matches('/');
        if ep.ends_with(&format!("/{version}")) {
            format!("{ep}/secrets/{rest}")
        } else {
            format!("{ep}/{version}/secrets/{rest}")
        }
    }

    async fn credential(&self) -> Result<(Credential, String), BarbicanError> {
        match &self.auth {
            ServiceAuth::ExtOAuth2(source) => {
                let endpoint = self
                    .options
                    .barbican_endpoint
                    .clone()
                    .ok_or(BarbicanError::MissingEndpoint)?;
                let token = source.token().await?;
                Ok((Credential::Bearer(token), endpoint))
            }
            ServiceAuth::Keystone(keystone) => {
                let session = keystone.session().await?;
                Ok((Credential::Keystone(session.token), session.endpoint))
            }
        }
    }

    fn invalidate(&self, credential: &Credential) {
        match (&self.auth, credential) {
            (ServiceAuth::ExtOAuth2(source), Credential::Bearer(t)) => {
                source.invalidate(t);
            }
            (ServiceAuth::Keystone(keystone), Credential::Keystone(t)) => {
                keystone.invalidate(t);
            }
            _ => {}
        }
    }

    /// Send the request built by `build(url_base_endpoint)` with the service credential; on
    /// 401 drop that credential and try once more with a fresh one (keystoneauth's
    /// `invalidate()` + retry).
    async fn send(
        &self,
        what: &str,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, BarbicanError> {
        let mut retried = false;
        loop {
            let (credential, endpoint) = self.credential().await?;
            let mut request = build(&endpoint);
            request = match &credential {
                Credential::Bearer(t) => match t.bearer() {
                    Some(v) => request.header(AUTHORIZATION, v),
                    None => return Err(BarbicanError::NotAHeader("access token")),
                },
                Credential::Keystone(t) => {
                    let mut v = HeaderValue::from_str(t.expose())
                        .map_err(|_| BarbicanError::NotAHeader("Keystone token"))?;
                    v.set_sensitive(true);
                    request.header("X-Auth-Token", v)
                }
            };
            let response = request.send().await.map_err(|e| {
                metrics::counter!("tacker_barbican_requests_total", "outcome" => "transport_error")
                    .increment(1);
                tracing::error!("Error {what}: {e}");
                BarbicanError::Transport(transport_reason(&e))
            })?;
            let outcome = match response.status().as_u16() {
                200..=299 => "ok",
                400..=499 => "client_error",
                _ => "server_error",
            };
            metrics::counter!("tacker_barbican_requests_total", "outcome" => outcome).increment(1);
            if response.status() == StatusCode::UNAUTHORIZED && !retried {
                tracing::info!(
                    "Barbican answered 401 while {what}: fetching a new token and retrying once"
                );
                self.invalidate(&credential);
                retried = true;
                continue;
            }
            return Ok(response);
        }
    }
}

/// keystoneauth's text for transport failures (the URL is not secret; the cause is logged by
/// the caller). A reset of a pooled connection is a `ConnectFailure` for keystoneauth too.
fn transport_reason(e: &reqwest::Error) -> String {
    let url = e.url().map(|u| u.to_string()).unwrap_or_default();
    if e.is_timeout() {
        format!("Request to {url} timed out")
    } else {
        format!("Unable to establish connection to {url}")
    }
}

/// barbicanclient's message for an HTTP error: `<title>: <description>` from Barbican's JSON
/// error body, else the status line.
async fn http_reason(response: reqwest::Response) -> String {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let parsed = serde_json::from_str::<serde_json::Value>(&text).ok();
    let title = parsed
        .as_ref()
        .and_then(|v| v["title"].as_str())
        .map(str::to_owned);
    let description = parsed
        .as_ref()
        .and_then(|v| v["description"].as_str())
        .map(str::to_owned);
    match (title, description) {
        (Some(t), Some(d)) if !d.is_empty() => format!("{t}: {d}"),
        (Some(t), _) => t,
        _ => format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("error")
        ),
    }
}

impl BarbicanClient {
    /// `POST /secrets`: a new opaque secret holding `payload`'s bytes; returns its uuid.
    pub async fn store_secret(&self, payload: &SecretString) -> Result<String, BarbicanError> {
        // barbicanclient's opaque secret: the payload's bytes, standard base64.
        let payload =
            base64::engine::general_purpose::STANDARD.encode(payload.expose_secret().as_bytes());
        let body = json!({
            "secret_type": "opaque",
            "payload": payload,
            "payload_content_type": "application/octet-stream",
            "payload_content_encoding": "base64",
        });
        let response = self
            .send("storing object", |ep| {
                self.http.post(self.secrets_url(ep, "")).json(&body)
            })
            .await?;
        if !response.status().is_success() {
            let reason = http_reason(response).await;
            tracing::error!("Error storing object: {reason}");
            return Err(BarbicanError::Http(reason));
        }
        let secret: SecretRef = response.json().await.map_err(|e| {
            BarbicanError::BadAnswer(format!(
                "Barbican answered the store without a secret_ref: {e}"
            ))
        })?;
        // Upstream `_retrieve_secret_uuid`: everything after the last '/'.
        let secret_uuid = secret
            .secret_ref
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        tracing::info!(secret_uuid, "stored a secret in Barbican");
        Ok(secret_uuid)
    }

    /// `GET /secrets/<uuid>/payload` as `application/octet-stream`, read as UTF-8.
    pub async fn secret_payload(&self, uuid: &str) -> Result<SecretString, BarbicanError> {
        let response = self
            .send("retrieving object", |ep| {
                self.http
                    .get(self.secrets_url(ep, &format!("{uuid}/payload")))
                    .header(ACCEPT, "application/octet-stream")
            })
            .await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            tracing::error!(uuid, "Error retrieving object: not found");
            // Upstream ManagedObjectNotFoundError.
            return Err(BarbicanError::NotFound(uuid.to_owned()));
        }
        if !status.is_success() {
            let reason = http_reason(response).await;
            tracing::error!("Error retrieving object: {reason}");
            return Err(BarbicanError::Http(reason));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| BarbicanError::Transport(transport_reason(&e)))?;
        let payload = String::from_utf8(bytes.to_vec()).map_err(|_| {
            BarbicanError::BadAnswer(format!("the secret {uuid} is not a Fernet key"))
        })?;
        Ok(SecretString::from(payload))
    }

    /// `DELETE /secrets/<uuid>`; a secret that is already gone is not an error.
    pub async fn delete_secret(&self, uuid: &str) -> Result<(), BarbicanError> {
        let response = self
            .send("deleting object", |ep| {
                self.http.delete(self.secrets_url(ep, uuid))
            })
            .await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            // Already gone: the delete's goal holds (upstream's callers ignore it too).
            tracing::info!(uuid, "the Barbican secret was already deleted");
            return Ok(());
        }
        if !status.is_success() {
            let reason = http_reason(response).await;
            tracing::error!("Error deleting object: {reason}");
            return Err(BarbicanError::Http(reason));
        }
        tracing::info!(uuid, "deleted the Barbican secret");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keystone::KeystoneOptions;

    fn km(version: &str) -> BarbicanClient {
        let client = KeystoneClient::new(
            KeystoneOptions::from_section(&{
                let mut s = Section::new("keystone_authtoken");
                for (k, v) in [
                    ("auth_url", "http://ks/v3"),
                    ("username", "u"),
                    ("password", "p"),
                    ("project_name", "s"),
                ] {
                    s.set(k, v, "tacker.conf");
                }
                s
            })
            .unwrap(),
            default_http_client().unwrap(),
            Arc::new(tacker_oauth2_client::SystemClock),
        );
        BarbicanClient::new(
            KeyManagerOptions {
                barbican_endpoint: None,
                barbican_version: version.into(),
            },
            ServiceAuth::Keystone(client),
        )
        .unwrap()
    }

    #[test]
    fn secrets_url_joins_endpoint_and_version_once() {
        let m = km("v1");
        assert_eq!(
            m.secrets_url("http://b:9311/", ""),
            "http://b:9311/v1/secrets/"
        );
        assert_eq!(
            m.secrets_url("http://b:9311", "u"),
            "http://b:9311/v1/secrets/u"
        );
        // A catalog endpoint that already names the version.
        assert_eq!(
            m.secrets_url("http://b:9311/v1", "u"),
            "http://b:9311/v1/secrets/u"
        );
        assert_eq!(
            km("/v1/").secrets_url("http://b", "u"),
            "http://b/v1/secrets/u"
        );
    }

    #[test]
    fn key_manager_options_defaults() {
        let o = KeyManagerOptions::from_section(&Section::new("key_manager"));
        assert_eq!(
            o,
            KeyManagerOptions {
                barbican_endpoint: None,
                barbican_version: "v1".into()
            }
        );
    }
}
