//! Child processes, loopback ports and readiness polling.

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// How long a peer may take to become ready before the test fails.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

const POLL: Duration = Duration::from_millis(50);
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A free TCP port on 127.0.0.1 (bound to port 0, then released).
///
/// Prefer letting the peer bind port 0 itself and report the port; this is for peers that
/// cannot (gunicorn, `tacker-server`'s `bind_port`).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// A child process that is terminated, with its whole process group, when dropped.
///
/// Standard output and error go to a log file, so a failing test can show what the peer said
/// (`log()`) and nothing blocks on a full pipe.
#[derive(Debug)]
pub struct ChildGuard {
    name: String,
    child: Option<Child>,
    pid: u32,
    log: PathBuf,
}

impl ChildGuard {
    /// Spawns `cmd` in a new process group with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Self> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("{name}: open log {}", log.display()))?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .process_group(0);
        let child = cmd
            .spawn()
            .with_context(|| format!("{name}: spawn {:?}", cmd.get_program()))?;
        let pid = child.id();
        tracing::debug!(name, pid, "spawned");
        Ok(Self {
            name: name.to_owned(),
            child: Some(child),
            pid,
            log: log.to_owned(),
        })
    }

    /// Process id (also the process group id).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Path of the combined stdout/stderr log.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Everything the process has written so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `Some(status)` once the process has exited.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Error out with the log if the process is gone.
    pub fn ensure_running(&mut self) -> Result<()> {
        if let Some(status) = self.exit_status() {
            bail!(
                "{} (pid {}) exited with {status} before it was ready; its log:\n{}",
                self.name,
                self.pid,
                self.log()
            );
        }
        Ok(())
    }

    /// Sends `signal` (a `kill` signal name such as `HUP`) to the process only.
    pub fn signal(&self, signal: &str) -> Result<()> {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid.to_string())
            .status()
            .context("run kill")?;
        if !status.success() {
            bail!("kill -{signal} {} failed", self.pid);
        }
        Ok(())
    }

    /// SIGTERM to the process group, then SIGKILL after a grace period; waits for the exit.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(Some(_))) {
            kill_group(self.pid, "KILL");
            return;
        }
        kill_group(self.pid, "TERM");
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                // Reap stragglers of the group (gunicorn workers) too.
                kill_group(self.pid, "KILL");
                return;
            }
            std::thread::sleep(POLL);
        }
        kill_group(self.pid, "KILL");
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

fn kill_group(pgid: u32, signal: &str) {
    // `kill -SIG -- -PGID` signals the group this guard created (process_group(0)).
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(format!("-{pgid}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Polls the guard's log until a line starting with `prefix` appears; returns that line.
pub async fn wait_for_line(
    guard: &mut ChildGuard,
    prefix: &str,
    deadline: Duration,
) -> Result<String> {
    let until = Instant::now() + deadline;
    loop {
        if let Some(line) = guard.log().lines().find(|l| l.starts_with(prefix)) {
            return Ok(line.to_owned());
        }
        guard.ensure_running()?;
        if Instant::now() >= until {
            bail!(
                "{} did not print {prefix:?} within {deadline:?}; its log:\n{}",
                guard.name,
                guard.log()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Polls `url` with `client` until any HTTP response arrives (any status counts: the peer
/// is listening and answering).
pub async fn wait_ready_http(
    guard: &mut ChildGuard,
    client: &reqwest::Client,
    url: &str,
    deadline: Duration,
) -> Result<()> {
    let until = Instant::now() + deadline;
    loop {
        let attempt = client.get(url).timeout(Duration::from_secs(5)).send().await;
        match attempt {
            Ok(_) => return Ok(()),
            Err(err) => {
                guard.ensure_running()?;
                if Instant::now() >= until {
                    bail!(
                        "{} did not answer {url} within {deadline:?} (last error: {err}); its log:\n{}",
                        guard.name,
                        guard.log()
                    );
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}
