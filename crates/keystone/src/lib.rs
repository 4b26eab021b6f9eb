//! Keystone v3 password authentication as keystoneauth1 performs it, for the two places this
//! service talks to a Keystone: the OpenStack VIM driver checking a VIM's own credentials
//! (`tacker/nfvo/drivers/vim/openstack_driver.py`) and the service user that finds Barbican
//! in the catalog when external OAuth 2.0 is off (`[keystone_authtoken]`). One request body
//! builder (`identity.v3.Password`), one token request, one rule for `/v3`
//! (`tacker.common.utils.get_auth_url_v3`), and keystoneauth1's error texts, which reach API
//! clients inside `VimUnauthorizedException` / `KeyManagerError` messages.

mod body;
mod error;
mod password;

use reqwest::header::ACCEPT;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

pub use body::{body_prefix, read_body, BodyError, BODY_LIMIT};
pub use error::{http_error_text, status_error_text, transport_error_text, KeystoneError};
pub use password::{PasswordAuth, PASSWORD_PLUGIN_ARGS};

/// `tacker.common.utils.get_auth_url_v3`: the URL as is when it matches `.+v3/?$`, else with
/// `/v3` appended (`http://h:5000/` becomes `http://h:5000//v3`, as upstream).
pub fn auth_url_v3(auth_url: &str) -> String {
    let trimmed = auth_url.strip_suffix('/').unwrap_or(auth_url);
    // `.+v3`: at least one character before the `v3`.
    if trimmed.len() > 2 && trimmed.ends_with("v3") {
        auth_url.to_owned()
    } else {
        format!("{auth_url}/v3")
    }
}

/// A scoped token: its id (sent as `X-Auth-Token`), expiry and service catalog.
pub struct Token {
    pub id: SecretString,
    /// `expires_at` as Unix seconds, when Keystone sent a parseable one.
    pub expires_at: Option<f64>,
    pub catalog: Vec<CatalogEntry>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("id", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct CatalogEntry {
    #[serde(rename = "type")]
    pub service_type: String,
    pub name: Option<String>,
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Endpoint {
    pub interface: String,
    pub url: String,
    pub region_id: Option<String>,
    pub region: Option<String>,
}

impl Token {
    /// keystoneauth's `get_endpoint(service_type, service_name, interface, region_name)`: the
    /// first catalog endpoint that matches, without a trailing slash.
    pub fn endpoint(
        &self,
        service_type: &str,
        service_name: Option<&str>,
        interface: &str,
        region: Option<&str>,
    ) -> Option<String> {
        self.catalog
            .iter()
            .filter(|s| s.service_type == service_type)
            .filter(|s| match (service_name, s.name.as_deref()) {
                (Some(wanted), Some(name)) => wanted == name,
                _ => true,
            })
            .flat_map(|s| s.endpoints.iter())
            .filter(|e| e.interface == interface)
            .find(|e| match region {
                None => true,
                Some(r) => e.region_id.as_deref() == Some(r) || e.region.as_deref() == Some(r),
            })
            .map(|e| e.url.trim_end_matches('/').to_owned())
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

/// `POST {auth_url with /v3}/auth/tokens` with the password plugin's body.
pub async fn authenticate(
    http: &reqwest::Client,
    auth_url: &str,
    auth: &PasswordAuth,
) -> Result<Token, KeystoneError> {
    let tokens_url = format!(
        "{}/auth/tokens",
        auth_url_v3(auth_url).trim_end_matches('/')
    );
    let resp = http
        .post(&tokens_url)
        .header(ACCEPT, "application/json")
        .json(auth.body())
        .send()
        .await
        .map_err(|e| KeystoneError::Transport(transport_error_text(&tokens_url, &e)))?;
    let status = resp.status();
    if status.as_u16() >= 400 {
        return Err(KeystoneError::Http {
            status: status.as_u16(),
            message: http_error_text(resp).await,
        });
    }
    let id = resp
        .headers()
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(SecretString::from)
        .ok_or(KeystoneError::NoSubjectToken)?;
    let text = match read_body(resp, BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(BodyError::Transport(e)) => {
            return Err(KeystoneError::Transport(transport_error_text(
                &tokens_url,
                &e,
            )))
        }
        Err(e) => {
            return Err(KeystoneError::BadResponse(format!(
                "Keystone token response: {e}"
            )))
        }
    };
    let value: Value = serde_json::from_slice(&text)
        .map_err(|e| KeystoneError::BadResponse(format!("Keystone token response: {e}")))?;
    if value.get("token").is_none() {
        return Err(KeystoneError::BadResponse(
            "Keystone token response has no token object".to_owned(),
        ));
    }
    let body: TokenBody = serde_json::from_value(value)
        .map_err(|e| KeystoneError::BadResponse(format!("Keystone token response: {e}")))?;
    let expires_at = body
        .token
        .expires_at
        .as_deref()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.timestamp_millis() as f64 / 1000.0);
    Ok(Token {
        id,
        expires_at,
        catalog: body.token.catalog,
    })
}

/// An authenticated `GET url` whose answer is JSON (`what` names it in error texts).
pub async fn get_json(
    http: &reqwest::Client,
    url: &str,
    token: &SecretString,
    what: &str,
) -> Result<Value, KeystoneError> {
    let mut auth = reqwest::header::HeaderValue::from_str(token.expose_secret()).map_err(|_| {
        KeystoneError::BadResponse(format!("{what}: the token is not a header value"))
    })?;
    auth.set_sensitive(true);
    let resp = http
        .get(url)
        .header(ACCEPT, "application/json")
        .header("X-Auth-Token", auth)
        .send()
        .await
        .map_err(|e| KeystoneError::Transport(transport_error_text(url, &e)))?;
    let status = resp.status();
    if status.as_u16() >= 400 {
        return Err(KeystoneError::Http {
            status: status.as_u16(),
            message: http_error_text(resp).await,
        });
    }
    let body = read_body(resp, BODY_LIMIT)
        .await
        .map_err(|e| KeystoneError::BadResponse(format!("{what}: {e}")))?;
    serde_json::from_slice(&body).map_err(|e| KeystoneError::BadResponse(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tacker/tests/unit/common/test_utils.py` style cases of `get_auth_url_v3`, and the URL
    /// that a `contains("v3")` or `ends_with` shortcut gets wrong.
    #[test]
    fn auth_url_v3_follows_get_auth_url_v3() {
        assert_eq!(auth_url_v3("http://h/identity"), "http://h/identity/v3");
        assert_eq!(auth_url_v3("http://h/identity/v3"), "http://h/identity/v3");
        assert_eq!(
            auth_url_v3("http://h/identity/v3/"),
            "http://h/identity/v3/"
        );
        assert_eq!(auth_url_v3("http://h:5000/"), "http://h:5000//v3");
        assert_eq!(auth_url_v3("http://v3host:5000"), "http://v3host:5000/v3");
        assert_eq!(auth_url_v3("http://h/v3x"), "http://h/v3x/v3");
        assert_eq!(auth_url_v3("v3"), "v3/v3");
        assert_eq!(auth_url_v3("xv3"), "xv3");
        assert_eq!(auth_url_v3("xv3/"), "xv3/");
    }

    fn token(catalog: Value) -> Token {
        Token {
            id: SecretString::from("t"),
            expires_at: None,
            catalog: serde_json::from_value(catalog).unwrap(),
        }
    }

    #[test]
    fn endpoint_matches_type_name_interface_and_region() {
        let t = token(serde_json::json!([
            {"type": "identity", "name": "keystone", "endpoints": [
                {"interface": "internal", "url": "http://ks/", "region_id": "R1"}]},
            {"type": "key-manager", "name": "barbican", "endpoints": [
                {"interface": "public", "url": "http://pub:9311", "region_id": "R1"},
                {"interface": "internal", "url": "http://int-r2:9311/", "region_id": "R2"},
                {"interface": "internal", "url": "http://int-r1:9311", "region": "R1"}]}
        ]));
        assert_eq!(
            t.endpoint("key-manager", Some("barbican"), "internal", None)
                .as_deref(),
            Some("http://int-r2:9311")
        );
        assert_eq!(
            t.endpoint("key-manager", Some("barbican"), "internal", Some("R1"))
                .as_deref(),
            Some("http://int-r1:9311")
        );
        assert_eq!(
            t.endpoint("key-manager", Some("other"), "internal", None),
            None
        );
        assert_eq!(t.endpoint("key-manager", None, "admin", None), None);
    }
}
