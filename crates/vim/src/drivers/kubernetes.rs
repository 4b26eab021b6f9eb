//! The Kubernetes VIM driver (`kubernetes_driver.py`, `kubernetes_utils.py`,
//! `oidc_utils.py`; spec §2.7): `GET {auth_url}/api/` and `/api/v1/namespaces` with a bearer
//! token, basic auth or an OIDC password-grant id token; namespaces become
//! `placement_attr.regions`; password, bearer token, CA certificate and client secret are
//! encrypted with one new Fernet key.

use async_trait::async_trait;
use base64::Engine as _;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};

use std::sync::Arc;

use super::endpoints::EndpointPolicy;
use super::http::{self, Tls};
use super::keys::KeyStore;
use super::VimDriver;
use crate::model::Vim;
use crate::vault::{CommitTurn, FernetKey, StagedKey};
use crate::VimError;
use tacker_common::py::{error_chain, none_from_string, py_str, truthy};

/// `oidc_utils.get_id_token_with_password_grant(timeout=20)`.
const OIDC_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// `type: kubernetes`.
pub struct KubernetesDriver {
    keys: KeyStore,
    endpoints: Arc<EndpointPolicy>,
}

impl KubernetesDriver {
    pub(crate) fn new(keys: KeyStore, endpoints: Arc<EndpointPolicy>) -> Self {
        Self { keys, endpoints }
    }
}

#[async_trait]
impl VimDriver for KubernetesDriver {
    async fn register(&self, vim: &mut Vim) -> Result<StagedKey, VimError> {
        vim.auth_cred.shift_remove("key_type");
        vim.auth_cred.shift_remove("secret_uuid");
        check_extra_field(vim)?;
        self.keys.check_ready()?;

        // _get_auth_creds: the API URL joins the credentials (persisted), and a credential
        // set without username and password gets the string "None" and a null password.
        vim.auth_cred
            .insert("auth_url".to_owned(), Value::String(vim.auth_url.clone()));
        if !vim.auth_cred.contains_key("username") && !vim.auth_cred.contains_key("password") {
            vim.auth_cred
                .insert("username".to_owned(), Value::from("None"));
            vim.auth_cred.insert("password".to_owned(), Value::Null);
        }

        let api = KubernetesApi::connect(&vim.auth_url, &vim.auth_cred, &self.endpoints).await?;
        // authenticate_vim: only this first call's failure is "unauthorized".
        api.get_api_versions().await?;
        let namespaces = api.list_namespaces().await?;
        vim.placement_attr = Some(json!({ "regions": namespaces }));

        let staged = encode_vim_auth(vim, &self.keys).await?;
        // A client-supplied id_token is used once and never stored.
        vim.auth_cred.shift_remove("id_token");
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
            .decrypt(&vim.id, &vim.auth_cred, false, tokens)
            .await
    }

    async fn deregister(&self, vim: &Vim) -> Result<(), VimError> {
        self.delete_vim_auth(vim).await
    }

    async fn delete_vim_auth(&self, vim: &Vim) -> Result<(), VimError> {
        // Upstream deletes only a Barbican secret; a file key exists here only with
        // `[k8s_vim] use_barbican = False` (the extension) and is removed the same way.
        self.keys.delete(&vim.id, &vim.auth_cred, false).await
    }
}

/// `_check_extra_field`: Helm needs the CA certificate.
fn check_extra_field(vim: &Vim) -> Result<(), VimError> {
    let use_helm = vim.extra.get("use_helm").is_some_and(truthy);
    let has_ca = vim.auth_cred.get("ssl_ca_cert").is_some_and(truthy);
    if use_helm && !has_ca {
        let message = "If you want to register kubernetes vim with helm, please set ssl_ca_cert.";
        tracing::error!("{message}");
        return Err(VimError::VimUnauthorized(message.to_owned()));
    }
    Ok(())
}

/// `create_ca_cert_tmp_file`'s clean-up of a PEM that lost its newlines in transit: every
/// whitespace becomes a newline, except inside the BEGIN/END CERTIFICATE markers.
fn normalise_pem(ca_cert: &str) -> String {
    let lines: String = ca_cert
        .chars()
        .map(|c| if c.is_whitespace() { '\n' } else { c })
        .collect();
    lines
        .replace("BEGIN\nCERT", "BEGIN CERT")
        .replace("END\nCERT", "END CERT")
}

/// The CA certificates of `ssl_ca_cert`, the only roots trusted for this VIM.
fn ca_roots(ca_cert: &str) -> Result<Vec<reqwest::Certificate>, VimError> {
    let pem = normalise_pem(ca_cert);
    let invalid = |detail: String| {
        tracing::error!("VIM Kubernetes authentication is wrong.");
        VimError::VimUnauthorized(format!(
            "ssl_ca_cert is not a usable PEM CA certificate: {detail}"
        ))
    };
    let roots = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
        .map_err(|e| invalid(error_chain(&e)))?;
    if roots.is_empty() {
        return Err(invalid("no certificate found".to_owned()));
    }
    Ok(roots)
}

/// The Kubernetes API as the `kubernetes` Python client would call it with the credentials
/// `kubernetes_utils.get_k8s_client` builds.
struct KubernetesApi {
    client: reqwest::Client,
    endpoints: Arc<EndpointPolicy>,
    base: String,
    /// Marked sensitive: never printed by `Debug` or traces.
    authorization: Option<HeaderValue>,
}

impl KubernetesApi {
    async fn connect(
        auth_url: &str,
        cred: &Map<String, Value>,
        endpoints: &Arc<EndpointPolicy>,
    ) -> Result<Self, VimError> {
        let unauthorized = |message: String| {
            tracing::error!("VIM Kubernetes authentication is wrong.");
            VimError::VimUnauthorized(message)
        };
        let ca = none_from_string(cred.get("ssl_ca_cert"));
        let tls = || -> Result<Tls, VimError> {
            Ok(match ca {
                Some(ca) => Tls::OnlyRoots(ca_roots(ca)?),
                None => Tls::Insecure,
            })
        };
        let oidc_https = cred
            .get("oidc_token_url")
            .and_then(Value::as_str)
            .is_some_and(|u| u.starts_with("https"));
        if ca.is_none() && oidc_https {
            tracing::warn!(
                "Kubernetes VIM has no ssl_ca_cert: the OIDC token endpoint's TLS certificate is not verified (as upstream)"
            );
        }
        if ca.is_none() && auth_url.starts_with("https") {
            tracing::warn!(
                auth_url,
                "Kubernetes VIM has no ssl_ca_cert: its TLS certificate is not verified (as upstream)"
            );
        }
        let client = http::client(tls()?, http::REQUEST_TIMEOUT, endpoints)
            .map_err(|e| unauthorized(error_chain(&e)))?;

        let authorization = if cred.contains_key("oidc_token_url") {
            let id_token = match cred.get("id_token") {
                Some(token) => SecretString::from(py_str(token)),
                None => {
                    let oidc_client = http::client(tls()?, OIDC_TIMEOUT, endpoints)
                        .map_err(|e| unauthorized(error_chain(&e)))?;
                    id_token_with_password_grant(&oidc_client, endpoints, cred)
                        .await
                        .map_err(|detail| {
                            unauthorized(format!(
                                "OIDC authentication and authorization failed. Detail: {detail}"
                            ))
                        })?
                }
            };
            Some(SecretString::from(format!(
                "Bearer {}",
                id_token.expose_secret()
            )))
        } else {
            let mut authorization = None;
            if let (Some(username), Some(password)) = (cred.get("username"), cred.get("password")) {
                if !password.is_null() {
                    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
                        "{}:{}",
                        py_str(username),
                        py_str(password)
                    ));
                    authorization = Some(SecretString::from(format!("Basic {basic}")));
                }
            }
            if let Some(token) = cred.get("bearer_token") {
                authorization = Some(SecretString::from(format!("Bearer {}", py_str(token))));
            }
            authorization
        };
        let authorization = authorization
            .map(|value| {
                let mut header = HeaderValue::from_str(value.expose_secret()).map_err(|_| {
                    unauthorized(
                        "the credentials contain characters not allowed in an HTTP header"
                            .to_owned(),
                    )
                })?;
                header.set_sensitive(true);
                Ok::<_, VimError>(header)
            })
            .transpose()?;
        Ok(Self {
            client,
            endpoints: endpoints.clone(),
            base: auth_url.trim_end_matches('/').to_owned(),
            authorization,
        })
    }

    /// GET `<auth_url><path>`; a request that got no answer yields the urllib3-like text.
    async fn get(&self, path: &str) -> Result<reqwest::Response, String> {
        let url = format!("{}{path}", self.base);
        if let Err(reason) = self.endpoints.check_url(&url) {
            return Err(match reqwest::Url::parse(&url) {
                Ok(parsed) => http::k8s_refused(&parsed, &reason),
                Err(_) => reason,
            });
        }
        let mut request = self
            .client
            .get(&url)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(authorization) = &self.authorization {
            request = request.header(reqwest::header::AUTHORIZATION, authorization.clone());
        }
        request
            .send()
            .await
            .map_err(|e| match reqwest::Url::parse(&url) {
                Ok(parsed) => http::k8s_transport_error(&parsed, &e),
                Err(_) => error_chain(&e),
            })
    }

    /// `CoreApi.get_api_versions()`; every failure is `VimUnauthorizedException` with the
    /// client's exception text.
    async fn get_api_versions(&self) -> Result<(), VimError> {
        let unauthorized = |message: String| {
            tracing::error!("VIM Kubernetes authentication is wrong.");
            VimError::VimUnauthorized(message)
        };
        let resp = self.get("/api/").await.map_err(unauthorized)?;
        if !resp.status().is_success() {
            return Err(unauthorized(http::k8s_api_exception(resp).await));
        }
        Ok(())
    }

    /// `CoreV1Api.list_namespace()` → the names. Upstream does not catch its failures, so
    /// they are internal errors (500 with the generic text).
    async fn list_namespaces(&self) -> Result<Vec<Value>, VimError> {
        let resp = self
            .get("/api/v1/namespaces")
            .await
            .map_err(VimError::Internal)?;
        if !resp.status().is_success() {
            return Err(VimError::Internal(http::k8s_api_exception(resp).await));
        }
        let body = tacker_keystone::read_body(resp, tacker_keystone::BODY_LIMIT)
            .await
            .map_err(|e| VimError::Internal(format!("namespace list: {e}")))?;
        let list: Value = serde_json::from_slice(&body)
            .map_err(|e| VimError::Internal(format!("namespace list: {e}")))?;
        let items = list.get("items").and_then(Value::as_array).ok_or_else(|| {
            VimError::Internal("Invalid value for `items`, must not be `None`".to_owned())
        })?;
        Ok(items
            .iter()
            .map(|ns| ns.pointer("/metadata/name").cloned().unwrap_or(Value::Null))
            .collect())
    }
}

/// `oidc_utils.get_id_token_with_password_grant`; the error is the `Detail:` text.
async fn id_token_with_password_grant(
    client: &reqwest::Client,
    endpoints: &EndpointPolicy,
    cred: &Map<String, Value>,
) -> Result<SecretString, String> {
    let field = |k: &str| cred.get(k).filter(|v| truthy(v)).map(py_str);
    let (Some(token_url), Some(username), Some(password), Some(client_id)) = (
        field("oidc_token_url"),
        field("username"),
        field("password"),
        field("client_id"),
    ) else {
        return Err("token_endpoint, username, password, client_id can not be empty.".to_owned());
    };
    endpoints.check_url(&token_url)?;
    let password = SecretString::from(password);
    // requests leaves out form fields whose value is None.
    let mut form: Vec<(&str, String)> = vec![
        ("grant_type", "password".to_owned()),
        ("scope", "openid".to_owned()),
        ("client_id", client_id),
    ];
    if let Some(secret) = cred.get("client_secret").filter(|v| !v.is_null()) {
        form.push(("client_secret", py_str(secret)));
    }
    form.push(("username", username));
    form.push(("password", password.expose_secret().to_owned()));
    let resp = client
        .post(&token_url)
        .form(&form)
        .send()
        .await
        .map_err(|e| error_chain(&e))?;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
    if status != reqwest::StatusCode::OK || !is_json {
        // Upstream adds `, body: <the answer>`; the body is logged at debug instead.
        http::log_error_answer(resp).await;
        return Err(format!("response code: {}", status.as_u16()));
    }
    let body = tacker_keystone::read_body(resp, tacker_keystone::BODY_LIMIT)
        .await
        .map_err(|e| match e {
            tacker_keystone::BodyError::Transport(e) => error_chain(&e),
            too_large => too_large.to_string(),
        })?;
    let json: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    match json.get("id_token") {
        Some(Value::String(token)) => Ok(SecretString::from(token.as_str())),
        _ => Err("the token response has no id_token".to_owned()),
    }
}

/// `encode_vim_auth`: one new key encrypts every secret present; the key is stored last.
async fn encode_vim_auth(vim: &mut Vim, keys: &KeyStore) -> Result<StagedKey, VimError> {
    let key = FernetKey::generate();
    let encrypt = |name: &str, value: &Value| -> Result<Value, VimError> {
        match value {
            Value::String(s) => Ok(Value::String(key.encrypt(s.as_bytes()))),
            // Upstream crashes encrypting a non-string secret; a client error.
            _ => Err(VimError::BadRequest(format!(
                "Invalid input for auth_cred. Reason: {name} must be a string."
            ))),
        }
    };
    let cred = &mut vim.auth_cred;
    let password = match cred.get("password") {
        Some(Value::Null) | None => None,
        Some(p) => Some(encrypt("password", p)?),
    };
    // Upstream crashes on a null bearer_token / client_secret (`None.encode`); a null is
    // simply left as it is here.
    for name in ["bearer_token", "client_secret"] {
        if let Some(value) = cred.get(name).filter(|v| !v.is_null()) {
            let token = encrypt(name, value)?;
            cred.insert(name.to_owned(), token);
        }
    }
    if let Some(ca) = none_from_string(cred.get("ssl_ca_cert")) {
        let token = Value::String(key.encrypt(ca.as_bytes()));
        cred.insert("ssl_ca_cert".to_owned(), token);
    }
    let staged = keys.store(&vim.id, &key, cred).await?;
    // The password lives in its own column (`vimauths.password`), as upstream's DB layer pops it.
    cred.shift_remove("password");
    vim.password = password.and_then(|p| p.as_str().map(str::to_owned));
    Ok(staged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_whitespace_is_repaired() {
        let flat = "-----BEGIN CERTIFICATE----- QUJD REVG -----END CERTIFICATE-----";
        assert_eq!(
            normalise_pem(flat),
            "-----BEGIN CERTIFICATE-----\nQUJD\nREVG\n-----END CERTIFICATE-----"
        );
    }
}
