//! Keystone v3 password authentication of this service's own user
//! (`[keystone_authtoken]`), used for Barbican when `use_ext_oauth2_auth` is false, as
//! upstream's `KeystonePassword` service context with keystoneauth's `identity.Password`.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use tacker_common::config::Section;
use tacker_keystone::{KeystoneError, PasswordAuth};
use tacker_oauth2_client::options::read_str;
use tacker_oauth2_client::Clock;

use crate::error::BarbicanError;
use crate::token::AccessToken;

/// Refresh a Keystone token this long before its `expires_at`.
const MARGIN: Duration = Duration::from_secs(60);
const SERVICE_TYPE: &str = "key-manager";
const SERVICE_NAME: &str = "barbican";

/// `[keystone_authtoken]` options of the service user.
#[derive(Clone)]
pub struct KeystoneOptions {
    /// `auth_url` (required): Keystone; `/v3` is appended as `get_auth_url_v3` does.
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
    pub fn from_section(section: &Section) -> Result<Self, BarbicanError> {
        let required = |key: &str| {
            read_str(section, key).ok_or_else(|| {
                BarbicanError::Config(format!(
                    "{}: required to reach Barbican through Keystone (use_ext_oauth2_auth is false)",
                    section.describe(key, "")
                ))
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

    /// keystoneauth's `identity.Password` for the service user, scoped to its project.
    fn password_auth(&self) -> PasswordAuth {
        let mut kwargs = Map::new();
        for (k, v) in [
            ("auth_url", self.auth_url.as_str()),
            ("username", self.username.as_str()),
            ("password", self.password.expose_secret()),
            ("user_domain_name", self.user_domain_name.as_str()),
            ("project_name", self.project_name.as_str()),
            ("project_domain_name", self.project_domain_name.as_str()),
        ] {
            kwargs.insert(k.to_owned(), Value::from(v));
        }
        PasswordAuth::from_kwargs(&kwargs).expect("only plugin arguments")
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

    /// A valid token and the Barbican endpoint. Errors carry keystoneauth's texts (they
    /// become `KeyManagerError`).
    pub async fn session(&self) -> Result<KeystoneSession, BarbicanError> {
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

    async fn authenticate(&self) -> Result<(KeystoneSession, Option<f64>), BarbicanError> {
        let o = &self.options;
        let token =
            tacker_keystone::authenticate(&self.http, &o.auth_url, &o.password_auth()).await?;
        let endpoint = token
            .endpoint(
                SERVICE_TYPE,
                Some(SERVICE_NAME),
                &o.interface,
                o.region_name.as_deref(),
            )
            .ok_or_else(|| {
                BarbicanError::Keystone(KeystoneError::BadResponse(format!(
                    "Endpoint for {SERVICE_TYPE} service in {} region not found",
                    o.region_name.as_deref().unwrap_or("None")
                )))
            })?;
        Ok((
            KeystoneSession {
                token: AccessToken::new(token.id.expose_secret()),
                endpoint,
            },
            token.expires_at,
        ))
    }
}
