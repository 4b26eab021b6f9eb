//! `VimStore` contract tests on a real PostgreSQL (the shared cases in `store_contract`), plus
//! the oslo.db PostgreSQL URL forms and the legacy `vnf` in-use check.
//!
//! Each test gets its own database `tacker_test_<uuid>`, created through the admin URL
//! (`TACKER_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`) and dropped
//! by a guard when the test ends, passed or failed; tests run in parallel and leave nothing
//! behind. Without a reachable server the tests skip with a message, except under `CI=true`,
//! where they fail.

#[macro_use]
mod store_contract;

use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};
use store_contract::{now, vim};
use tacker_vim::{connect, connect_with, PoolOptions, Scope, VimStore};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const CONNECT_DEADLINE: Duration = Duration::from_secs(10);

fn admin_url() -> String {
    std::env::var("TACKER_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// A throw-away database, dropped (with any connection still open to it) on drop.
struct TestDb {
    name: String,
    admin_url: String,
}

impl TestDb {
    /// Create a fresh database; `None` (after saying why) when PostgreSQL is unreachable
    /// outside CI.
    async fn create() -> Option<Self> {
        let admin_url = admin_url();
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
            .unwrap();
        admin.close().await.unwrap();
        Some(Self { name, admin_url })
    }

    /// The oslo.db URL of this database with the given scheme (`postgresql`, ...).
    fn url(&self, scheme: &str) -> String {
        let mut url = url::Url::parse(&self.admin_url).unwrap();
        url.set_path(&format!("/{}", self.name));
        let rest = url.as_str().split_once("://").unwrap().1.to_owned();
        format!("{scheme}://{rest}")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop may run inside the test's runtime (or while unwinding from a failed assert):
        // the cleanup gets a thread and runtime of its own.
        let (name, admin_url) = (self.name.clone(), self.admin_url.clone());
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    let mut admin = PgConnection::connect(&admin_url).await?;
                    // FORCE: the store's pool may still hold connections to it.
                    admin
                        .execute(
                            format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str(),
                        )
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

/// Outside CI a missing PostgreSQL skips the test; in CI (`CI=true`) it fails it.
fn unreachable_db<T>(admin_url: &str, why: &str) -> Option<T> {
    // The admin URL may carry a password: show it without.
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

/// Pool bounds of the tests: tests run in parallel against one server whose
/// `max_connections` (100 by default) oslo.db's default 5 + 50 per store would exhaust.
fn test_pool() -> PoolOptions {
    PoolOptions {
        max_connections: 10,
        ..PoolOptions::default()
    }
}

/// A fresh store on its own database, opened through `connect_with` as the server does.
async fn pg_store() -> Option<(TestDb, Arc<dyn VimStore>)> {
    let db = TestDb::create().await?;
    let store = connect_with(&db.url("postgresql"), &test_pool())
        .await
        .unwrap();
    Some((db, store))
}

/// Replicas started at the same instant on an empty database: the migrations run under
/// sqlx's `pg_advisory_lock`, so every store comes up, each migration is applied once, and
/// they all see one another's rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stores_started_together_on_an_empty_database_all_come_up() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let url = db.url("postgresql");
    let pool = PoolOptions {
        max_connections: 2,
        ..PoolOptions::default()
    };
    let started = futures_join_all((0..4).map(|_| {
        let (url, pool) = (url.clone(), pool.clone());
        async move { connect_with(&url, &pool).await }
    }))
    .await;
    let stores: Vec<Arc<dyn VimStore>> = started
        .into_iter()
        .map(|s| s.expect("every replica comes up"))
        .collect();
    for (i, store) in stores.iter().enumerate() {
        store
            .create(&vim("t1", &format!("vim-{i}"), false))
            .await
            .unwrap();
    }
    for store in &stores {
        assert_eq!(store.list(&Scope::All, &[]).await.unwrap().len(), 4);
    }
    let mut conn = PgConnection::connect(&db.url("postgres")).await.unwrap();
    let (applied, distinct): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT version) FROM _sqlx_migrations")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(applied, distinct, "each migration applied once");
    assert!(applied > 0);
    conn.close().await.unwrap();
}

/// All the futures, run concurrently (tokio tasks, so they start at the same instant).
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

contract_tests!(pg_store);

#[tokio::test]
async fn connect_accepts_driver_and_short_schemes_and_migrations_are_idempotent() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let v = vim("t1", "a", false);
    {
        let store = connect(&db.url("postgresql+psycopg2")).await.unwrap();
        store.create(&v).await.unwrap();
    }
    // A second start on the same database re-runs nothing and sees the data.
    let store = connect(&db.url("postgres")).await.unwrap();
    assert!(store.get(&v.id, &Scope::All).await.unwrap().is_some());
}

#[tokio::test]
async fn in_use_sees_live_legacy_vnf_rows() {
    let Some((db, store)) = pg_store().await else {
        return;
    };
    let v = vim("t1", "a", false);
    store.create(&v).await.unwrap();
    // Tacker's legacy `vnf` table, as a database shared with Tacker has it.
    let mut conn = PgConnection::connect(&db.url("postgres")).await.unwrap();
    conn.execute(
        "CREATE TABLE vnf (id VARCHAR(36) PRIMARY KEY, tenant_id VARCHAR(64), \
         vim_id VARCHAR(36), deleted_at TIMESTAMP NOT NULL DEFAULT '0001-01-01 00:00:00')",
    )
    .await
    .unwrap();
    assert!(!store.in_use(&v.id, &Scope::All).await.unwrap());
    sqlx::query("INSERT INTO vnf (id, tenant_id, vim_id) VALUES ('vnf1', 't1', $1)")
        .bind(&v.id)
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(store.in_use(&v.id, &Scope::All).await.unwrap());
    assert!(store
        .in_use(&v.id, &Scope::Tenant("t1".into()))
        .await
        .unwrap());
    assert!(!store
        .in_use(&v.id, &Scope::Tenant("t2".into()))
        .await
        .unwrap());
    // A deleted VNF no longer holds the VIM.
    sqlx::query("UPDATE vnf SET deleted_at = $1")
        .bind(now())
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(!store.in_use(&v.id, &Scope::All).await.unwrap());
    conn.close().await.unwrap();
}

#[tokio::test]
async fn connect_errors_never_show_the_password() {
    // A database that does not exist: the server answers at once (an unreachable port would
    // be retried for the whole acquire timeout).
    let Some(db) = TestDb::create().await else {
        return;
    };
    let mut url = url::Url::parse(&db.url("postgresql")).unwrap();
    url.set_password(Some("s3cretpw")).unwrap();
    url.set_path(&format!("/{}_missing", db.name));
    let err = match connect(url.as_str()).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("connected to {}_missing", db.name),
    };
    assert!(!err.contains("s3cretpw"), "{err}");
    assert!(err.contains(&format!("{}_missing", db.name)), "{err}");
}

#[tokio::test]
async fn test_database_is_dropped_at_the_end() {
    let Some((db, store)) = pg_store().await else {
        return;
    };
    store.create(&vim("t1", "a", false)).await.unwrap();
    let name = db.name.clone();
    drop(db);
    let mut admin = PgConnection::connect(&admin_url()).await.unwrap();
    let left: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut admin)
        .await
        .unwrap();
    assert_eq!(left, None, "{name} was left behind");
    admin.close().await.unwrap();
}
