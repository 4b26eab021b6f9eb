//! PostgreSQL for tests, two ways:
//!
//! * [`PgTestDb`]: a database of its own on the machine's PostgreSQL (CI starts the Debian
//!   package's cluster on 127.0.0.1:5432, `postgres` trusted), created through the admin URL
//!   (`TACKER_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`) and
//!   dropped on drop, sessions still using it included. Without a reachable server,
//!   [`PgTestDb::create`] says why and returns `None` (the test skips), except under `CI=true`.
//! * [`PgInstance`]: a PostgreSQL server of the test's own (`initdb` of the Debian package,
//!   `/usr/lib/postgresql/<version>/bin`) in a temporary directory on a free loopback port, that
//!   the test may stop and start again; the machine's shared server is never touched. Run as
//!   the `postgres` user when the test runs as root (PostgreSQL refuses root).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor};

use crate::process::{free_port, ChildGuard, DEFAULT_DEADLINE};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const CONNECT_DEADLINE: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(100);

/// The admin URL tests use to create and drop their databases on the shared server.
pub fn postgres_admin_url() -> String {
    std::env::var("TACKER_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// A fresh, empty database on the shared server, dropped on drop.
#[derive(Debug)]
pub struct PgTestDb {
    name: String,
    admin_url: String,
}

impl PgTestDb {
    /// Create a fresh database; `None` (after saying why) when PostgreSQL is unreachable
    /// outside CI.
    pub async fn create() -> Option<Self> {
        let admin_url = postgres_admin_url();
        let mut admin =
            match tokio::time::timeout(CONNECT_DEADLINE, PgConnection::connect(&admin_url)).await {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => return unreachable_db(&admin_url, &e.to_string()),
                Err(_) => return unreachable_db(&admin_url, "connect timed out"),
            };
        let name = format!("tacker_test_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .expect("CREATE DATABASE");
        let _ = admin.close().await;
        Some(Self { name, admin_url })
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The oslo.db URL of this database with the given scheme (`postgresql`, ...).
    pub fn url(&self, scheme: &str) -> String {
        let mut url = url::Url::parse(&self.admin_url).expect("admin URL");
        url.set_path(&format!("/{}", self.name));
        let rest = url
            .as_str()
            .split_once("://")
            .expect("URL with a scheme")
            .1
            .to_owned();
        format!("{scheme}://{rest}")
    }

    /// The number a `SELECT COUNT(*) ...` answers on this database.
    pub async fn count(&self, sql: &str) -> i64 {
        count(&self.url("postgres"), sql).await
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        // Drop may run inside the test's runtime (or while unwinding): the cleanup gets a
        // thread and runtime of its own.
        let (name, admin_url) = (self.name.clone(), self.admin_url.clone());
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(async {
                    let mut admin = PgConnection::connect(&admin_url).await?;
                    // FORCE: servers under test may still hold connections to it.
                    admin
                        .execute(
                            format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str(),
                        )
                        .await?;
                    admin.close().await
                })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// Outside CI a missing PostgreSQL skips the test; in CI (`CI=true`) it fails it.
fn unreachable_db<T>(admin_url: &str, why: &str) -> Option<T> {
    let shown = match url::Url::parse(admin_url) {
        Ok(mut u) => {
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => "the configured admin URL".to_owned(),
    };
    let msg = format!("PostgreSQL at {shown} is unreachable ({why})");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}; CI=true requires it");
    }
    eprintln!("skipping: {msg}");
    None
}

async fn count(url: &str, sql: &str) -> i64 {
    let mut conn = PgConnection::connect(url)
        .await
        .expect("connect to the test database");
    let n: i64 = sqlx::query_scalar(sql)
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
    n
}

/// A PostgreSQL server of the test's own; killed (its whole process group) when dropped.
#[derive(Debug)]
pub struct PgInstance {
    guard: Option<ChildGuard>,
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    runs: u32,
}

impl PgInstance {
    /// `initdb` (user `postgres`, trust on loopback) and start on `127.0.0.1:<free port>`;
    /// `None` (after saying why) when the PostgreSQL server package is not installed, except
    /// under `CI=true`, where it panics.
    pub async fn start() -> Result<Option<Self>> {
        let Some(bin) = server_bin_dir() else {
            let msg = "PostgreSQL's initdb is not installed (/usr/lib/postgresql/*/bin)";
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{msg}; CI=true requires it");
            }
            eprintln!("skipping: {msg}");
            return Ok(None);
        };
        let dir = tempfile::Builder::new()
            .prefix("tacker-postgres-")
            .tempdir()?;
        let mut me = Self {
            guard: None,
            dir,
            bin,
            port: free_port(),
            runs: 0,
        };
        if as_root() {
            // The server runs as `postgres`: it must own its directory.
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(me.dir.path())
                .status()
                .context("chown the data directory to postgres")?;
            if !status.success() {
                bail!("chown -R postgres {} failed", me.dir.path().display());
            }
        }
        let log = me.dir.path().join("initdb.log");
        let mut initdb = me.command("initdb");
        initdb
            .arg("-D")
            .arg(me.data_dir())
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdout(std::fs::File::create(&log)?)
            .stderr(std::fs::File::create(me.dir.path().join("initdb.err"))?);
        let status = initdb.status().context("run initdb")?;
        if !status.success() {
            bail!(
                "initdb failed ({status}): {}",
                std::fs::read_to_string(me.dir.path().join("initdb.err")).unwrap_or_default()
            );
        }
        me.spawn().await?;
        Ok(Some(me))
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The oslo.db URL of database `db` on this server, as user `postgres`.
    pub fn url(&self, scheme: &str, db: &str) -> String {
        format!("{scheme}://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// `CREATE DATABASE db`.
    pub async fn create_database(&self, db: &str) -> Result<()> {
        let mut conn = PgConnection::connect(&self.url("postgres", "postgres")).await?;
        conn.execute(format!("CREATE DATABASE \"{db}\"").as_str())
            .await?;
        let _ = conn.close().await;
        Ok(())
    }

    /// The number a `SELECT COUNT(*) ...` answers on database `db`.
    pub async fn count(&self, db: &str, sql: &str) -> i64 {
        count(&self.url("postgres", db), sql).await
    }

    /// Fast shutdown (SIGINT: sessions are ended, as `pg_ctl stop -m fast`), waiting for the
    /// server to exit; SIGKILL to its group if it does not within the deadline.
    pub async fn stop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        let _ = guard.signal("INT");
        let until = Instant::now() + Duration::from_secs(20);
        while guard.exit_status().is_none() && Instant::now() < until {
            tokio::time::sleep(POLL).await;
        }
        guard.stop();
    }

    /// Starts it again on the same port, with the same data.
    pub async fn restart(&mut self) -> Result<()> {
        self.stop().await;
        self.spawn().await
    }

    /// Everything the current server process logged.
    pub fn log(&self) -> String {
        self.guard.as_ref().map(ChildGuard::log).unwrap_or_default()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `name` of the server's bin directory, as `postgres` when running as root.
    fn command(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if as_root() {
            let mut cmd = Command::new("setpriv");
            cmd.args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--",
            ])
            .arg(program);
            cmd
        } else {
            Command::new(program)
        }
    }

    async fn spawn(&mut self) -> Result<()> {
        self.runs += 1;
        let log = self.dir.path().join(format!("postgres-{}.log", self.runs));
        // The log is written by the test (root), not by the server: created here.
        std::fs::File::create(&log)?;
        let mut cmd = self.command("postgres");
        cmd.arg("-D")
            .arg(self.data_dir())
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(self.dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=60",
            ]);
        let mut guard = ChildGuard::spawn("postgres", cmd, &log)?;
        let until = Instant::now() + DEFAULT_DEADLINE;
        let url = self.url("postgres", "postgres");
        loop {
            guard.ensure_running()?;
            let probe = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&url));
            if let Ok(Ok(conn)) = probe.await {
                let _ = conn.close().await;
                break;
            }
            if Instant::now() >= until {
                bail!(
                    "postgres did not accept connections on port {} within {DEFAULT_DEADLINE:?}: {}",
                    self.port,
                    guard.log()
                );
            }
            tokio::time::sleep(POLL).await;
        }
        self.guard = Some(guard);
        Ok(())
    }
}

impl Drop for PgInstance {
    fn drop(&mut self) {
        if let Some(mut guard) = self.guard.take() {
            guard.stop();
        }
    }
}

fn as_root() -> bool {
    // The effective uid, without libc: `id -u` is what the shell would say.
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has `initdb`.
fn server_bin_dir() -> Option<PathBuf> {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}
