//! The real authorization server: `tests/peers/authz/server.js` (oidc-provider 8.x) configured
//! like a Keycloak realm (`/realms/<realm>/protocol/openid-connect/{token,token/introspect}`),
//! with one client per client authentication method and a few special clients.

use std::path::PathBuf;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::conf::{ext_oauth2_section, ExtOAuth2Conf};
use crate::pki::{CertFiles, TestPki, CLIENT_CN};
use crate::process::{repo_root, wait_for_line, ChildGuard, DEFAULT_DEADLINE};
use crate::{PROJECT_ID, USER_ID};

/// The five client authentication methods of keystonemiddleware / Tacker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    ClientSecretJwt,
    TlsClientAuth,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 5] = [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::PrivateKeyJwt,
        AuthMethod::ClientSecretJwt,
        AuthMethod::TlsClientAuth,
    ];

    /// The `auth_method` option value.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::ClientSecretJwt => "client_secret_jwt",
            AuthMethod::TlsClientAuth => "tls_client_auth",
        }
    }

    /// The realm client registered with this method (it both gets tokens and introspects).
    pub fn client_id(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => RealmClient::BASIC,
            AuthMethod::ClientSecretPost => RealmClient::POST,
            AuthMethod::PrivateKeyJwt => RealmClient::PRIVATE_KEY_JWT,
            AuthMethod::ClientSecretJwt => RealmClient::SECRET_JWT,
            AuthMethod::TlsClientAuth => RealmClient::TLS,
        }
    }
}

impl std::fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Client ids of the default realm.
#[derive(Debug)]
pub struct RealmClient;

impl RealmClient {
    pub const BASIC: &'static str = "tacker_basic";
    pub const POST: &'static str = "tacker_post";
    pub const PRIVATE_KEY_JWT: &'static str = "tacker_private_key_jwt";
    pub const SECRET_JWT: &'static str = "tacker_secret_jwt";
    /// `tls_client_auth` with `tls_client_auth_subject_dn = CN=tacker_client`; its tokens are
    /// certificate-bound (`cnf.x5t#S256` in introspection).
    pub const TLS: &'static str = "tacker_tls";
    /// client_secret_basic, certificate-bound tokens (the guide's first sample).
    pub const BOUND_BASIC: &'static str = "tacker_bound_basic";
    /// client_secret_basic, tokens WITHOUT project/user claims (403 case).
    pub const NO_CLAIMS: &'static str = "tacker_noclaims";
    /// client_secret_basic, `user.roles` as a JSON list (Keycloak role mappers' shape).
    pub const ROLES_LIST: &'static str = "tacker_roles_list";
    /// client_secret_basic, non-admin roles `member,reader`.
    pub const MEMBER: &'static str = "tacker_member";
}

/// A realm client as `server.js` registers it.
#[derive(Clone, Debug)]
pub struct ClientSpec {
    pub client_id: String,
    pub auth_method: AuthMethod,
    pub client_secret: Option<String>,
    /// Key whose public half is the client's JWKS (private_key_jwt).
    pub jwks_key_file: Option<PathBuf>,
    pub tls_client_auth_subject_dn: Option<String>,
    /// RFC 8705 certificate-bound access tokens.
    pub certificate_bound: bool,
    /// Extra claims of the client's tokens (returned by introspection).
    pub claims: Option<Value>,
}

impl ClientSpec {
    fn to_json(&self) -> Value {
        json!({
            "client_id": self.client_id,
            "auth_method": self.auth_method.as_str(),
            "client_secret": self.client_secret,
            "jwks_key_file": self.jwks_key_file,
            "tls_client_auth_subject_dn": self.tls_client_auth_subject_dn,
            "certificate_bound": self.certificate_bound,
            "claims": self.claims,
        })
    }
}

/// The guide's introspection claims: `project{id,name,domain{id,name}}`,
/// `user{id,name,domain{id,name},roles}`.
pub fn guide_claims(roles: Value) -> Value {
    json!({
        "project": {
            "domain": {"name": "Default", "id": "default"},
            "name": "nfv",
            "id": PROJECT_ID,
        },
        "user": {
            "domain": {"name": "Default", "id": "default"},
            "roles": roles,
            "name": "nfv_user",
            "id": USER_ID,
        },
    })
}

fn secret_for(client_id: &str) -> String {
    // 32+ characters, like Keycloak's generated secrets; test-only values.
    format!("{client_id}-secret-0123456789abcdefghijklmnop")
}

fn default_clients(pki: &TestPki) -> Vec<ClientSpec> {
    let admin = guide_claims(json!("admin"));
    let base = |id: &str, method: AuthMethod| ClientSpec {
        client_id: id.to_owned(),
        auth_method: method,
        client_secret: None,
        jwks_key_file: None,
        tls_client_auth_subject_dn: None,
        certificate_bound: false,
        claims: Some(admin.clone()),
    };
    let with_secret = |mut c: ClientSpec| {
        c.client_secret = Some(secret_for(&c.client_id));
        c
    };
    vec![
        with_secret(base(RealmClient::BASIC, AuthMethod::ClientSecretBasic)),
        with_secret(base(RealmClient::POST, AuthMethod::ClientSecretPost)),
        ClientSpec {
            jwks_key_file: Some(pki.jwt_public_key.clone()),
            ..base(RealmClient::PRIVATE_KEY_JWT, AuthMethod::PrivateKeyJwt)
        },
        with_secret(base(RealmClient::SECRET_JWT, AuthMethod::ClientSecretJwt)),
        ClientSpec {
            tls_client_auth_subject_dn: Some(format!("CN={CLIENT_CN}")),
            certificate_bound: true,
            ..base(RealmClient::TLS, AuthMethod::TlsClientAuth)
        },
        ClientSpec {
            certificate_bound: true,
            ..with_secret(base(
                RealmClient::BOUND_BASIC,
                AuthMethod::ClientSecretBasic,
            ))
        },
        ClientSpec {
            claims: None,
            ..with_secret(base(RealmClient::NO_CLAIMS, AuthMethod::ClientSecretBasic))
        },
        ClientSpec {
            claims: Some(guide_claims(json!(["admin", "member"]))),
            ..with_secret(base(RealmClient::ROLES_LIST, AuthMethod::ClientSecretBasic))
        },
        ClientSpec {
            claims: Some(guide_claims(json!("member,reader"))),
            ..with_secret(base(RealmClient::MEMBER, AuthMethod::ClientSecretBasic))
        },
    ]
}

/// How to start the authorization server.
#[derive(Clone, Debug)]
pub struct AuthzOptions {
    pub realm: String,
    /// Also listen on plain HTTP (the guide's client_secret_post sample).
    pub http_listener: bool,
    /// Access token lifetime in seconds (Keycloak's default is 300).
    pub access_token_ttl: u64,
    /// Clients added to the default realm.
    pub extra_clients: Vec<ClientSpec>,
}

impl Default for AuthzOptions {
    fn default() -> Self {
        Self {
            realm: "testrealm".to_owned(),
            http_listener: true,
            access_token_ttl: 300,
            extra_clients: Vec::new(),
        }
    }
}

/// Counters kept by the test server (`GET /__test/stats`).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub struct AuthzStats {
    /// POSTs to the introspection endpoint.
    pub introspections: u64,
    /// POSTs to the token endpoint.
    pub token_requests: u64,
    pub revocations: u64,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    access_token: String,
}

/// A running authorization server; killed when dropped.
#[derive(Debug)]
pub struct AuthzServer {
    guard: Option<ChildGuard>,
    dir: tempfile::TempDir,
    config: Value,
    runs: u32,
    realm: String,
    https_port: u16,
    http_port: Option<u16>,
    clients: Vec<ClientSpec>,
    default_cert: CertFiles,
    jwt_key: PathBuf,
    http: reqwest::Client,
    pki_ca_pem: String,
}

impl AuthzServer {
    /// Starts `node tests/peers/authz/server.js` on loopback (free ports) with the default
    /// realm plus `opts.extra_clients`; returns once it printed its READY line.
    pub async fn start(pki: &TestPki, opts: AuthzOptions) -> Result<Self> {
        let root = repo_root();
        let peer = root.join("tests/peers/authz");
        if !peer.join("node_modules/oidc-provider").is_dir() {
            bail!(
                "oidc-provider is not installed in {}: run scripts/setup/authz.sh",
                peer.display()
            );
        }
        let dir = tempfile::Builder::new().prefix("tacker-authz-").tempdir()?;
        let mut clients = default_clients(pki);
        clients.extend(opts.extra_clients.iter().cloned());
        let config = json!({
            "realm": opts.realm,
            "host": "127.0.0.1",
            "https_port": 0,
            "http_port": if opts.http_listener { json!(0) } else { Value::Null },
            "tls": {
                "cert": pki.server.cert,
                "key": pki.server.key,
                "ca": pki.ca.cert,
            },
            "state_file": dir.path().join("store.json"),
            "access_token_ttl": opts.access_token_ttl,
            "clients": clients.iter().map(ClientSpec::to_json).collect::<Vec<_>>(),
        });
        let mut server = Self {
            guard: None,
            dir,
            config,
            runs: 0,
            realm: opts.realm.clone(),
            https_port: 0,
            http_port: None,
            clients,
            default_cert: pki.client.clone(),
            jwt_key: pki.jwt_key.clone(),
            http: pki.https_client(None),
            pki_ca_pem: pki.ca.cert_pem.clone(),
        };
        server.launch().await?;
        Ok(server)
    }

    async fn launch(&mut self) -> Result<()> {
        self.runs += 1;
        let config_path = self.dir.path().join("config.json");
        std::fs::write(&config_path, serde_json::to_vec_pretty(&self.config)?)?;
        let mut cmd = Command::new("node");
        cmd.arg("server.js")
            .arg(&config_path)
            .current_dir(repo_root().join("tests/peers/authz"));
        let log = self.dir.path().join(format!("authz-{}.log", self.runs));
        let mut guard = ChildGuard::spawn("authorization server", cmd, &log)?;
        let line = wait_for_line(&mut guard, "READY ", DEFAULT_DEADLINE).await?;
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .map(str::to_owned)
        };
        self.https_port = field("https")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| anyhow!("bad READY line {line:?}"))?;
        self.http_port = field("http").and_then(|p| p.parse().ok());
        // A restart must come back on the same ports (and issuer).
        self.config["https_port"] = json!(self.https_port);
        if let Some(p) = self.http_port {
            self.config["http_port"] = json!(p);
        }
        self.guard = Some(guard);
        Ok(())
    }

    /// Stops the server (SIGTERM, then SIGKILL); tokens it issued are kept on disk.
    pub fn stop(&mut self) {
        if let Some(mut guard) = self.guard.take() {
            guard.stop();
        }
    }

    /// Starts it again on the same ports, with the same issuer and the same issued tokens.
    pub async fn restart(&mut self) -> Result<()> {
        self.stop();
        self.launch().await
    }

    /// Whether the process is currently running.
    pub fn is_running(&self) -> bool {
        self.guard.is_some()
    }

    /// Log of the current (or last) run.
    pub fn log(&self) -> String {
        self.guard.as_ref().map(ChildGuard::log).unwrap_or_default()
    }

    pub fn https_port(&self) -> u16 {
        self.https_port
    }

    pub fn http_port(&self) -> Option<u16> {
        self.http_port
    }

    /// `https://127.0.0.1:<port>/realms/<realm>`: the issuer and keystonemiddleware's
    /// `audience`.
    pub fn issuer(&self) -> String {
        format!(
            "https://127.0.0.1:{}/realms/{}",
            self.https_port, self.realm
        )
    }

    /// The same realm over the plain HTTP listener, if enabled.
    pub fn http_realm_url(&self) -> Option<String> {
        self.http_port
            .map(|p| format!("http://127.0.0.1:{p}/realms/{}", self.realm))
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/protocol/openid-connect/token", self.issuer())
    }

    pub fn introspect_endpoint(&self) -> String {
        format!("{}/protocol/openid-connect/token/introspect", self.issuer())
    }

    pub fn revocation_endpoint(&self) -> String {
        format!("{}/protocol/openid-connect/revoke", self.issuer())
    }

    /// The realm's client `client_id` (panics if unknown: a test bug).
    pub fn client(&self, client_id: &str) -> &ClientSpec {
        self.clients
            .iter()
            .find(|c| c.client_id == client_id)
            .unwrap_or_else(|| panic!("no realm client {client_id}"))
    }

    /// The `[ext_oauth2_auth]` section of the guide's sample for `method`, against this server.
    pub fn ext_oauth2_conf(&self, method: AuthMethod, pki: &TestPki) -> ExtOAuth2Conf {
        ext_oauth2_section(self, method, pki)
    }

    /// A fresh access token (client credentials, `scope=openstack`) for the realm client of
    /// `method`.
    pub async fn token_for(&self, method: AuthMethod) -> Result<String> {
        self.token(method.client_id()).await
    }

    /// A fresh access token for `client_id`, authenticating with its method. Clients that
    /// need a certificate (tls_client_auth, certificate-bound) present the test client
    /// certificate.
    pub async fn token(&self, client_id: &str) -> Result<String> {
        self.token_with_cert(client_id, None).await
    }

    /// As `token`, presenting `cert` (for certificate-bound tokens bound to another
    /// certificate) instead of the default client certificate.
    pub async fn token_with_cert(
        &self,
        client_id: &str,
        cert: Option<&CertFiles>,
    ) -> Result<String> {
        let client = self.client(client_id).clone();
        let body = self
            .authenticated_post(
                &client,
                &self.token_endpoint(),
                &[("grant_type", "client_credentials"), ("scope", "openstack")],
                cert,
            )
            .await?;
        let token: TokenResponse = serde_json::from_str(&body)
            .with_context(|| format!("token response for {client_id}: {body}"))?;
        Ok(token.access_token)
    }

    /// RFC 7662 introspection of `token`, authenticated as `client_id`.
    pub async fn introspect(&self, client_id: &str, token: &str) -> Result<Value> {
        let client = self.client(client_id).clone();
        let body = self
            .authenticated_post(
                &client,
                &self.introspect_endpoint(),
                &[("token", token), ("token_type_hint", "access_token")],
                None,
            )
            .await?;
        Ok(serde_json::from_str(&body)?)
    }

    /// Revokes `token` whoever owns it (test endpoint; the RFC 7009 endpoint at
    /// `revocation_endpoint()` only lets the owning client revoke).
    pub async fn revoke(&self, token: &str) -> Result<()> {
        let resp = self
            .http
            .post(format!(
                "https://127.0.0.1:{}/__test/revoke",
                self.https_port
            ))
            .form(&[("token", token)])
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("revoke: {} {}", resp.status(), resp.text().await?);
        }
        Ok(())
    }

    /// Introspection / token request counters.
    pub async fn stats(&self) -> Result<AuthzStats> {
        let resp = self
            .http
            .get(format!(
                "https://127.0.0.1:{}/__test/stats",
                self.https_port
            ))
            .send()
            .await?
            .error_for_status()?;
        Ok(resp.json().await?)
    }

    /// Zeroes the counters.
    pub async fn reset_stats(&self) -> Result<()> {
        self.http
            .post(format!(
                "https://127.0.0.1:{}/__test/reset",
                self.https_port
            ))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// PEM of the CA the server's certificate chains to.
    pub fn ca_pem(&self) -> &str {
        &self.pki_ca_pem
    }

    async fn authenticated_post(
        &self,
        client: &ClientSpec,
        url: &str,
        params: &[(&str, &str)],
        cert: Option<&CertFiles>,
    ) -> Result<String> {
        let needs_cert =
            client.auth_method == AuthMethod::TlsClientAuth || client.certificate_bound;
        let identity = cert.or(needs_cert.then_some(&self.default_cert));
        let http = client_with(&self.pki_ca_pem, identity);
        let mut form: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut req = http.post(url);
        match client.auth_method {
            AuthMethod::ClientSecretBasic => {
                req = req.basic_auth(&client.client_id, client.client_secret.as_deref());
            }
            AuthMethod::ClientSecretPost => {
                form.push(("client_id".into(), client.client_id.clone()));
                form.push((
                    "client_secret".into(),
                    client.client_secret.clone().unwrap_or_default(),
                ));
            }
            AuthMethod::TlsClientAuth => {
                form.push(("client_id".into(), client.client_id.clone()));
            }
            AuthMethod::PrivateKeyJwt | AuthMethod::ClientSecretJwt => {
                form.push(("client_id".into(), client.client_id.clone()));
                form.push((
                    "client_assertion_type".into(),
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ));
                form.push(("client_assertion".into(), self.assertion(client)?));
            }
        }
        let resp = req
            .form(&form)
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            bail!("POST {url} as {}: {status} {text}", client.client_id);
        }
        Ok(text)
    }

    fn assertion(&self, client: &ClientSpec) -> Result<String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        // RFC 7523 §3: numeric iat/exp, iss = sub = client_id, aud = the issuer.
        let claims = json!({
            "jti": uuid::Uuid::new_v4().to_string(),
            "iat": now,
            "exp": now + 300,
            "iss": client.client_id,
            "sub": client.client_id,
            "aud": self.issuer(),
        });
        let (alg, key) = match client.auth_method {
            AuthMethod::PrivateKeyJwt => (
                jsonwebtoken::Algorithm::RS256,
                jsonwebtoken::EncodingKey::from_rsa_pem(&std::fs::read(&self.jwt_key)?)?,
            ),
            _ => (
                jsonwebtoken::Algorithm::HS256,
                jsonwebtoken::EncodingKey::from_secret(
                    client
                        .client_secret
                        .as_deref()
                        .unwrap_or_default()
                        .as_bytes(),
                ),
            ),
        };
        Ok(jsonwebtoken::encode(
            &jsonwebtoken::Header::new(alg),
            &claims,
            &key,
        )?)
    }
}

fn client_with(ca_pem: &str, identity: Option<&CertFiles>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("CA PEM"));
    if let Some(id) = identity {
        builder = builder.identity(id.identity());
    }
    builder.build().expect("reqwest client")
}
