//! A memcached of the test's own: Debian's packaged binary (`scripts/setup/debian-packages.sh`)
//! on a free loopback port, stopped by pid, restartable on the same port, with raw access to
//! its items (as bytes plus client flags) so tests can look at or plant what the filter reads.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use memcache::exp::{AsyncMetaClient, Meta, Ttl};

use crate::process::{free_port, ChildGuard, DEFAULT_DEADLINE};

const BINARY: &str = "/usr/bin/memcached";
const POLL: Duration = Duration::from_millis(50);

/// A running memcached; killed when dropped.
#[derive(Debug)]
pub struct Memcached {
    guard: Option<ChildGuard>,
    dir: tempfile::TempDir,
    port: u16,
    runs: u32,
}

impl Memcached {
    /// Starts `memcached` on `127.0.0.1:<free port>` (TCP only, 64 MB) and waits until it
    /// answers.
    pub async fn start() -> Result<Self> {
        if !Path::new(BINARY).is_file() {
            bail!("memcached is not installed ({BINARY} missing): run scripts/setup/debian-packages.sh");
        }
        let mut me = Self {
            guard: None,
            dir: tempfile::Builder::new()
                .prefix("tacker-memcached-")
                .tempdir()?,
            port: free_port(),
            runs: 0,
        };
        me.spawn().await?;
        Ok(me)
    }

    /// `127.0.0.1:<port>`, as `memcached_servers` takes it.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Stops the process (SIGTERM to its group, then SIGKILL); its items are gone.
    pub fn stop(&mut self) {
        if let Some(mut guard) = self.guard.take() {
            guard.stop();
        }
    }

    /// Starts it again, empty, on the same port.
    pub async fn restart(&mut self) -> Result<()> {
        self.stop();
        self.spawn().await
    }

    /// Whether the process is running.
    pub fn is_running(&self) -> bool {
        self.guard.is_some()
    }

    /// Everything the current process wrote.
    pub fn log(&self) -> String {
        self.guard.as_ref().map(ChildGuard::log).unwrap_or_default()
    }

    /// The raw item under `key`: its bytes and client flags.
    pub async fn get_raw(&self, key: &str) -> Result<Option<(Vec<u8>, u32)>> {
        let got = self.client().await?.get(key).send().await?;
        let (hit, flags) = (got.hit(), got.client_flags.unwrap_or(0));
        Ok(got.value.filter(|_| hit).map(|v| (v, flags)))
    }

    /// Seconds the item under `key` has left (`-1`: no expiry), `None` without an item.
    pub async fn ttl(&self, key: &str) -> Result<Option<i64>> {
        let got = self
            .client()
            .await?
            .get(key)
            .meta(Meta::NONE.ttl())
            .without_value()
            .send()
            .await?;
        Ok(got.item.ttl.filter(|_| got.hit()))
    }

    /// Stores `value` under `key` with client flags 0, without expiry.
    pub async fn set_raw(&self, key: &str, value: &[u8]) -> Result<()> {
        let result = self
            .client()
            .await?
            .set(key, value)
            .ttl(Ttl::NEVER)
            .send()
            .await?;
        if !result.applied() {
            bail!("memcached did not store {key}");
        }
        Ok(())
    }

    async fn client(&self) -> Result<AsyncMetaClient> {
        Ok(AsyncMetaClient::builder()
            .connect_timeout(Some(Duration::from_secs(5)))
            .io_timeout(Some(Duration::from_secs(5)))
            .connect_async(self.address())
            .await?)
    }

    async fn spawn(&mut self) -> Result<()> {
        self.runs += 1;
        let log: PathBuf = self.dir.path().join(format!("memcached-{}.log", self.runs));
        let mut cmd = Command::new(BINARY);
        cmd.args(["-l", "127.0.0.1", "-U", "0", "-m", "64", "-t", "2", "-v"])
            .arg("-p")
            .arg(self.port.to_string())
            // memcached refuses to run as root without -u; as another user it ignores -u.
            .args(["-u", "root"]);
        let mut guard = ChildGuard::spawn("memcached", cmd, &log)?;
        let until = Instant::now() + DEFAULT_DEADLINE;
        loop {
            guard.ensure_running()?;
            let probe = async {
                self.client()
                    .await?
                    .noop()
                    .await
                    .map_err(anyhow::Error::from)
            };
            match tokio::time::timeout(Duration::from_secs(5), probe).await {
                Ok(Ok(())) => break,
                Ok(Err(_)) | Err(_) if Instant::now() < until => tokio::time::sleep(POLL).await,
                Ok(Err(e)) => {
                    return Err(e).with_context(|| {
                        format!(
                            "memcached did not answer on {}: {}",
                            self.address(),
                            guard.log()
                        )
                    })
                }
                Err(_) => bail!(
                    "memcached did not answer on {}: {}",
                    self.address(),
                    guard.log()
                ),
            }
        }
        self.guard = Some(guard);
        Ok(())
    }
}
