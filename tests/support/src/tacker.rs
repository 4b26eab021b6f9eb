//! The `tacker-server` binary under test, started with a temporary config directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::process::{free_port, wait_ready_http, ChildGuard, DEFAULT_DEADLINE};

/// How to start `tacker-server`.
#[derive(Clone, Debug, Default)]
pub struct TackerOptions {
    /// tacker.conf text. `[DEFAULT] bind_host`, `bind_port` and `api_paste_config`, and
    /// `[database] connection` are filled in when absent (loopback, a free port, the paste
    /// file below, a SQLite file in the temporary directory).
    pub conf: String,
    /// api-paste.ini to use (e.g. `etc/api-paste-external-oauth2.ini` of the repository).
    pub paste_path: Option<PathBuf>,
    /// api-paste.ini text, written to the temporary directory (alternative to `paste_path`).
    pub paste_text: Option<String>,
    /// The binary; default `tacker_server_binary()`. Integration tests of the server crate
    /// pass `env!("CARGO_BIN_EXE_tacker-server")`.
    pub binary: Option<PathBuf>,
    /// `RUST_LOG` for the child (default `info`).
    pub rust_log: Option<String>,
    /// Client used to poll readiness (`GET /`); default a plain client that also accepts
    /// the test CA's certificates without verification (HTTPS listeners). Pass one with a
    /// client certificate when the listener requires it.
    pub ready_client: Option<reqwest::Client>,
}

/// A running `tacker-server`; killed when dropped.
#[derive(Debug)]
pub struct TackerServer {
    guard: ChildGuard,
    dir: tempfile::TempDir,
    base_url: String,
    port: u16,
    conf_path: PathBuf,
}

/// Locates the `tacker-server` binary: `$TACKER_SERVER_BIN`, else `tacker-server` in the cargo
/// profile directory of the running test executable (`target/<profile>/deps/..`).
pub fn tacker_server_binary() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("TACKER_SERVER_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent();
    while let Some(d) = dir {
        let candidate = d.join("tacker-server");
        if candidate.is_file() {
            return Ok(candidate);
        }
        dir = d.parent();
        if d.file_name().is_some_and(|n| n == "target") {
            break;
        }
    }
    bail!(
        "tacker-server binary not found next to {} (build it: cargo build -p tacker-server)",
        exe.display()
    )
}

impl TackerServer {
    /// `start_with` for the common case: conf text and a paste file path.
    pub async fn start(conf: &str, paste_path: &Path) -> Result<Self> {
        Self::start_with(TackerOptions {
            conf: conf.to_owned(),
            paste_path: Some(paste_path.to_owned()),
            ..TackerOptions::default()
        })
        .await
    }

    /// Starts the binary with `--config-file <tmp>/tacker.conf` and waits until `GET /`
    /// answers.
    pub async fn start_with(opts: TackerOptions) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("tacker-server-")
            .tempdir()?;
        let paste = match (&opts.paste_path, &opts.paste_text) {
            (_, Some(text)) => {
                let p = dir.path().join("api-paste.ini");
                std::fs::write(&p, text)?;
                Some(p)
            }
            (Some(p), None) => Some(
                p.canonicalize()
                    .with_context(|| format!("{}", p.display()))?,
            ),
            (None, None) => None,
        };
        let port = match ini_get(&opts.conf, "DEFAULT", "bind_port") {
            Some(p) => p.parse().context("bind_port in the given conf")?,
            None => free_port(),
        };
        let mut conf = opts.conf.clone();
        conf = ini_default(&conf, "DEFAULT", "bind_host", "127.0.0.1");
        conf = ini_default(&conf, "DEFAULT", "bind_port", &port.to_string());
        if let Some(p) = &paste {
            conf = ini_default(
                &conf,
                "DEFAULT",
                "api_paste_config",
                &p.display().to_string(),
            );
        }
        let db = dir.path().join("tacker.db");
        conf = ini_default(
            &conf,
            "database",
            "connection",
            &format!("sqlite:///{}", db.display()),
        );
        let keys = dir.path().join("fernet_keys");
        std::fs::create_dir_all(&keys)?;
        conf = ini_default(&conf, "vim_keys", "openstack", &keys.display().to_string());
        let conf_path = dir.path().join("tacker.conf");
        std::fs::write(&conf_path, &conf)?;

        let tls = ini_get(&conf, "DEFAULT", "use_ssl").is_some_and(|v| {
            matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on")
        });
        let scheme = if tls { "https" } else { "http" };
        let host = ini_get(&conf, "DEFAULT", "bind_host").unwrap_or_else(|| "127.0.0.1".into());
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        };
        let base_url = format!("{scheme}://{host}:{port}");

        let binary = match &opts.binary {
            Some(b) => b.clone(),
            None => tacker_server_binary()?,
        };
        let mut cmd = Command::new(&binary);
        cmd.arg("--config-file")
            .arg(&conf_path)
            .current_dir(dir.path())
            .env("RUST_LOG", opts.rust_log.as_deref().unwrap_or("info"))
            .env("NO_COLOR", "1");
        let mut guard =
            ChildGuard::spawn("tacker-server", cmd, &dir.path().join("tacker-server.log"))?;
        let probe = match opts.ready_client {
            Some(c) => c,
            None => reqwest::Client::builder()
                .danger_accept_invalid_certs(true)
                .build()?,
        };
        wait_ready_http(
            &mut guard,
            &probe,
            &format!("{base_url}/"),
            DEFAULT_DEADLINE,
        )
        .await?;
        Ok(Self {
            guard,
            dir,
            base_url,
            port,
            conf_path,
        })
    }

    /// `http(s)://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The generated tacker.conf.
    pub fn conf_path(&self) -> &Path {
        &self.conf_path
    }

    /// The temporary directory (config, SQLite database, Fernet keys, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn pid(&self) -> u32 {
        self.guard.pid()
    }

    /// Everything the server logged so far (stdout and stderr).
    pub fn log(&self) -> String {
        self.guard.log()
    }

    /// Sends a signal (`"HUP"`, `"TERM"`, ...) to the server process.
    pub fn signal(&self, signal: &str) -> Result<()> {
        self.guard.signal(signal)
    }

    /// Stops the server and waits for it to exit.
    pub fn stop(&mut self) {
        self.guard.stop();
    }

    /// `Some(status)` once the process has exited.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.guard.exit_status()
    }
}

/// Value of `key` in `[section]` of INI `text` (first occurrence; `=` or `:` separators).
pub fn ini_get(text: &str, section: &str, key: &str) -> Option<String> {
    let mut current = String::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            current = name.trim().to_owned();
            continue;
        }
        if current != section || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if let Some((k, v)) = t.split_once(['=', ':']) {
            if k.trim() == key {
                return Some(v.trim().to_owned());
            }
        }
    }
    None
}

/// `text` with `key = value` added to `[section]` unless the key is already there (the section
/// is created at the end if missing).
pub(crate) fn ini_default(text: &str, section: &str, key: &str, value: &str) -> String {
    if ini_get(text, section, key).is_some() {
        return text.to_owned();
    }
    let header = format!("[{section}]");
    let mut out = String::new();
    let mut inserted = false;
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
        if !inserted && line.trim() == header {
            out.push_str(&format!("{key} = {value}\n"));
            inserted = true;
        }
    }
    if !inserted {
        out.push_str(&format!("\n{header}\n{key} = {value}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_default_inserts_into_existing_section_and_keeps_given_values() {
        let text = "[DEFAULT]\nbind_port = 9\n[ext_oauth2_auth]\na = b\n";
        let out = ini_default(text, "DEFAULT", "bind_host", "127.0.0.1");
        assert_eq!(
            ini_get(&out, "DEFAULT", "bind_host").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(ini_get(&out, "ext_oauth2_auth", "bind_host"), None);
        let same = ini_default(&out, "DEFAULT", "bind_port", "1");
        assert_eq!(ini_get(&same, "DEFAULT", "bind_port").as_deref(), Some("9"));
        let db = ini_default(&same, "database", "connection", "sqlite://");
        assert_eq!(
            ini_get(&db, "database", "connection").as_deref(),
            Some("sqlite://")
        );
    }
}
