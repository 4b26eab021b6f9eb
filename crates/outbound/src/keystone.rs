//! Keystone v3 password authentication of this service's own user
//! (`[keystone_authtoken]`), used for Barbican when `use_ext_oauth2_auth` is false, as
//! upstream's `KeystonePassword` service context with keystoneauth's `identity.Password`.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use tacker_common::config::Section;
use tacker_oauth2_client::options::read_str;
use tacker_oauth2_client::Clock;

use crate::token::AccessToken;

/// Refresh a Keystone token this long before its `expires_at`.
const MARGIN: Duration = Duration::from_secs(60);
const SERVICE_TYPE: &str = "key-manager";
const SERVICE_NAME: &str = "barbican";

/// `[keystone_authtoken]` options of the service user.
#[derive(Clone)]
pub struct KeystoneOptions {
    /// `auth_url` (required): Keystone; `/v3` is appended unless the URL already names v3.
    pub auth_url: String,
    /// `username` (required).
    pub username: String,
    /// `password` (required, secret).
    pub password: SecretString,
    /// `project_name` (required): the service project the token is scoped to.
    pub project_name: String,
    /// `user_domain_name` (default `Default`).
    pub user_domain_name: String,
    /// `project_domain_name` (default `Default`).
    pub project_domain_name: String,
    /// `region_name` (optional): only catalog endpoints of this region are used.
    pub region_name: Option<String>,
    /// Catalog interface of the Barbican endpoint (upstream: `internal`).
    pub interface: String,
}

impl fmt::Debug for KeystoneOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeystoneOptions")
            .field("auth_url", &self.auth_url)
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .field("project_name", &self.project_name)
            .field("user_domain_name", &self.user_domain_name)
            .field("project_domain_name", &self.project_domain_name)
            .field("region_name", &self.region_name)
            .field("interface", &self.interface)
            .finish()
    }
}

impl KeystoneOptions {
    /// Read `[keystone_authtoken]`; a missing required option names file, section and option.
    pub fn from_section(section: &Section) -> Result<Self, String> {
        let required = |key: &str| {
            read_str(section, key).ok_or_else(|| {
                format!(
                    "{}: required to reach Barbican through Keystone (use_ext_oauth2_auth is false)",
                    section.describe(key, "")
                )
            })
        };
        Ok(Self {
            auth_url: required("auth_url")?,
            username: required("username")?,
            password: SecretString::from(required("password")?),
            project_name: required("project_name")?,
            user_domain_name: read_str(section, "user_domain_name")
                .unwrap_or_else(|| "Default".into()),
            project_domain_name: read_str(section, "project_domain_name")
                .unwrap_or_else(|| "Default".into()),
            region_name: read_str(section, "region_name"),
            interface: "internal".into(),
        })
    }

    fn tokens_url(&self) -> String {
        let base = self.auth_url.trim_end_matches('/');
        if base.contains("v3") {
            format!("{base}/auth/tokens")
        } else {
            format!("{base}/v3/auth/tokens")
        }
    }
}

/// A Keystone token plus the Barbican endpoint from its catalog.
#[derive(Clone, Debug)]
pub struct KeystoneSession {
    /// Sent as `X-Auth-Token`.
    pub token: AccessToken,
    /// `key-manager` endpoint (`interface` of the options) from the token's catalog.
    pub endpoint: String,
}

struct Cached {
    session: KeystoneSession,
    refresh_at: f64,
}

/// Password-authenticates the service user and caches the scoped token until shortly before
/// its `expires_at` (single flight, like [`crate::TokenSource`]).
#[derive(Clone)]
pub struct KeystoneClient {
    options: Arc<KeystoneOptions>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    cached: Arc<Mutex<Option<Cached>>>,
    flight: Arc<tokio::sync::Mutex<()>>,
}

impl fmt::Debug for KeystoneClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeystoneClient")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenBody {
    token: TokenInfo,
}

#[derive(Deserialize)]
struct TokenInfo {
    expires_at: Option<String>,
    #[serde(default)]
    catalog: Vec<CatalogEntry>,
}

#[derive(Deserialize)]
struct CatalogEntry {
    #[serde(rename = "type")]
    service_type: String,
    name: Option<String>,
    #[serde(default)]
    endpoints: Vec<Endpoint>,
}

#[derive(Deserialize)]
struct Endpoint {
    interface: String,
    url: String,
    region_id: Option<String>,
    region: Option<String>,
}

impl KeystoneClient {
    pub fn new(options: KeystoneOptions, http: reqwest::Client, clock: Arc<dyn Clock>) -> Self {
        Self {
            options: Arc::new(options),
            http,
            clock,
            cached: Arc::new(Mutex::new(None)),
            flight: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// A valid token and the Barbican endpoint. Errors carry keystoneauth-like reasons (they
    /// become `KeyManagerError`).
    pub async fn session(&self) -> Result<KeystoneSession, String> {
        if let Some(s) = self.fresh() {
            return Ok(s);
        }
        let _flight = self.flight.lock().await;
        if let Some(s) = self.fresh() {
            return Ok(s);
        }
        let (session, expires_at) = self.authenticate().await?;
        let refresh_at = expires_at
            .map(|e| e - MARGIN.as_secs_f64())
            .unwrap_or_else(|| self.clock.now_unix() + 300.0);
        *self.lock() = Some(Cached {
            session: session.clone(),
            refresh_at,
        });
        Ok(session)
    }

    /// Forget `stale` after Barbican answered 401 to it.
    pub fn invalidate(&self, stale: &AccessToken) -> bool {
        let mut cached = self.lock();
        if cached
            .as_ref()
            .is_some_and(|c| c.session.token.expose() == stale.expose())
        {
            *cached = None;
            return true;
        }
        false
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Cached>> {
        self.cached.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fresh(&self) -> Option<KeystoneSession> {
        let now = self.clock.now_unix();
        self.lock()
            .as_ref()
            .filter(|c| now < c.refresh_at)
            .map(|c| c.session.clone())
    }

    async fn authenticate(&self) -> Result<(KeystoneSession, Option<f64>), String> {
        let o = &self.options;
        let url = o.tokens_url();
        let body = json!({
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {
                        "name": o.username,
                        "domain": {"name": o.user_domain_name},
                        "password": o.password.expose_secret(),
                    }},
                },
                "scope": {"project": {
                    "name": o.project_name,
                    "domain": {"name": o.project_domain_name},
                }},
            }
        });
        let response = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("Unable to establish connection to {url}: {e}"))?;
        let status = response.status();
        let token = response
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response
            .text()
            .await
            .map_err(|e| format!("Keystone: {e}"))?;
        if !status.is_success() {
            return Err(keystone_error(status, &text));
        }
        let token = token.ok_or("Keystone answered without an X-Subject-Token header")?;
        let parsed: TokenBody = serde_json::from_str(&text)
            .map_err(|e| format!("Keystone returned an unexpected token body: {e}"))?;
        let endpoint = self.barbican_endpoint(&parsed.token.catalog)?;
        let expires_at = parsed
            .token
            .expires_at
            .as_deref()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.timestamp_millis() as f64 / 1000.0);
        Ok((
            KeystoneSession {
                token: AccessToken::new(token),
                endpoint,
            },
            expires_at,
        ))
    }

    fn barbican_endpoint(&self, catalog: &[CatalogEntry]) -> Result<String, String> {
        let o = &self.options;
        catalog
            .iter()
            .filter(|s| s.service_type == SERVICE_TYPE)
            .filter(|s| s.name.as_deref().is_none_or(|n| n == SERVICE_NAME))
            .flat_map(|s| s.endpoints.iter())
            .filter(|e| e.interface == o.interface)
            .find(|e| match &o.region_name {
                None => true,
                Some(r) => e.region_id.as_deref() == Some(r) || e.region.as_deref() == Some(r),
            })
            .map(|e| e.url.trim_end_matches('/').to_owned())
            .ok_or_else(|| {
                format!(
                    "Endpoint for {SERVICE_TYPE} service in {} region not found",
                    o.region_name.as_deref().unwrap_or("None")
                )
            })
    }
}

/// keystoneauth's `<message> (HTTP <status>)` text.
fn keystone_error(status: reqwest::StatusCode, body: &str) -> String {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    format!("{message} (HTTP {})", status.as_u16())
}
