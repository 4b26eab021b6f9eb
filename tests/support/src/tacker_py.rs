//! Real Python Tacker 16.0.0 (`scripts/setup/tacker.sh`, `.venv/tacker`): its API server
//! (`tacker-server`, `auth_strategy = noauth`, the wheel's own api-paste.ini) on a free
//! loopback port, `tacker-db-manage`, and Tacker's own decryption of a VIM's credentials
//! (`tests/peers/tacker/vim_auth.py`). Each instance has its own tacker.conf and state
//! directory; the database and the VIM key directory are the caller's, so that it can share
//! them with `tacker-server` under test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::process::{free_port, repo_root, wait_ready_http, ChildGuard};

/// Python Tacker imports a large tree (heat-translator, kubernetes, glance_store, ...) before
/// it listens; on a loaded machine that takes a while.
pub const PYTHON_TACKER_DEADLINE: Duration = Duration::from_secs(180);
/// The line of `vim_auth.py` that carries its answer (its log lines come before).
const VIM_AUTH_PREFIX: &str = "vim_auth: ";
/// Bound of one `tacker-db-manage` run (a full `upgrade head` on MariaDB takes ~20 s).
const DB_MANAGE_DEADLINE: Duration = Duration::from_secs(300);

/// `.venv/tacker`, or an error naming the setup script.
pub fn tacker_venv() -> Result<PathBuf> {
    let venv = repo_root().join(".venv/tacker");
    if !venv.join("bin/tacker-server").is_file() {
        bail!(
            "Python Tacker is not installed ({} missing): run scripts/setup/tacker.sh",
            venv.join("bin/tacker-server").display()
        );
    }
    Ok(venv)
}

/// The tacker.conf Python Tacker runs with: noauth, one API process, every state path inside
/// `state_dir`, the given database and VIM key directory.
fn python_conf(venv: &Path, state_dir: &Path, db_url: &str, key_dir: &Path, port: u16) -> String {
    let state = state_dir.display();
    format!(
        "[DEFAULT]\n\
         auth_strategy = noauth\n\
         bind_host = 127.0.0.1\n\
         bind_port = {port}\n\
         api_paste_config = {paste}\n\
         api_workers = 1\n\
         state_path = {state}\n\
         debug = False\n\
         [database]\n\
         connection = {db_url}\n\
         [vim_keys]\n\
         openstack = {keys}\n\
         [glance_store]\n\
         filesystem_store_datadir = {state}/images\n\
         [vnf_package]\n\
         vnf_package_csar_path = {state}/csar\n\
         [oslo_concurrency]\n\
         lock_path = {state}/lock\n",
        paste = venv.join("etc/tacker/api-paste.ini").display(),
        keys = key_dir.display(),
    )
}

/// Runs `cmd` to its end within `deadline` (killed otherwise); its combined output.
async fn run_bounded(name: &str, cmd: Command, deadline: Duration) -> Result<String> {
    let dir = tempfile::Builder::new()
        .prefix("tacker-py-run-")
        .tempdir()?;
    let mut guard = ChildGuard::spawn(name, cmd, &dir.path().join("output.log"))?;
    let until = std::time::Instant::now() + deadline;
    let status = loop {
        if let Some(status) = guard.exit_status() {
            break status;
        }
        if std::time::Instant::now() >= until {
            bail!(
                "{name} did not finish within {deadline:?}; its output:\n{}",
                guard.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let output = guard.log();
    if !status.success() {
        bail!("{name} failed with {status}; its output:\n{output}");
    }
    Ok(output)
}

/// Runs `tacker-db-manage --config-file <conf> <args>` against `db_url` (an oslo.db
/// `mysql+pymysql://` URL); returns its combined output, or an error with it.
pub async fn tacker_db_manage(db_url: &str, args: &[&str]) -> Result<String> {
    let venv = tacker_venv()?;
    let dir = tempfile::Builder::new()
        .prefix("tacker-db-manage-")
        .tempdir()?;
    let conf = dir.path().join("tacker.conf");
    std::fs::write(
        &conf,
        python_conf(&venv, dir.path(), db_url, dir.path(), free_port()),
    )?;
    let mut cmd = Command::new(venv.join("bin/tacker-db-manage"));
    cmd.arg("--config-file")
        .arg(&conf)
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    run_bounded(
        &format!("tacker-db-manage {}", args.join(" ")),
        cmd,
        DB_MANAGE_DEADLINE,
    )
    .await
}

/// A running Python Tacker API server; stopped (process group) when dropped.
#[derive(Debug)]
pub struct PythonTacker {
    guard: ChildGuard,
    dir: tempfile::TempDir,
    base_url: String,
    conf_path: PathBuf,
}

impl PythonTacker {
    /// Starts Python Tacker's API on `db_url` (the schema must exist: `tacker-db-manage
    /// upgrade head`) with VIM keys in `key_dir`, and waits until `GET /` answers.
    pub async fn start(db_url: &str, key_dir: &Path) -> Result<Self> {
        let venv = tacker_venv()?;
        let dir = tempfile::Builder::new().prefix("tacker-py-").tempdir()?;
        let port = free_port();
        let conf_path = dir.path().join("tacker.conf");
        std::fs::write(
            &conf_path,
            python_conf(&venv, dir.path(), db_url, key_dir, port),
        )?;
        let mut cmd = Command::new(venv.join("bin/tacker-server"));
        cmd.arg("--config-file")
            .arg(&conf_path)
            .current_dir(dir.path())
            .env("PYTHONDONTWRITEBYTECODE", "1");
        let mut guard = ChildGuard::spawn("Python Tacker", cmd, &dir.path().join("tacker-py.log"))?;
        let base_url = format!("http://127.0.0.1:{port}");
        let probe = reqwest::Client::new();
        wait_ready_http(
            &mut guard,
            &probe,
            &format!("{base_url}/"),
            PYTHON_TACKER_DEADLINE,
        )
        .await?;
        Ok(Self {
            guard,
            dir,
            base_url,
            conf_path,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The tacker.conf it runs with.
    pub fn conf_path(&self) -> &Path {
        &self.conf_path
    }

    /// Its state directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        self.guard.log()
    }

    /// The VIM's credentials as Python Tacker decrypts them for a VNF operation
    /// (`tacker.vnfm.vim_client.VimClient.get_vim`): the `vim_auth` object, secrets in
    /// plain text. Runs in a process of its own with this instance's tacker.conf.
    pub async fn decrypted_vim_auth(&self, vim_id: &str) -> Result<Value> {
        let venv = tacker_venv()?;
        let script = repo_root().join("tests/peers/tacker/vim_auth.py");
        let mut cmd = Command::new(venv.join("bin/python"));
        cmd.arg(&script)
            .arg(&self.conf_path)
            .arg(vim_id)
            .current_dir(self.dir.path())
            .env("PYTHONDONTWRITEBYTECODE", "1");
        let output = run_bounded("vim_auth.py", cmd, PYTHON_TACKER_DEADLINE).await?;
        let line = output
            .lines()
            .find_map(|l| l.strip_prefix(VIM_AUTH_PREFIX))
            .with_context(|| {
                format!("vim_auth.py printed no {VIM_AUTH_PREFIX:?} line:\n{output}")
            })?;
        serde_json::from_str(line).with_context(|| format!("vim_auth.py printed {line:?}"))
    }

    /// Stops the server and waits for it to exit.
    pub fn stop(&mut self) {
        self.guard.stop();
    }
}
