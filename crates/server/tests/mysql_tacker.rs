//! Issue 14, real processes: `tacker-server` on MySQL / MariaDB in Tacker's own schema, next to
//! real Python Tacker 16.0.0 (`scripts/setup/tacker.sh`) on the same database and the same VIM
//! key directory.
//!
//! Both APIs run under `noauth` (the tenant in the body); the VIMs are OpenStack VIMs (Python
//! Tacker's stock `noauth` cannot register Kubernetes VIMs) whose Keystone is an in-test fake
//! answering the drivers' reachability check, token and region calls.
//!
//! * a VIM registered through either server is listed and shown identically (secrets masked)
//!   by both, updated and deleted through the other; Python Tacker decrypts the credentials
//!   after an update through this server (`tests/peers/tacker/vim_auth.py`, Tacker's own
//!   `VimClient`);
//! * on Tacker's own schema this server adds and alters nothing (tables and alembic revision
//!   the same before and after);
//! * a database this server created has exactly the tables `tacker-db-manage upgrade head`
//!   makes, and `tacker-db-manage` takes it over (`current`, `upgrade head`) with Python
//!   Tacker serving the VIM;
//! * 200 concurrent default-VIM creates over two replicas: one default;
//! * a database at an unknown alembic revision: start-up refused, naming it.
//!
//! Each test uses its own database (`MySqlTestDb`, dropped at the end); without MariaDB the
//! tests skip, except under `CI=true`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tacker_test_support::{
    repo_root, tacker_db_manage, MySqlTestDb, PythonTacker, TackerOptions, TackerServer,
};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Bound of each request (a hung server fails the test instead of hanging CI).
const REQUEST_BOUND: Duration = Duration::from_secs(120);
/// Concurrent default-VIM creates over the two replicas.
const CONCURRENT_DEFAULTS: usize = 200;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_BOUND)
        .pool_max_idle_per_host(CONCURRENT_DEFAULTS)
        .build()
        .expect("client")
}

async fn call(base: &str, m: Method, p: &str, body: Option<&Value>) -> (StatusCode, Value) {
    let mut req = http().request(m.clone(), format!("{base}{p}"));
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{m} {base}{p}: {e}"));
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A Keystone answering what both servers' OpenStack drivers call: the unauthenticated
/// version document, a password token, the region list.
async fn fake_keystone() -> MockServer {
    let ks = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/identity/v3/auth/tokens"))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("X-Subject-Token", "fake-token")
                .set_body_json(json!({"token": {
                    "methods": ["password"], "expires_at": "2099-01-01T00:00:00.000000Z",
                    "issued_at": "2026-01-01T00:00:00.000000Z", "catalog": [], "roles": [],
                    "user": {"id": "u1", "name": "nfv_user", "domain": {"id": "default", "name": "Default"}},
                    "project": {"id": "p1", "name": "nfv", "domain": {"id": "default", "name": "Default"}}}})),
        )
        .mount(&ks)
        .await;
    Mock::given(method("GET"))
        .and(path("/identity/v3/regions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"regions": [
            {"id": "RegionOne", "description": ""}]})))
        .mount(&ks)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/identity/v3/?$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": {
            "id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": format!("{}/identity/v3/", ks.uri())}],
            "media-types": [{"base": "application/json",
                "type": "application/vnd.openstack.identity-v3+json"}]}})))
        .mount(&ks)
        .await;
    ks
}

fn openstack_vim(
    tenant: &str,
    name: &str,
    ks: &MockServer,
    password: &str,
    default: bool,
) -> Value {
    json!({"vim": {
        "tenant_id": tenant,
        "name": name,
        "description": format!("vim {name}"),
        "type": "openstack",
        "auth_url": format!("{}/identity", ks.uri()),
        "auth_cred": {"username": "nfv_user", "password": password,
            "user_domain_name": "Default", "cert_verify": "False"},
        "vim_project": {"name": "nfv", "project_domain_name": "Default"},
        "is_default": default,
    }})
}

/// The VIM key directory both servers share (0700, as Tacker creates it).
fn key_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("tacker-keys-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

/// `tacker-server` on `db` with VIM keys in `keys`; the error carries its log.
async fn start_rust(db: &MySqlTestDb, keys: &Path) -> Result<TackerServer, String> {
    TackerServer::start_with(TackerOptions {
        conf: format!(
            "[DEFAULT]\nauth_strategy = noauth\n[database]\nconnection = {}?charset=utf8\n\
             [vim_keys]\nopenstack = {}\n",
            db.url("mysql+pymysql"),
            keys.display()
        ),
        paste_path: Some(repo_root().join("etc/api-paste.ini")),
        // `$TACKER_SERVER_BIN` when set, else this package's binary.
        binary: std::env::var_os("TACKER_SERVER_BIN")
            .map(Into::into)
            .or_else(|| Some(env!("CARGO_BIN_EXE_tacker-server").into())),
        ..TackerOptions::default()
    })
    .await
    .map_err(|e| format!("{e:#}"))
}

/// A `SHOW CREATE TABLE` text with its secondary `KEY` lines sorted: their order only tells
/// in which order the indexes were made, and tacker-db-manage itself makes the two indexes of
/// `vnf_packages_user_data` in a different order from one run to the next.
fn comparable(definition: &str) -> (Vec<&str>, Vec<&str>) {
    let (mut keys, rest): (Vec<&str>, Vec<&str>) = definition
        .lines()
        .map(|l| l.trim_end_matches(','))
        .partition(|l| l.starts_with("  KEY "));
    keys.sort_unstable();
    (rest, keys)
}

fn vim_id(created: &Value) -> String {
    created["vim"]["id"].as_str().expect("vim id").to_owned()
}

/// `GET /v1.0/vims/{id}` through both servers: the same status and JSON; returns the VIM.
async fn shown_alike(rust: &str, python: &str, id: &str) -> Value {
    let (rs, rv) = call(rust, Method::GET, &format!("/v1.0/vims/{id}"), None).await;
    let (ps, pv) = call(python, Method::GET, &format!("/v1.0/vims/{id}"), None).await;
    assert_eq!((rs, ps), (StatusCode::OK, StatusCode::OK), "{rv}\n{pv}");
    assert_eq!(
        rv, pv,
        "show of {id} differs (this server, then Python Tacker)"
    );
    assert_eq!(rv["vim"]["auth_cred"]["password"], "***", "{rv}");
    rv["vim"].clone()
}

async fn listed_alike(rust: &str, python: &str) -> Vec<Value> {
    let (rs, rv) = call(rust, Method::GET, "/v1.0/vims", None).await;
    let (ps, pv) = call(python, Method::GET, "/v1.0/vims", None).await;
    assert_eq!((rs, ps), (StatusCode::OK, StatusCode::OK), "{rv}\n{pv}");
    assert_eq!(rv, pv, "list differs (this server, then Python Tacker)");
    rv["vims"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn vims_written_by_either_server_are_read_updated_and_deleted_by_the_other() {
    let Some(db) = MySqlTestDb::create().await else {
        return;
    };
    let url = db.url("mysql+pymysql");
    tacker_db_manage(&url, &["upgrade", "head"])
        .await
        .expect("tacker-db-manage upgrade head");
    // Tacker's schema as tacker-db-manage left it: this server adds and alters nothing.
    let schema_before = schema(&db).await;
    let keys = key_dir();
    let ks = fake_keystone().await;
    let (python, rust) = tokio::join!(
        PythonTacker::start(&url, keys.path()),
        start_rust(&db, keys.path())
    );
    let python = python.expect("Python Tacker starts");
    let rust = rust.expect("tacker-server starts on Tacker's schema");
    let (py, rs) = (python.base_url(), rust.base_url());

    // One VIM registered through each.
    let (status, created) = call(
        py,
        Method::POST,
        "/v1.0/vims",
        Some(&openstack_vim(
            "tenant-a",
            "from-python",
            &ks,
            "pw-python",
            false,
        )),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}\n{}", python.log());
    let from_python = vim_id(&created);
    let (status, created) = call(
        rs,
        Method::POST,
        "/v1.0/vims",
        Some(&openstack_vim(
            "tenant-a",
            "from-rust",
            &ks,
            "pw-rust",
            true,
        )),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}\n{}", rust.log());
    let from_rust = vim_id(&created);

    // Listed and shown alike, secrets masked.
    let listed = listed_alike(rs, py).await;
    assert_eq!(listed.len(), 2);
    let shown = shown_alike(rs, py, &from_rust).await;
    assert_eq!(shown["is_default"], true);
    assert_eq!(shown["placement_attr"], json!({"regions": ["RegionOne"]}));
    assert_eq!(shown["auth_cred"]["key_type"], "fernet_key");
    shown_alike(rs, py, &from_python).await;
    // Python Tacker decrypts what this server encrypted.
    let auth = python.decrypted_vim_auth(&from_rust).await.unwrap();
    assert_eq!(auth["password"], "pw-rust", "{auth}");

    // Python's VIM updated through this server, new password included: Python Tacker reads
    // the update and decrypts the new password with the new key.
    let (status, updated) = call(
        rs,
        Method::PUT,
        &format!("/v1.0/vims/{from_python}"),
        Some(&json!({"vim": {"description": "updated by tacker-rs",
            "auth_cred": {"username": "nfv_user", "password": "pw-python-2"}}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}\n{}", rust.log());
    let shown = shown_alike(rs, py, &from_python).await;
    assert_eq!(shown["description"], "updated by tacker-rs");
    assert!(shown["updated_at"].is_string(), "{shown}");
    let auth = python.decrypted_vim_auth(&from_python).await.unwrap();
    assert_eq!(auth["password"], "pw-python-2", "{auth}");

    // This server's VIM updated through Python Tacker.
    let (status, updated) = call(
        py,
        Method::PUT,
        &format!("/v1.0/vims/{from_rust}"),
        Some(&json!({"vim": {"description": "updated by python", "name": "renamed"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}\n{}", python.log());
    let shown = shown_alike(rs, py, &from_rust).await;
    assert_eq!(
        (&shown["description"], &shown["name"]),
        (&json!("updated by python"), &json!("renamed"))
    );
    // Both see Python's write of the default flag the same way: still the one default.
    let (status, dup) = call(
        rs,
        Method::POST,
        "/v1.0/vims",
        Some(&openstack_vim(
            "tenant-a",
            "second-default",
            &ks,
            "pw",
            true,
        )),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{dup}");
    assert_eq!(dup["TackerError"]["type"], "VimDefaultDuplicateException");
    listed_alike(rs, py).await;

    // Each deletes the other's VIM; the other no longer shows it, and the key files go.
    let (status, body) = call(
        rs,
        Method::DELETE,
        &format!("/v1.0/vims/{from_python}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = call(py, Method::DELETE, &format!("/v1.0/vims/{from_rust}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}\n{}", python.log());
    for id in [&from_python, &from_rust] {
        let (status, body) = call(rs, Method::GET, &format!("/v1.0/vims/{id}"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        // Python Tacker's answer for a missing VIM (500, see api-ref/compat.md).
        let (_, body) = call(py, Method::GET, &format!("/v1.0/vims/{id}"), None).await;
        assert_eq!(
            body["TackerError"]["type"], "VimNotFoundException",
            "{body}"
        );
        assert!(!keys.path().join(id).exists(), "key file of {id} left");
    }
    assert!(listed_alike(rs, py).await.is_empty());
    assert_eq!(
        schema(&db).await,
        schema_before,
        "the tables (or the alembic revision) changed while this server ran on them"
    );
}

/// Every table's definition ([`comparable`], without the `AUTO_INCREMENT` counter rows move)
/// and the alembic revision.
async fn schema(db: &MySqlTestDb) -> (Vec<(String, (Vec<String>, Vec<String>))>, String) {
    let owned = |lines: Vec<&str>| -> Vec<String> {
        lines
            .into_iter()
            .map(|l| {
                let mut words: Vec<&str> = l.split(' ').collect();
                words.retain(|w| !w.starts_with("AUTO_INCREMENT="));
                words.join(" ")
            })
            .collect()
    };
    let tables = db
        .table_definitions()
        .await
        .into_iter()
        .map(|(name, definition)| {
            let (rest, keys) = comparable(&definition);
            (name, (owned(rest), owned(keys)))
        })
        .collect();
    let mut conn = db.connect().await;
    let revision: String =
        sqlx::query_scalar("SELECT CONVERT(version_num USING utf8mb4) FROM alembic_version")
            .fetch_one(&mut conn)
            .await
            .expect("alembic revision");
    (tables, revision)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tacker_db_manage_takes_over_a_database_this_server_created() {
    let (Some(ours), Some(theirs)) = (MySqlTestDb::create().await, MySqlTestDb::create().await)
    else {
        return;
    };
    let keys = key_dir();
    let ks = fake_keystone().await;
    let rust = start_rust(&ours, keys.path())
        .await
        .expect("tacker-server starts on an empty database");
    let (status, created) = call(
        rust.base_url(),
        Method::POST,
        "/v1.0/vims",
        Some(&openstack_vim("tenant-a", "vim1", &ks, "pw1", true)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = vim_id(&created);

    // The same tables, column for column, as tacker-db-manage makes.
    tacker_db_manage(&theirs.url("mysql+pymysql"), &["upgrade", "head"])
        .await
        .expect("tacker-db-manage upgrade head on an empty database");
    let (made_by_us, made_by_tacker) =
        tokio::join!(ours.table_definitions(), theirs.table_definitions());
    let names = |defs: &[(String, String)]| defs.iter().map(|d| d.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&made_by_us), names(&made_by_tacker));
    for (ours, theirs) in made_by_us.iter().zip(&made_by_tacker) {
        assert_eq!(
            comparable(&ours.1),
            comparable(&theirs.1),
            "table {} differs (this server's, then tacker-db-manage's)",
            ours.0
        );
    }

    // tacker-db-manage sees its head and has nothing to do.
    let current = tacker_db_manage(&ours.url("mysql+pymysql"), &["current"])
        .await
        .expect("tacker-db-manage current");
    assert!(current.contains("ca2ad037c320 (head)"), "{current}");
    tacker_db_manage(&ours.url("mysql+pymysql"), &["upgrade", "head"])
        .await
        .expect("tacker-db-manage upgrade head on our schema");

    // Python Tacker serves the VIM this server wrote, and can use its credentials.
    let python = PythonTacker::start(&ours.url("mysql+pymysql"), keys.path())
        .await
        .expect("Python Tacker starts on the database this server created");
    shown_alike(rust.base_url(), python.base_url(), &id).await;
    listed_alike(rust.base_url(), python.base_url()).await;
    let auth = python.decrypted_vim_auth(&id).await.unwrap();
    assert_eq!(auth["password"], "pw1", "{auth}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_mysql_leave_one_default_of_200_concurrent_creates() {
    let Some(db) = MySqlTestDb::create().await else {
        return;
    };
    let keys = key_dir();
    let ks = fake_keystone().await;
    // Started together on an empty database: one creates the schema, both serve.
    let (one, two) = tokio::join!(start_rust(&db, keys.path()), start_rust(&db, keys.path()));
    let (one, two) = (one.expect("replica 1"), two.expect("replica 2"));

    let requests: Vec<_> = (0..CONCURRENT_DEFAULTS)
        .map(|i| {
            let base = if i % 2 == 0 {
                one.base_url()
            } else {
                two.base_url()
            }
            .to_owned();
            let body = openstack_vim("tenant-d", &format!("vim-{i}"), &ks, "pw", true);
            tokio::spawn(async move { call(&base, Method::POST, "/v1.0/vims", Some(&body)).await })
        })
        .collect();
    let mut winners = Vec::new();
    let mut named = Vec::new();
    for r in requests {
        let (status, body) = r.await.unwrap();
        match status {
            StatusCode::CREATED => winners.push(vim_id(&body)),
            StatusCode::CONFLICT => {
                assert_eq!(
                    body["TackerError"]["type"], "VimDefaultDuplicateException",
                    "{body}"
                );
                named.push(body["TackerError"]["message"].as_str().unwrap().to_owned());
            }
            other => panic!("{other}: {body}\n{}\n{}", one.log(), two.log()),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one create wins");
    let expected = format!("Default VIM already exists {}.", winners[0]);
    assert!(named.iter().all(|m| *m == expected), "{named:?}");
    assert_eq!(named.len(), CONCURRENT_DEFAULTS - 1);

    let live = "FROM vims WHERE tenant_id = 'tenant-d' AND deleted_at = '0001-01-01 00:00:00'";
    assert_eq!(
        db.count(&format!("SELECT COUNT(*) {live} AND is_default = 1"))
            .await,
        1,
        "one live default row"
    );
    assert_eq!(db.count(&format!("SELECT COUNT(*) {live}")).await, 1);
    // Every loser removed the key it had made.
    let key_files: Vec<String> = std::fs::read_dir(keys.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(key_files, [winners[0].clone()]);
}

#[tokio::test]
async fn start_up_is_refused_at_an_unknown_alembic_revision_naming_it() {
    let Some(db) = MySqlTestDb::create().await else {
        return;
    };
    db.execute(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY); \
         INSERT INTO alembic_version VALUES ('fedcba987654')",
    )
    .await;
    let keys = key_dir();
    let err = match start_rust(&db, keys.path()).await {
        Ok(_) => panic!("tacker-server started on an unknown alembic revision"),
        Err(e) => e,
    };
    assert!(err.contains("exited with exit status: 1"), "{err}");
    assert!(
        err.contains("alembic revision fedcba987654"),
        "the revision is named: {err}"
    );
    assert!(err.contains("[database] connection"), "{err}");
    assert!(err.contains(db.name()), "{err}");
    // Nothing was created next to it.
    let tables: Vec<String> = db
        .table_definitions()
        .await
        .into_iter()
        .map(|d| d.0)
        .collect();
    assert_eq!(tables, ["alembic_version"]);
}
