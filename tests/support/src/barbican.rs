//! Real Barbican 23.0.0 (`tests/peers/barbican`, installed by `scripts/setup/barbican.sh`).

use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use base64::Engine as _;

use crate::{free_port, repo_root, wait_ready_http, AuthMethod, AuthzServer, ChildGuard, TestPki};

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
        // A Fernet key (32 random bytes, URL-safe base64), as simple_crypto's KEK must be.
        let random: Vec<u8> = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()]
            .iter()
            .flat_map(|u| *u.as_bytes())
            .collect();
        let kek = base64::engine::general_purpose::URL_SAFE.encode(random);
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
