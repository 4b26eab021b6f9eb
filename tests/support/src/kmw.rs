//! The reference resource server: keystonemiddleware 13.0.1's `external_oauth2_token` in front
//! of an echo app (`tests/peers/kmw/app.py`) under gunicorn, configured from the same
//! tacker.conf / api-paste.ini text as `tacker-server`.

use std::process::Command;

use anyhow::{bail, Result};

use crate::pki::TestPki;
use crate::process::{free_port, repo_root, wait_ready_http, ChildGuard, DEFAULT_DEADLINE};

/// How to start the reference.
#[derive(Clone, Debug, Default)]
pub struct KmwOptions {
    /// tacker.conf text; only `[ext_oauth2_auth]` matters.
    pub conf: String,
    /// Optional api-paste.ini text whose `[filter:external_oauth2_token]` keys override.
    pub paste: Option<String>,
    /// Serve HTTPS with the test server certificate, asking for (not requiring) a client
    /// certificate, which reaches the filter as `SSL_CLIENT_CERT` (thumbprint tests).
    pub tls: bool,
    /// keystonemiddleware at DEBUG in the log.
    pub debug: bool,
}

/// A running reference; killed (gunicorn master and workers) when dropped.
#[derive(Debug)]
pub struct KmwReference {
    guard: ChildGuard,
    _dir: tempfile::TempDir,
    base_url: String,
}

impl KmwReference {
    /// Starts gunicorn from `.venv/kmw` on a free loopback port and waits until it answers.
    pub async fn start(pki: &TestPki, opts: KmwOptions) -> Result<Self> {
        let root = repo_root();
        let gunicorn = root.join(".venv/kmw/bin/gunicorn");
        if !gunicorn.is_file() {
            bail!(
                "keystonemiddleware reference is not installed ({} missing): run scripts/setup/kmw.sh",
                gunicorn.display()
            );
        }
        let dir = tempfile::Builder::new().prefix("tacker-kmw-").tempdir()?;
        let conf = dir.path().join("tacker.conf");
        std::fs::write(&conf, &opts.conf)?;
        let port = free_port();
        let mut cmd = Command::new(&gunicorn);
        cmd.args(["--no-control-socket", "--workers", "1", "--threads", "8"])
            .args(["--timeout", "120", "--graceful-timeout", "2"])
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--chdir")
            .arg(root.join("tests/peers/kmw"))
            .env("KMW_CONFIG_FILE", &conf)
            .env("PYTHONDONTWRITEBYTECODE", "1");
        if let Some(paste) = &opts.paste {
            let path = dir.path().join("api-paste.ini");
            std::fs::write(&path, paste)?;
            cmd.env("KMW_PASTE_FILE", path);
        }
        if opts.debug {
            cmd.env("KMW_DEBUG", "1");
        }
        let scheme = if opts.tls {
            cmd.arg("--certfile")
                .arg(&pki.server.cert)
                .arg("--keyfile")
                .arg(&pki.server.key)
                .arg("--ca-certs")
                .arg(&pki.ca.cert)
                // ssl.CERT_OPTIONAL: ask for a client certificate, verify it if sent.
                .args(["--cert-reqs", "1"]);
            "https"
        } else {
            "http"
        };
        cmd.arg("app:application");
        let mut guard = ChildGuard::spawn(
            "keystonemiddleware reference",
            cmd,
            &dir.path().join("kmw.log"),
        )?;
        let base_url = format!("{scheme}://127.0.0.1:{port}");
        let probe = pki.https_client(None);
        wait_ready_http(
            &mut guard,
            &probe,
            &format!("{base_url}/"),
            DEFAULT_DEADLINE,
        )
        .await?;
        Ok(Self {
            guard,
            _dir: dir,
            base_url,
        })
    }

    /// `http(s)://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// gunicorn's and the filter's log.
    pub fn log(&self) -> String {
        self.guard.log()
    }
}

/// The memcached key keystonemiddleware 13.0.1 uses for `token`: plain mode without a
/// strategy, else `SecureTokenCache`'s with `(memcache_security_strategy, memcache_secret_key)`.
/// Computed by keystonemiddleware's own code (`tests/peers/kmw/memcache_vectors.py`).
pub fn upstream_cache_key(token: &str, secure: Option<(&str, &str)>) -> Result<String> {
    use std::io::Write;
    use std::process::Stdio;

    let root = repo_root();
    let python = root.join(".venv/kmw/bin/python");
    if !python.is_file() {
        bail!(
            "keystonemiddleware reference is not installed ({} missing): run scripts/setup/kmw.sh",
            python.display()
        );
    }
    let spec = match secure {
        None => serde_json::json!({ "token": token }),
        Some((strategy, secret)) => {
            serde_json::json!({ "token": token, "strategy": strategy, "secret": secret })
        }
    };
    let mut child = Command::new(python)
        .arg(root.join("tests/peers/kmw/memcache_vectors.py"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(serde_json::json!({ "keys": [spec] }).to_string().as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "memcache_vectors.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    match answer["keys"][0].as_str() {
        Some(key) => Ok(key.to_owned()),
        None => bail!("memcache_vectors.py gave no key: {answer}"),
    }
}
