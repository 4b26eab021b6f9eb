//! The OpenStack VIM driver (`openstack_driver.py`, spec §2.7): unauthenticated discovery
//! `GET auth_url`, Keystone v3 password authentication, the region list as
//! `placement_attr.regions`, and the password encrypted with a new Fernet key.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};
use tacker_common::py::{py_str, str_to_bool};
use tacker_keystone::{auth_url_v3, KeystoneError, PasswordAuth};

use std::sync::Arc;

use super::endpoints::EndpointPolicy;
use super::http::{self, Tls};
use super::keys::KeyStore;
use super::VimDriver;
use crate::model::Vim;
use crate::vault::{CommitTurn, FernetKey, StagedKey};
use crate::VimError;

/// `type: openstack`.
pub struct OpenStackDriver {
    keys: KeyStore,
    endpoints: Arc<EndpointPolicy>,
}

impl OpenStackDriver {
    pub(crate) fn new(keys: KeyStore, endpoints: Arc<EndpointPolicy>) -> Self {
        Self { keys, endpoints }
    }
}

#[async_trait]
impl VimDriver for OpenStackDriver {
    async fn register(&self, vim: &mut Vim) -> Result<StagedKey, VimError> {
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
        // From here on the URL names v3, so `_get_auth_creds`' own "append /v3 unless the
        // URL contains v3" never appends: one rule decides.
        vim.auth_url = auth_url_v3(&vim.auth_url);
        let client = http::client(tls(), http::REQUEST_TIMEOUT, &self.endpoints)
            .map_err(|e| VimError::Internal(format!("HTTP client: {e}")))?;
        // Every later call goes to this URL's host; a host name is checked as it resolves.
        if let Err(reason) = self.endpoints.check_url(&vim.auth_url) {
            tracing::error!(auth_url = %vim.auth_url, "Validation Failed for Keystone auth_url");
            return Err(VimError::VimConnection(format!(
                "Unable to establish connection to {}: {reason}",
                vim.auth_url
            )));
        }
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
        let staged = self.keys.store(&vim.id, &key, &mut vim.auth_cred).await?;
        vim.auth_cred.shift_remove("password");
        vim.password = Some(token);
        tracing::debug!(vim_id = %vim.id, "VIM registration completed");
        Ok(staged)
    }

    async fn commit_turn(&self, key: &StagedKey) -> Result<CommitTurn, VimError> {
        self.keys.commit_turn(key).await
    }

    async fn activate_key(&self, key: &StagedKey) -> Result<(), VimError> {
        self.keys.activate(key).await
    }

    async fn discard_key(&self, key: &StagedKey) {
        self.keys.discard(key).await
    }

    async fn decrypt(&self, vim: &Vim, tokens: &[String]) -> Result<Vec<SecretString>, VimError> {
        self.keys
            .decrypt(&vim.id, &vim.auth_cred, true, tokens)
            .await
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
        .map_err(|e| failed(tacker_keystone::transport_error_text(auth_url, &e)))?;
    let status = resp.status().as_u16();
    if status >= 400 {
        // keystoneauth's text shape without anything from the answer (logged at debug).
        http::log_error_answer(resp).await;
        return Err(failed(tacker_keystone::status_error_text(status)));
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
    cred.insert("auth_url".to_owned(), Value::String(vim.auth_url.clone()));
}

/// The keystoneauth1 v3 `Password` plugin built from `auth_cred` as its keyword arguments
/// (minus `cert_verify`). An argument the plugin does not take is refused.
fn password_auth(cred: &Map<String, Value>) -> Result<PasswordAuth, VimError> {
    let mut kwargs = cred.clone();
    kwargs.shift_remove("cert_verify");
    PasswordAuth::from_kwargs(&kwargs).map_err(|unexpected| {
        // Upstream crashes (500, the plugin's TypeError); a client error here.
        VimError::BadRequest(format!(
            "Invalid input for auth_cred. Reason: '{unexpected}' is not a supported key of an OpenStack auth_cred."
        ))
    })
}

/// `discover_placement_attr` / `_find_regions` (master): authenticate with the VIM's
/// credentials, then `GET {auth_url_v3(auth_url)}/regions`. Keystone's 401 and 400 become
/// `VimUnauthorizedException`; anything else is an internal error, as upstream.
async fn find_regions(
    client: &reqwest::Client,
    cred: &Map<String, Value>,
) -> Result<Vec<Value>, VimError> {
    let auth = password_auth(cred)?;
    let auth_url = cred
        .get("auth_url")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_owned();
    let token = tacker_keystone::authenticate(client, &auth_url, &auth)
        .await
        .map_err(keystone_failure)?;

    // The same one `/v3` rule the token request went through.
    let regions_url = format!("{}/regions", tacker_keystone::auth_url_v3(&auth_url));
    let listing =
        tacker_keystone::get_json(client, &regions_url, &token.id, "Keystone region list")
            .await
            .map_err(keystone_failure)?;
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

/// How much of a VIM Keystone's error message a debug log line shows.
const LOGGED_MESSAGE_CHARS: usize = 512;

/// `message` as a log line shows it: the first [`LOGGED_MESSAGE_CHARS`] characters and the
/// whole length when it is longer.
fn clipped(message: &str) -> std::borrow::Cow<'_, str> {
    match message.char_indices().nth(LOGGED_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}... ({} bytes)", &message[..cut], message.len()).into(),
        None => message.into(),
    }
}

/// A Keystone failure as Tacker reports it. An HTTP error answer is shown as keystoneauth's
/// text with the class default message (`Unauthorized (HTTP 401)`): the message Keystone put
/// in its body and the request id header are logged at debug, not sent, since the API client
/// chose the URL that answered.
fn keystone_failure(err: KeystoneError) -> VimError {
    let text = match &err {
        KeystoneError::Http { status, message } => {
            // The endpoint is the API client's choice: its message is logged, not whole.
            tracing::debug!(status, "VIM Keystone error answer: {}", clipped(message));
            tacker_keystone::status_error_text(*status)
        }
        other => other.to_string(),
    };
    if err.is_auth_failure() {
        tracing::error!("Authorization failed for user");
        VimError::VimUnauthorized(text)
    } else {
        VimError::Internal(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_keystone_message_is_logged_clipped() {
        assert_eq!(clipped("Invalid user"), "Invalid user");
        let long = "é".repeat(LOGGED_MESSAGE_CHARS + 10);
        let shown = clipped(&long);
        assert!(shown.starts_with(&"é".repeat(LOGGED_MESSAGE_CHARS)));
        assert!(shown.ends_with(&format!("... ({} bytes)", long.len())));
        assert_eq!(
            shown.chars().filter(|c| *c == 'é').count(),
            LOGGED_MESSAGE_CHARS
        );
    }

    #[test]
    fn cert_verify_is_not_a_plugin_argument_but_is_accepted() {
        let cred = json!({"username": "u", "password": "p", "cert_verify": "False"});
        password_auth(cred.as_object().unwrap()).unwrap();
    }

    #[test]
    fn unexpected_auth_cred_key_is_a_bad_request() {
        let cred = json!({"username": "u", "password": "p", "foo": 1});
        let err = password_auth(cred.as_object().unwrap()).unwrap_err();
        assert!(matches!(err, VimError::BadRequest(m) if m.contains("'foo'")));
    }
}
