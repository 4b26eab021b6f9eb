//! The OpenStack VIM driver (`openstack_driver.py`, spec §2.7): unauthenticated discovery
//! `GET auth_url`, Keystone v3 password authentication, the region list as
//! `placement_attr.regions`, and the password encrypted with a new Fernet key.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};

use super::http::{self, Tls};
use super::keys::KeyStore;
use super::VimDriver;
use crate::model::Vim;
use crate::vault::FernetKey;
use crate::VimError;
use tacker_common::py::{py_str, str_to_bool, truthy};

/// The keyword arguments keystoneauth1's `identity.v3.Password` accepts; `auth_cred` is
/// passed to it as `**kwargs` (minus `cert_verify`), so any other key is a `TypeError`.
const PASSWORD_PLUGIN_ARGS: &[&str] = &[
    "auth_url",
    "password",
    "user_id",
    "username",
    "user_domain_id",
    "user_domain_name",
    "project_id",
    "project_name",
    "project_domain_id",
    "project_domain_name",
    "domain_id",
    "domain_name",
    "system_scope",
    "trust_id",
    "unscoped",
    "reauthenticate",
    "include_catalog",
];

/// `type: openstack`.
pub struct OpenStackDriver {
    keys: KeyStore,
}

impl OpenStackDriver {
    pub(crate) fn new(keys: KeyStore) -> Self {
        Self { keys }
    }
}

/// `utils.get_auth_url_v3`: append `/v3` unless the URL matches `.+v3/?$`.
fn auth_url_v3(auth_url: &str) -> String {
    let trimmed = auth_url.strip_suffix('/').unwrap_or(auth_url);
    if trimmed.len() > 2 && trimmed.ends_with("v3") {
        auth_url.to_owned()
    } else {
        format!("{auth_url}/v3")
    }
}

#[async_trait]
impl VimDriver for OpenStackDriver {
    async fn register(&self, vim: &mut Vim) -> Result<(), VimError> {
        // Client-supplied key references are never trusted.
        vim.auth_cred.shift_remove("key_type");
        vim.auth_cred.shift_remove("secret_uuid");
        self.keys.check_ready()?;

        let verify = match vim.auth_cred.get("cert_verify") {
            None => true,
            // Upstream crashes (500 "Can't convert ... to Bool"); a client error here.
            Some(v) => str_to_bool(v).ok_or_else(|| {
                VimError::BadRequest(format!(
                    "Invalid input for auth_cred. Reason: cert_verify '{}' is not a valid boolean value.",
                    py_str(v)
                ))
            })?,
        };
        let tls = || {
            if verify {
                Tls::SystemRoots
            } else {
                Tls::Insecure
            }
        };

        // NfvoPlugin.validate_keystone_auth_url: unauthenticated GET of the (v3) auth URL.
        vim.auth_url = auth_url_v3(&vim.auth_url);
        let client = http::client(tls(), http::REQUEST_TIMEOUT)
            .map_err(|e| VimError::Internal(format!("HTTP client: {e}")))?;
        check_reachable(&client, &vim.auth_url).await?;

        augment_auth_cred(vim);
        let regions = find_regions(&client, &vim.auth_cred).await?;
        vim.placement_attr = Some(json!({ "regions": regions }));

        // encode_vim_auth: a new key encrypts the password; the key is stored last so that a
        // failure anywhere leaves no key behind.
        let password = match vim.auth_cred.get("password") {
            Some(Value::String(p)) => SecretString::from(p.as_str()),
            // Upstream crashes encrypting a missing or non-string password; a client error.
            _ => {
                return Err(VimError::BadRequest(
                    "Invalid input for auth_cred. Reason: password must be a string.".to_owned(),
                ))
            }
        };
        let key = FernetKey::generate();
        let token = key.encrypt(password.expose_secret().as_bytes());
        self.keys.store(&vim.id, &key, &mut vim.auth_cred).await?;
        vim.auth_cred.shift_remove("password");
        vim.password = Some(token);
        tracing::debug!(vim_id = %vim.id, "VIM registration completed");
        Ok(())
    }

    async fn deregister(&self, vim: &Vim) -> Result<(), VimError> {
        self.delete_vim_auth(vim).await
    }

    async fn delete_vim_auth(&self, vim: &Vim) -> Result<(), VimError> {
        // Upstream removes `<dir>/<vim_id>` for anything that is not a Barbican key.
        self.keys.delete(&vim.id, &vim.auth_cred, true).await
    }
}

async fn check_reachable(client: &reqwest::Client, auth_url: &str) -> Result<(), VimError> {
    let failed = |message: String| {
        tracing::error!(auth_url, "Validation Failed for Keystone auth_url");
        VimError::VimConnection(message)
    };
    let resp = client
        .get(auth_url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| failed(http::keystoneauth_transport_error(auth_url, &e)))?;
    if resp.status().as_u16() >= 400 {
        return Err(failed(http::keystoneauth_http_error(resp).await));
    }
    Ok(())
}

/// `_get_auth_creds`: the project and the auth URL join the stored credentials.
fn augment_auth_cred(vim: &mut Vim) {
    let project = |k: &str| vim.vim_project.get(k).cloned().unwrap_or(Value::Null);
    let (id, name, domain) = (
        project("id"),
        project("name"),
        project("project_domain_name"),
    );
    let cred = &mut vim.auth_cred;
    cred.insert("project_id".to_owned(), id);
    cred.insert("project_name".to_owned(), name);
    cred.insert("project_domain_name".to_owned(), domain);
    let auth_url = if vim.auth_url.contains("v3") {
        vim.auth_url.clone()
    } else {
        format!("{}/v3", vim.auth_url)
    };
    cred.insert("auth_url".to_owned(), Value::String(auth_url));
}

/// The keystoneauth1 v3 `Password` plugin's token request body, from `auth_cred` used as its
/// keyword arguments. Unknown keys are refused as the plugin's constructor does.
fn password_auth_body(cred: &Map<String, Value>) -> Result<Value, VimError> {
    if let Some(unexpected) = cred
        .keys()
        .find(|k| k.as_str() != "cert_verify" && !PASSWORD_PLUGIN_ARGS.contains(&k.as_str()))
    {
        // Upstream crashes (500, the plugin's TypeError); a client error here.
        return Err(VimError::BadRequest(format!(
            "Invalid input for auth_cred. Reason: '{unexpected}' is not a supported key of an OpenStack auth_cred."
        )));
    }
    let arg = |k: &str| cred.get(k).filter(|v| truthy(v)).cloned();

    let mut user = Map::new();
    user.insert(
        "password".to_owned(),
        cred.get("password").cloned().unwrap_or(Value::Null),
    );
    if let Some(id) = arg("user_id") {
        user.insert("id".to_owned(), id);
    } else if let Some(name) = arg("username") {
        user.insert("name".to_owned(), name);
        if let Some(id) = arg("user_domain_id") {
            user.insert("domain".to_owned(), json!({ "id": id }));
        } else if let Some(name) = arg("user_domain_name") {
            user.insert("domain".to_owned(), json!({ "name": name }));
        }
    }

    let mut auth = Map::new();
    auth.insert(
        "identity".to_owned(),
        json!({ "methods": ["password"], "password": { "user": user } }),
    );
    let scope = if let Some(system) = arg("system_scope") {
        let system = py_str(&system);
        Some(json!({ "system": { system: true } }))
    } else if let Some(id) = arg("domain_id") {
        Some(json!({ "domain": { "id": id } }))
    } else if let Some(name) = arg("domain_name") {
        Some(json!({ "domain": { "name": name } }))
    } else if let Some(id) = arg("project_id") {
        Some(json!({ "project": { "id": id } }))
    } else if let Some(name) = arg("project_name") {
        let mut project = Map::new();
        project.insert("name".to_owned(), name);
        if let Some(id) = arg("project_domain_id") {
            project.insert("domain".to_owned(), json!({ "id": id }));
        } else if let Some(name) = arg("project_domain_name") {
            project.insert("domain".to_owned(), json!({ "name": name }));
        }
        Some(json!({ "project": project }))
    } else {
        arg("trust_id").map(|id| json!({ "OS-TRUST:trust": { "id": id } }))
    };
    if let Some(scope) = scope {
        auth.insert("scope".to_owned(), scope);
    }
    Ok(json!({ "auth": auth }))
}

/// `discover_placement_attr` / `_find_regions` (master): authenticate with the VIM's
/// credentials, then `GET {auth_url sans /v3}/v3/regions`. Keystone's 401 and 400 become
/// `VimUnauthorizedException`; anything else is an internal error, as upstream.
async fn find_regions(
    client: &reqwest::Client,
    cred: &Map<String, Value>,
) -> Result<Vec<Value>, VimError> {
    let body = password_auth_body(cred)?;
    let auth_url = cred
        .get("auth_url")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_owned();

    let tokens_url = format!("{auth_url}/auth/tokens");
    let resp = client
        .post(&tokens_url)
        .header(reqwest::header::ACCEPT, "application/json")
        .json(&body)
        .send()
        .await
        .map_err(|e| VimError::Internal(http::keystoneauth_transport_error(&tokens_url, &e)))?;
    let status = resp.status();
    if status.as_u16() >= 400 {
        let message = http::keystoneauth_http_error(resp).await;
        return Err(keystone_failure(status, message));
    }
    let token = resp
        .headers()
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(SecretString::from)
        .ok_or_else(|| {
            VimError::Internal("Keystone token response has no X-Subject-Token".to_owned())
        })?;
    let token_body: Value = resp
        .json()
        .await
        .map_err(|e| VimError::Internal(format!("Keystone token response: {e}")))?;
    if token_body.get("token").is_none() {
        return Err(VimError::Internal(
            "Keystone token response has no token object".to_owned(),
        ));
    }

    let base = auth_url.strip_suffix("/v3").unwrap_or(&auth_url);
    let regions_url = format!("{base}/v3/regions");
    let resp = client
        .get(&regions_url)
        .header(reqwest::header::ACCEPT, "application/json")
        .header("X-Auth-Token", sensitive_header(&token)?)
        .send()
        .await
        .map_err(|e| VimError::Internal(http::keystoneauth_transport_error(&regions_url, &e)))?;
    let status = resp.status();
    if status.as_u16() >= 400 {
        let message = http::keystoneauth_http_error(resp).await;
        return Err(keystone_failure(status, message));
    }
    let listing: Value = resp
        .json()
        .await
        .map_err(|e| VimError::Internal(format!("Keystone region list: {e}")))?;
    let regions = match listing.get("regions") {
        None => Vec::new(),
        Some(Value::Array(regions)) => regions
            .iter()
            .map(|r| r.get("id").cloned())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| VimError::Internal("Keystone region without an id".to_owned()))?,
        Some(_) => {
            return Err(VimError::Internal(
                "Keystone region list is not a list".to_owned(),
            ))
        }
    };
    Ok(regions)
}

/// A token as a header value that `Debug` and traces never print.
fn sensitive_header(token: &SecretString) -> Result<reqwest::header::HeaderValue, VimError> {
    let mut value =
        reqwest::header::HeaderValue::from_str(token.expose_secret()).map_err(|_| {
            VimError::Internal("Keystone returned a token that is not a header value".to_owned())
        })?;
    value.set_sensitive(true);
    Ok(value)
}

fn keystone_failure(status: reqwest::StatusCode, message: String) -> VimError {
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::BAD_REQUEST {
        tracing::error!("Authorization failed for user");
        VimError::VimUnauthorized(message)
    } else {
        VimError::Internal(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_normalisation_as_get_auth_url_v3() {
        assert_eq!(auth_url_v3("http://h/identity"), "http://h/identity/v3");
        assert_eq!(auth_url_v3("http://h/identity/v3"), "http://h/identity/v3");
        assert_eq!(
            auth_url_v3("http://h/identity/v3/"),
            "http://h/identity/v3/"
        );
        assert_eq!(auth_url_v3("http://h:5000/"), "http://h:5000//v3");
    }

    fn cred(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn password_body_with_project_name_and_domains() {
        let body = password_auth_body(&cred(json!({
            "username": "nfv_user", "password": "devstack", "user_domain_name": "Default",
            "cert_verify": "False", "project_id": null, "project_name": "nfv",
            "project_domain_name": "Default", "auth_url": "http://ks/identity/v3"
        })))
        .unwrap();
        assert_eq!(
            body,
            json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "password": "devstack", "name": "nfv_user", "domain": {"name": "Default"}}}},
                "scope": {"project": {"name": "nfv", "domain": {"name": "Default"}}}}})
        );
    }

    #[test]
    fn password_body_prefers_ids_and_skips_empty_values() {
        let body = password_auth_body(&cred(json!({
            "user_id": "u1", "username": "ignored", "password": "p",
            "project_id": "p1", "project_name": "ignored", "project_domain_name": ""
        })))
        .unwrap();
        assert_eq!(
            body,
            json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {"password": "p", "id": "u1"}}},
                "scope": {"project": {"id": "p1"}}}})
        );
    }

    #[test]
    fn unexpected_auth_cred_key_is_a_bad_request() {
        let err = password_auth_body(&cred(json!({"username": "u", "password": "p", "foo": 1})))
            .unwrap_err();
        assert!(matches!(err, VimError::BadRequest(m) if m.contains("'foo'")));
    }
}
