//! The client-credentials token source: Tacker's `ExtOAuth2Auth`
//! (`tacker/common/ext_oauth2_auth.py`), with a shared cache instead of one token per
//! Barbican operation.
//!
//! Client authentication (the five `auth_method`s), TLS (`cafile`, `insecure`, `certfile`,
//! `keyfile`) and `http_connect_timeout` come from `tacker-oauth2-client`, the same code the
//! inbound introspection client uses.
//!
//! The request and the response are not the `oauth2` crate's: its client-credentials request
//! puts `grant_type` first, escapes with `form_urlencoded` rather than Python's `quote_plus`,
//! form-encodes the Basic credentials and adds `Accept: application/json`, and its
//! `StandardTokenResponse` refuses bodies upstream accepts (no `token_type`, a string
//! `expires_in`, a non-JSON Content-Type). The tests in `tests/token_source.rs` pin both.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tacker_common::config::Section;
use tacker_oauth2_client::options::{not_set_message, read_bool, read_str};
use tacker_oauth2_client::{ClientError, ClientOptions, Clock, OAuth2Client};

use crate::TokenError;

/// The group every option is read from.
pub const GROUP: &str = "ext_oauth2_auth";

/// Refresh this long before `expires_in` runs out (or a tenth of the lifetime when that is
/// shorter), so a token is never presented in its last seconds.
const MAX_MARGIN: Duration = Duration::from_secs(30);
/// A token without `expires_in` is reused this long (upstream ignores `expires_in` and keeps
/// a token for one session; a 401 from the peer still replaces it earlier).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// Error bodies of the token endpoint are logged up to this many characters.
const LOGGED_BODY: usize = 512;

/// An access token. `Debug` never shows it; [`AccessToken::bearer`] is the only way out.
#[derive(Clone)]
pub struct AccessToken(Arc<SecretString>);

impl AccessToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(Arc::new(SecretString::from(token.into())))
    }

    /// The `Authorization: Bearer <token>` value, marked sensitive so traces redact it.
    pub fn bearer(&self) -> Option<HeaderValue> {
        let mut value =
            HeaderValue::from_str(&format!("Bearer {}", self.0.expose_secret())).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// The raw token, for headers other than `Authorization` (Keystone's `X-Auth-Token`).
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    fn same(&self, other: &AccessToken) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.expose_secret() == other.0.expose_secret()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([REDACTED])")
    }
}

/// The options `ExtOAuth2Auth` reads, checked in upstream's order.
#[derive(Clone, Debug)]
pub struct TokenSourceOptions {
    /// `token_endpoint` (str, required): where the client-credentials grant is POSTed.
    pub token_endpoint: String,
    /// `scope` (str, required): the `scope` form field.
    pub scope: String,
    /// Connection and client-authentication options shared with the inbound filter.
    pub client: ClientOptions,
}

impl TokenSourceOptions {
    /// Read the merged `[ext_oauth2_auth]` section. Required, in upstream's order:
    /// `token_endpoint`, `auth_method`, `client_id`, `scope` (falsy means unset), then what
    /// the `auth_method` needs (checked by [`TokenSource::new`]).
    pub fn from_section(section: &Section) -> Result<Self, TokenError> {
        let group = section.name.as_str();
        let required = |key: &str| {
            read_str(section, key).ok_or_else(|| TokenError::Config(not_set_message(key, group)))
        };
        let token_endpoint = required("token_endpoint")?;
        // `auth_method` has a default; only an explicitly empty value is "not set".
        if section.get("auth_method").is_some() {
            required("auth_method")?;
        }
        let client = ClientOptions::from_section(section).map_err(config)?;
        required("client_id")?;
        let scope = required("scope")?;
        Ok(Self {
            token_endpoint,
            scope,
            client,
        })
    }
}

/// `[ext_oauth2_auth] use_ext_oauth2_auth` (bool, default false): whether Barbican calls use
/// tokens from the external authorization server instead of Keystone.
pub fn use_ext_oauth2_auth(section: &Section) -> Result<bool, TokenError> {
    read_bool(section, "use_ext_oauth2_auth", false).map_err(config)
}

fn config(e: ClientError) -> TokenError {
    TokenError::Config(e.to_string())
}

struct Cached {
    token: AccessToken,
    /// Unix seconds after which the next caller fetches a new token.
    refresh_at: f64,
}

struct Inner {
    client: OAuth2Client,
    token_endpoint: String,
    scope: String,
    clock: Arc<dyn Clock>,
    cached: Mutex<Option<Cached>>,
    /// Held while a token request is in flight: concurrent callers wait for its result
    /// instead of sending their own (single flight).
    flight: tokio::sync::Mutex<()>,
}

/// Gets, caches and refreshes this service's access token (client-credentials grant).
///
/// Cheap to clone; clones share the cache. Unlike upstream (a new `ExtOAuth2Auth`, hence a
/// new token, per Barbican operation) the token is reused until `expires_in` minus a margin,
/// fetched once however many callers need it at the same time, and dropped when a peer
/// answers 401 ([`TokenSource::invalidate`]).
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_endpoint", &self.inner.token_endpoint)
            .field("scope", &self.inner.scope)
            .field("auth_method", &self.inner.client.authenticator().method())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
    error: Option<serde_json::Value>,
    error_description: Option<serde_json::Value>,
}

impl TokenSource {
    /// From the merged `[ext_oauth2_auth]` section: required options, the HTTP client
    /// (`cafile`, `insecure`, `certfile`/`keyfile`, `http_connect_timeout`, no redirects) and
    /// the client authenticator of `auth_method`. Every problem is a start-up error.
    pub fn new(section: &Section, clock: Arc<dyn Clock>) -> Result<Self, TokenError> {
        Self::from_options(&TokenSourceOptions::from_section(section)?, clock)
    }

    pub fn from_options(
        options: &TokenSourceOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, TokenError> {
        let client = OAuth2Client::new(&options.client, clock.clone()).map_err(config)?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                token_endpoint: options.token_endpoint.clone(),
                scope: options.scope.clone(),
                clock,
                cached: Mutex::new(None),
                flight: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The shared OAuth 2.0 client (e.g. to reload `jwt_key_file` on SIGHUP).
    pub fn client(&self) -> &OAuth2Client {
        &self.inner.client
    }

    /// Re-read `jwt_key_file` on every SIGHUP (private_key_jwt; the same authenticator code
    /// as the inbound filter). `None` when nothing needs reloading or no runtime runs.
    pub fn spawn_reload_on_sighup(&self) -> Option<tokio::task::JoinHandle<()>> {
        self.inner.client.authenticator().spawn_reload_on_sighup()
    }

    /// A valid access token: the cached one, or a new one from the token endpoint.
    pub async fn token(&self) -> Result<AccessToken, TokenError> {
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        let _flight = self.inner.flight.lock().await;
        // Whoever held the flight before us may have fetched it already.
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        let (token, lifetime) = self.fetch().await?;
        let refresh_at = self.inner.clock.now_unix() + reuse_for(lifetime).as_secs_f64();
        *self.lock() = Some(Cached {
            token: token.clone(),
            refresh_at,
        });
        Ok(token)
    }

    /// Forget `stale` (a peer answered 401 to it) so the next [`TokenSource::token`] fetches
    /// a new one. Returns whether it was still cached: of several callers that saw the same
    /// 401, only the first causes a refresh.
    pub fn invalidate(&self, stale: &AccessToken) -> bool {
        let mut cached = self.lock();
        if cached.as_ref().is_some_and(|c| c.token.same(stale)) {
            *cached = None;
            return true;
        }
        false
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Cached>> {
        self.inner.cached.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cached(&self) -> Option<AccessToken> {
        let now = self.inner.clock.now_unix();
        self.lock()
            .as_ref()
            .filter(|c| now < c.refresh_at)
            .map(|c| c.token.clone())
    }

    /// [`Self::fetch_once`], counted by outcome (`tacker_outbound_token_requests_total`).
    async fn fetch(&self) -> Result<(AccessToken, Duration), TokenError> {
        let result = self.fetch_once().await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(TokenError::Unavailable) => "unavailable",
            Err(_) => "error",
        };
        metrics::counter!("tacker_outbound_token_requests_total", "outcome" => outcome)
            .increment(1);
        result
    }

    async fn fetch_once(&self) -> Result<(AccessToken, Duration), TokenError> {
        let inner = &self.inner;
        // Field order after the client authentication as upstream: scope, grant_type. For
        // client_secret_jwt the assertion alone authenticates (no client_secret next to it:
        // strict servers reject two mechanisms; a deliberate fix).
        let params = [
            ("scope", inner.scope.as_str()),
            ("grant_type", "client_credentials"),
        ];
        let response = inner
            .client
            .post_form(&inner.token_endpoint, &params)
            .await
            .map_err(|e| match e {
                ClientError::Unavailable(why) => {
                    tracing::error!(token_endpoint = %inner.token_endpoint, "Unable to get an access token: {why}");
                    TokenError::Unavailable
                }
                other => {
                    tracing::error!(token_endpoint = %inner.token_endpoint, "Unable to get an access token: {other}");
                    TokenError::Other
                }
            })?;
        let status = response.status();
        let body = response.text().await.map_err(|e| {
            tracing::error!("Unable to get an access token: reading the response failed: {e}");
            if e.is_timeout() {
                TokenError::Unavailable
            } else {
                TokenError::Other
            }
        })?;
        if status.is_client_error() || status.is_server_error() {
            // keystoneauth raises HttpError for >= 400: upstream's generic message.
            tracing::error!(%status, body = %truncate(&body), "Unable to get an access token: the token endpoint refused the request");
            return Err(TokenError::Other);
        }
        if status != reqwest::StatusCode::OK {
            // A 2xx body may hold a token: log the status only.
            tracing::error!(%status, "The OAuth2.0 access token API returns an incorrect response.");
            return Err(TokenError::Failed);
        }
        let parsed: TokenResponse = match serde_json::from_str::<serde_json::Value>(&body) {
            Ok(value @ serde_json::Value::Object(_)) => {
                serde_json::from_value(value).unwrap_or(TokenResponse {
                    access_token: None,
                    expires_in: None,
                    error: None,
                    error_description: None,
                })
            }
            _ => {
                // The body of a 200 may be a token; never log it.
                tracing::error!(
                    "Unable to get an access token: the token response is not a JSON object"
                );
                return Err(TokenError::Other);
            }
        };
        let Some(token) = parsed.access_token.filter(|t| !t.is_empty()) else {
            tracing::error!(error = ?parsed.error, error_description = ?parsed.error_description, "Failed to get an access token");
            return Err(TokenError::Failed);
        };
        let lifetime = parsed
            .expires_in
            .as_ref()
            .and_then(|v| {
                v.as_f64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_LIFETIME);
        tracing::debug!(token_endpoint = %inner.token_endpoint, lifetime_s = lifetime.as_secs(), "got a new access token");
        Ok((AccessToken::new(token), lifetime))
    }
}

/// How long a token with `lifetime` is reused: the lifetime minus 30 s, or minus a tenth of
/// it when that is shorter.
fn reuse_for(lifetime: Duration) -> Duration {
    lifetime.saturating_sub((lifetime / 10).min(MAX_MARGIN))
}

fn truncate(body: &str) -> &str {
    match body.char_indices().nth(LOGGED_BODY) {
        Some((i, _)) => &body[..i],
        None => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_is_thirty_seconds_or_a_tenth_of_short_lifetimes() {
        assert_eq!(
            reuse_for(Duration::from_secs(300)),
            Duration::from_secs(270)
        );
        assert_eq!(
            reuse_for(Duration::from_secs(3600)),
            Duration::from_secs(3570)
        );
        assert_eq!(reuse_for(Duration::from_secs(60)), Duration::from_secs(54));
        assert_eq!(
            reuse_for(Duration::from_secs(1)),
            Duration::from_millis(900)
        );
    }

    #[test]
    fn error_bodies_are_truncated_on_char_boundaries() {
        let long = "é".repeat(LOGGED_BODY + 10);
        assert_eq!(truncate(&long).chars().count(), LOGGED_BODY);
        assert_eq!(truncate("short"), "short");
    }

    #[test]
    fn access_token_debug_is_redacted() {
        let t = AccessToken::new("tok-value");
        assert_eq!(format!("{t:?}"), "AccessToken([REDACTED])");
        assert!(t.bearer().unwrap().is_sensitive());
        assert!(t.same(&AccessToken::new("tok-value")));
        assert!(!t.same(&AccessToken::new("other")));
    }
}
