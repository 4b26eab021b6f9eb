//! Shared helpers of the outbound tests: INI sections, a manual clock, and the real Barbican
//! launcher (`tests/peers/barbican`, installed by `scripts/setup/barbican.sh`).
#![allow(dead_code)]

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tacker_common::config::Section;
use tacker_oauth2_client::{Clock, SystemClock};
use tacker_outbound::{BarbicanKeyManager, KeyManagerOptions, ServiceAuth, TokenSource};
use tacker_test_support::{
    free_port, repo_root, wait_ready_http, AuthMethod, AuthzServer, ChildGuard, TestPki,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// An `[ext_oauth2_auth]`-named section from pairs (origin `tacker.conf`).
pub fn section(pairs: &[(&str, &str)]) -> Section {
    named_section("ext_oauth2_auth", pairs)
}

pub fn named_section(name: &str, pairs: &[(&str, &str)]) -> Section {
    let mut s = Section::new(name);
    for (k, v) in pairs {
        s.set(*k, *v, "tacker.conf");
    }
    s
}

/// A clock tests move by hand.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<Mutex<f64>>);

impl ManualClock {
    pub fn new(start: f64) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    pub fn advance(&self, seconds: f64) {
        *self.0.lock().unwrap() += seconds;
    }
}

impl Clock for ManualClock {
    fn now_unix(&self) -> f64 {
        *self.0.lock().unwrap()
    }
}

/// Barbican may take a while to create its SQLite schema on a loaded machine.
const BARBICAN_DEADLINE: Duration = Duration::from_secs(240);

/// Real Barbican 23.0.0 under gunicorn (one worker, one thread: SQLite), SQLite database,
/// `simple_crypto` with a generated KEK, `/v1` behind keystonemiddleware's
/// `external_oauth2_token` introspecting at `authz` as the realm's client_secret_basic
/// client. Killed (process group) when dropped.
#[derive(Debug)]
pub struct BarbicanServer {
    guard: Option<ChildGuard>,
    dir: tempfile::TempDir,
    port: u16,
    runs: u32,
}

impl BarbicanServer {
    pub async fn start(authz: &AuthzServer, pki: &TestPki) -> Result<Self> {
        let gunicorn = repo_root().join(".venv/barbican/bin/gunicorn");
        if !gunicorn.is_file() {
            bail!(
                "Barbican is not installed ({} missing): run scripts/setup/barbican.sh",
                gunicorn.display()
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("tacker-barbican-")
            .tempdir()?;
        let port = free_port();
        // A Fernet key, as simple_crypto's KEK must be.
        let kek = tacker_vim::vault::FernetKey::generate().to_base64();
        let kek = secrecy::ExposeSecret::expose_secret(&kek).to_owned();
        let filter = authz
            .ext_oauth2_conf(AuthMethod::ClientSecretBasic, pki)
            // Every token is introspected: a revoked token is refused at once.
            .set("token_cache_time", "-1")
            .to_section();
        let conf = format!(
            "[DEFAULT]\n\
             db_auto_create = True\n\
             host_href = http://127.0.0.1:{port}\n\
             [database]\n\
             connection = sqlite:///{db}\n\
             [secretstore]\n\
             enabled_secretstore_plugins = store_crypto\n\
             [crypto]\n\
             enabled_crypto_plugins = simple_crypto\n\
             [simple_crypto_plugin]\n\
             kek = {kek}\n\
             [oslo_policy]\n\
             # The realm's clients carry the role `admin` (legacy rule admin_or_creator).\n\
             enforce_new_defaults = False\n\
             enforce_scope = False\n\
             {filter}",
            db = dir.path().join("barbican.sqlite").display(),
        );
        std::fs::write(dir.path().join("barbican.conf"), conf)?;
        let mut server = Self {
            guard: None,
            dir,
            port,
            runs: 0,
        };
        server.launch().await?;
        Ok(server)
    }

    async fn launch(&mut self) -> Result<()> {
        self.runs += 1;
        let root = repo_root();
        let mut cmd = Command::new(root.join(".venv/barbican/bin/gunicorn"));
        cmd.args(["--no-control-socket", "--workers", "1", "--threads", "1"])
            .args(["--timeout", "120", "--graceful-timeout", "2"])
            .arg("--bind")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--chdir")
            .arg(root.join("tests/peers/barbican"))
            .env(
                "BARBICAN_CONFIG_FILE",
                self.dir.path().join("barbican.conf"),
            )
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .arg("app:application");
        let log = self.dir.path().join(format!("barbican-{}.log", self.runs));
        let mut guard = ChildGuard::spawn("barbican", cmd, &log)?;
        let probe = reqwest::Client::new();
        wait_ready_http(
            &mut guard,
            &probe,
            &format!("{}/", self.endpoint()),
            BARBICAN_DEADLINE,
        )
        .await?;
        self.guard = Some(guard);
        Ok(())
    }

    /// `[key_manager] barbican_endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stop it (the database stays).
    pub fn stop(&mut self) {
        if let Some(mut guard) = self.guard.take() {
            guard.stop();
        }
    }

    /// Start it again on the same port with the same database.
    pub async fn restart(&mut self) -> Result<()> {
        self.stop();
        self.launch().await
    }

    pub fn log(&self) -> String {
        self.guard.as_ref().map(ChildGuard::log).unwrap_or_default()
    }

    /// The secret's payload as Barbican returns it to another client of the realm, or `None`
    /// when Barbican says 404.
    pub async fn payload(&self, authz: &AuthzServer, uuid: &str) -> Result<Option<Vec<u8>>> {
        let token = authz.token_for(AuthMethod::ClientSecretBasic).await?;
        let resp = reqwest::Client::new()
            .get(format!("{}/v1/secrets/{uuid}/payload", self.endpoint()))
            .bearer_auth(token)
            .header("Accept", "application/octet-stream")
            .send()
            .await
            .context("GET payload")?;
        match resp.status().as_u16() {
            200 => Ok(Some(resp.bytes().await?.to_vec())),
            404 => Ok(None),
            s => bail!(
                "GET payload: {s} {}; barbican log:\n{}",
                resp.text().await?,
                self.log()
            ),
        }
    }
}

/// A Fernet key and a Barbican secret uuid used as fixtures.
pub const KEY: &str = "Vo2bQ8v1v7N0b1j3S7m5Qyq1hM2pU7yG3cZ9rK4tX0E=";
pub const UUID: &str = "d152fa13-2b41-42ca-a934-6c21566c0f40";

pub async fn authz_issuing(tokens: &[&str]) -> MockServer {
    let server = MockServer::start().await;
    let tokens: Vec<String> = tokens.iter().map(|t| t.to_string()).collect();
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(move |_: &Request| {
            let i = n
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                .min(tokens.len() - 1);
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"access_token": tokens[i], "expires_in": 300}))
        })
        .mount(&server)
        .await;
    server
}

pub fn token_source(authz: &MockServer) -> TokenSource {
    TokenSource::new(
        &section(&[
            ("use_ext_oauth2_auth", "True"),
            ("token_endpoint", &format!("{}/token", authz.uri())),
            ("scope", "openstack"),
            ("client_id", "tacker_client"),
            ("client_secret", "client-secret-value"),
        ]),
        Arc::new(SystemClock),
    )
    .unwrap()
}

pub fn manager(endpoint: Option<String>, auth: ServiceAuth) -> BarbicanKeyManager {
    let options = KeyManagerOptions::from_section(&named_section(
        "key_manager",
        &[("barbican_endpoint", endpoint.as_deref().unwrap_or(""))],
    ));
    BarbicanKeyManager::new(options, auth).unwrap()
}

pub fn external(barbican: &MockServer, authz: &MockServer) -> BarbicanKeyManager {
    // A trailing '/' on the endpoint is stripped, as upstream.
    manager(
        Some(format!("{}/", barbican.uri())),
        ServiceAuth::ExtOAuth2(token_source(authz)),
    )
}
