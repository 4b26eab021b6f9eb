//! Throw-away databases on the MySQL / MariaDB server of the machine (CI starts MariaDB from
//! the Debian package on 127.0.0.1:3306, `root` without a password).
//!
//! Each [`MySqlTestDb`] is a database of its own, `tacker_test_<uuid>`, created through the
//! admin URL (`TACKER_TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306/`) and dropped
//! when the value is dropped, passed or failed, after ending the sessions still using it.
//! Without a reachable server, [`MySqlTestDb::create`] says why and returns `None` (the test
//! skips), except under `CI=true`, where it panics.

use std::time::Duration;

use sqlx::mysql::MySqlConnection;
use sqlx::{Connection, Executor};

const DEFAULT_ADMIN_URL: &str = "mysql://root@127.0.0.1:3306/";
const CONNECT_DEADLINE: Duration = Duration::from_secs(10);

/// The admin URL tests use to create and drop their databases.
pub fn mysql_admin_url() -> String {
    std::env::var("TACKER_TEST_MYSQL_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// A fresh, empty database, dropped on drop.
#[derive(Debug)]
pub struct MySqlTestDb {
    name: String,
    admin_url: String,
}

impl MySqlTestDb {
    /// Create a fresh database; `None` (after saying why) when MySQL is unreachable outside CI.
    pub async fn create() -> Option<Self> {
        let admin_url = mysql_admin_url();
        let mut admin = match tokio::time::timeout(
            CONNECT_DEADLINE,
            MySqlConnection::connect(&admin_url),
        )
        .await
        {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return unreachable_db(&admin_url, &e.to_string()),
            Err(_) => return unreachable_db(&admin_url, "connect timed out"),
        };
        let name = format!("tacker_test_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute(format!("CREATE DATABASE `{name}`").as_str())
            .await
            .expect("CREATE DATABASE");
        let _ = admin.close().await;
        Some(Self { name, admin_url })
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The oslo.db URL of this database with the given scheme (`mysql+pymysql`, `mysql`,
    /// `mariadb`, ...).
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

    /// A connection to this database, for inspecting what the servers wrote.
    pub async fn connect(&self) -> MySqlConnection {
        MySqlConnection::connect(&self.url("mysql"))
            .await
            .expect("connect to the test database")
    }

    /// Run `sql` (one or more statements) on this database.
    pub async fn execute(&self, sql: &str) {
        let mut conn = self.connect().await;
        conn.execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = conn.close().await;
    }

    /// The number a `SELECT COUNT(*) ...` answers.
    pub async fn count(&self, sql: &str) -> i64 {
        let mut conn = self.connect().await;
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = conn.close().await;
        n
    }

    /// `SHOW CREATE TABLE` of every table, by name.
    pub async fn table_definitions(&self) -> Vec<(String, String)> {
        let mut conn = self.connect().await;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT CONVERT(table_name USING utf8mb4) FROM information_schema.tables \
             WHERE table_schema = DATABASE() ORDER BY table_name",
        )
        .fetch_all(&mut conn)
        .await
        .expect("list tables");
        let mut out = Vec::new();
        for table in tables {
            let definition: (String, String) =
                sqlx::query_as(&format!("SHOW CREATE TABLE `{table}`"))
                    .fetch_one(&mut conn)
                    .await
                    .expect("SHOW CREATE TABLE");
            out.push((table, definition.1));
        }
        let _ = conn.close().await;
        out
    }
}

impl Drop for MySqlTestDb {
    fn drop(&mut self) {
        // Drop may run inside the test's runtime (or while unwinding from a failed assert):
        // the cleanup gets a thread and runtime of its own.
        let (name, admin_url) = (self.name.clone(), self.admin_url.clone());
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(async {
                    let mut admin = MySqlConnection::connect(&admin_url).await?;
                    // End the sessions still on the database (pools of servers under test),
                    // as PostgreSQL's DROP DATABASE ... WITH (FORCE) does.
                    let sessions: Vec<i64> = sqlx::query_scalar(
                        "SELECT id FROM information_schema.processlist WHERE db = ? \
                         AND id <> CONNECTION_ID()",
                    )
                    .bind(&name)
                    .fetch_all(&mut admin)
                    .await?;
                    for id in sessions {
                        // Already gone is fine.
                        let _ = admin.execute(format!("KILL {id}").as_str()).await;
                    }
                    admin
                        .execute(format!("DROP DATABASE IF EXISTS `{name}`").as_str())
                        .await?;
                    admin.close().await
                })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!(
                "could not drop test database {}: cleanup panicked",
                self.name
            ),
        }
    }
}

/// Outside CI a missing MySQL skips the test; in CI (`CI=true`) it fails it.
fn unreachable_db<T>(admin_url: &str, why: &str) -> Option<T> {
    // The admin URL may carry a password: show it without.
    let shown = match url::Url::parse(admin_url) {
        Ok(mut u) => {
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => "the configured admin URL".to_owned(),
    };
    let msg = format!(
        "MySQL at {shown} is unreachable ({why}); start MariaDB \
         (start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd) or set \
         TACKER_TEST_MYSQL_URL"
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}; CI=true requires it");
    }
    eprintln!("skipping: {msg}");
    None
}
