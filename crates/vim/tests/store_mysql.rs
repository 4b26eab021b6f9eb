//! `VimStore` contract tests on a real MySQL / MariaDB (the shared cases in `store_contract`),
//! plus what is MySQL's own: Tacker's schema created on an empty database and stamped for
//! alembic, an existing database used as it is (or refused at an unknown revision), rows in
//! Tacker's stored form, the oslo.db URL forms and the legacy `vnf` in-use check.
//!
//! Each test gets its own database (`tacker_test_support::MySqlTestDb`, dropped at the end).
//! Without a reachable server the tests skip with a message, except under `CI=true`.

#[macro_use]
mod store_contract;

use std::sync::Arc;

use sqlx::mysql::MySqlConnection;
use sqlx::{Connection, Executor, Row};
use store_contract::{now, vim};
use tacker_test_support::MySqlTestDb;
use tacker_vim::store::TACKER_HEAD;
use tacker_vim::{connect, Scope, VimStore};

/// A fresh store on its own empty database, opened through `connect` as the server does.
async fn mysql_store() -> Option<(MySqlTestDb, Arc<dyn VimStore>)> {
    let db = MySqlTestDb::create().await?;
    let store = connect(&db.url("mysql+pymysql")).await.unwrap();
    Some((db, store))
}

contract_tests!(mysql_store);

async fn tables(conn: &mut MySqlConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT CONVERT(table_name USING utf8mb4) FROM information_schema.tables \
         WHERE table_schema = DATABASE() ORDER BY table_name",
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

async fn revisions(conn: &mut MySqlConnection) -> Vec<String> {
    sqlx::query_scalar("SELECT CONVERT(version_num USING utf8mb4) FROM alembic_version")
        .fetch_all(conn)
        .await
        .unwrap()
}

fn connect_error(result: Result<Arc<dyn VimStore>, tacker_vim::VimError>) -> String {
    match result {
        Err(e) => e.to_string(),
        Ok(_) => panic!("connect succeeded"),
    }
}

#[tokio::test]
async fn empty_database_gets_tackers_schema_stamped_at_head_and_is_reused() {
    let Some(db) = MySqlTestDb::create().await else {
        return;
    };
    let v = vim("t1", "a", false);
    {
        let store = connect(&format!("{}?charset=utf8", db.url("mysql+pymysql")))
            .await
            .unwrap();
        store.create(&v).await.unwrap();
    }
    let mut conn = db.connect().await;
    let made = tables(&mut conn).await;
    for t in [
        "alembic_version",
        "vims",
        "vimauths",
        "vnf",
        "vnf_instances",
        "VnfInstanceV2",
    ] {
        assert!(made.iter().any(|m| m == t), "{t} missing from {made:?}");
    }
    assert_eq!(revisions(&mut conn).await, [TACKER_HEAD]);
    // A second start (another spelling) creates nothing and sees the data.
    let store = connect(&db.url("mariadb")).await.unwrap();
    assert!(store.get(&v.id, &Scope::All).await.unwrap().is_some());
    assert_eq!(tables(&mut conn).await, made);
    assert_eq!(revisions(&mut conn).await, [TACKER_HEAD]);
    conn.close().await.unwrap();
}

#[tokio::test]
async fn rows_are_written_in_tackers_stored_form() {
    let Some((db, store)) = mysql_store().await else {
        return;
    };
    let mut v = vim("t1", "a", true);
    v.extra = serde_json::json!({"area": "tokyo", "n": [1, 2]})
        .as_object()
        .unwrap()
        .clone();
    store.create(&v).await.unwrap();
    let mut conn = db.connect().await;
    let row = sqlx::query(
        "SELECT CAST(created_at AS CHAR) AS c, CAST(deleted_at AS CHAR) AS d, \
         is_default + 0 AS is_default, shared + 0 AS shared, placement_attr, \
         CAST(extra AS CHAR) AS extra, a.vim_project, a.auth_cred, a.password \
         FROM vims v JOIN vimauths a ON a.vim_id = v.id WHERE v.id = ?",
    )
    .bind(&v.id)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let text = |c: &str| row.try_get::<String, _>(c).unwrap();
    // DATETIME to the second, Tacker's live sentinel.
    assert_eq!(
        text("c"),
        v.created_at.format("%Y-%m-%d %H:%M:%S").to_string()
    );
    assert_eq!(text("d"), "0001-01-01 00:00:00");
    assert_eq!(row.try_get::<i64, _>("is_default").unwrap(), 1);
    assert_eq!(row.try_get::<i64, _>("shared").unwrap(), 0);
    // JSON as Python's json.dumps writes it.
    assert_eq!(text("placement_attr"), r#"{"regions": ["default"]}"#);
    assert_eq!(text("extra"), r#"{"area": "tokyo", "n": [1, 2]}"#);
    assert_eq!(text("vim_project"), r#"{"name": "default"}"#);
    assert_eq!(
        text("auth_cred"),
        r#"{"bearer_token": "gAAAA", "key_type": "barbican_key"}"#
    );
    assert_eq!(text("password"), "gAAAApw");
    // Soft delete: a real time, to the second.
    store.soft_delete(&v.id, now()).await.unwrap();
    let deleted: String =
        sqlx::query_scalar("SELECT CAST(deleted_at AS CHAR) FROM vims WHERE id = ?")
            .bind(&v.id)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_ne!(deleted, "0001-01-01 00:00:00");
    assert_eq!(deleted.len(), "2026-01-01 00:00:00".len());
    conn.close().await.unwrap();
}

#[tokio::test]
async fn unknown_alembic_revision_is_refused_naming_it_and_nothing_is_touched() {
    let Some(db) = MySqlTestDb::create().await else {
        return;
    };
    let mut conn = db.connect().await;
    conn.execute(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY); \
         INSERT INTO alembic_version VALUES ('0123456789ab')",
    )
    .await
    .unwrap();
    let err = connect_error(connect(&db.url("mysql+pymysql")).await);
    assert!(err.contains("alembic revision 0123456789ab"), "{err}");
    assert!(err.contains(TACKER_HEAD), "{err}");
    // 16.0.0's migrations before vims.status was dropped are refused too.
    conn.execute("UPDATE alembic_version SET version_num = 'de8d835ae776'")
        .await
        .unwrap();
    let err = connect_error(connect(&db.url("mysql")).await);
    assert!(err.contains("de8d835ae776"), "{err}");
    assert_eq!(tables(&mut conn).await, ["alembic_version"]);
    // No revision at all.
    conn.execute("DELETE FROM alembic_version").await.unwrap();
    let err = connect_error(connect(&db.url("mysql")).await);
    assert!(err.contains("empty alembic_version"), "{err}");
    assert_eq!(tables(&mut conn).await, ["alembic_version"]);
    conn.close().await.unwrap();
}

#[tokio::test]
async fn a_database_of_other_tables_is_refused() {
    let Some(db) = MySqlTestDb::create().await else {
        return;
    };
    let mut conn = db.connect().await;
    conn.execute("CREATE TABLE keystone_users (id INT PRIMARY KEY)")
        .await
        .unwrap();
    let err = connect_error(connect(&db.url("mysql")).await);
    assert!(err.contains("keystone_users"), "{err}");
    assert_eq!(tables(&mut conn).await, ["keystone_users"]);
    conn.close().await.unwrap();
}

#[tokio::test]
async fn an_interrupted_schema_creation_is_completed() {
    let Some(db) = MySqlTestDb::create().await else {
        return;
    };
    let complete = {
        let _store = connect(&db.url("mysql")).await.unwrap();
        let mut conn = db.connect().await;
        let complete = tables(&mut conn).await;
        // As if the first start had stopped before its last tables and the stamp.
        conn.execute("DROP TABLE alembic_version, vnfd_attribute, vnf_software_image_metadata")
            .await
            .unwrap();
        conn.close().await.unwrap();
        complete
    };
    let store = connect(&db.url("mysql")).await.unwrap();
    store.create(&vim("t1", "a", false)).await.unwrap();
    let mut conn = db.connect().await;
    assert_eq!(tables(&mut conn).await, complete);
    assert_eq!(revisions(&mut conn).await, [TACKER_HEAD]);
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn servers_starting_together_on_an_empty_database_all_come_up() {
    let Some(db) = MySqlTestDb::create().await else {
        return;
    };
    let url = db.url("mysql+pymysql");
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { connect(&url).await.map(|_| ()) })
        })
        .collect();
    for s in starts {
        s.await.unwrap().unwrap();
    }
    let mut conn = db.connect().await;
    assert_eq!(revisions(&mut conn).await, [TACKER_HEAD]);
    conn.close().await.unwrap();
}

#[tokio::test]
async fn in_use_sees_live_legacy_vnf_rows() {
    let Some((db, store)) = mysql_store().await else {
        return;
    };
    let v = vim("t1", "a", false);
    store.create(&v).await.unwrap();
    assert!(!store.in_use(&v.id, &Scope::All).await.unwrap());
    // Tacker's legacy `vnf` table (part of its schema), with the VNFD it references.
    let mut conn = db.connect().await;
    conn.execute(
        "INSERT INTO vnfd (id, tenant_id, name, deleted_at) \
         VALUES ('vnfd1', 't1', 'd', '0001-01-01 00:00:00')",
    )
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO vnf (id, tenant_id, name, vnfd_id, vim_id, deleted_at) \
         VALUES ('vnf1', 't1', 'v', 'vnfd1', ?, '0001-01-01 00:00:00')",
    )
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
    sqlx::query("UPDATE vnf SET deleted_at = ?")
        .bind(now())
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(!store.in_use(&v.id, &Scope::All).await.unwrap());
    conn.close().await.unwrap();
}

#[tokio::test]
async fn connect_errors_never_show_the_password() {
    let Some(db) = MySqlTestDb::create().await else {
        return;
    };
    let mut url = url::Url::parse(&db.url("mysql+pymysql")).unwrap();
    url.set_password(Some("s3cretpw")).unwrap();
    let err = connect_error(connect(url.as_str()).await);
    assert!(!err.contains("s3cretpw"), "{err}");
    assert!(err.contains(db.name()), "{err}");
}
