//! Issue 9 item 2, real processes: `tacker-server` on a PostgreSQL server of the test's own
//! (initdb on a free port, `PgInstance`), which the test stops mid-run and starts again.
//!
//! * database down: VIM requests get `503` with `Retry-After` in Tacker's error envelope (not
//!   500), `/healthcheck` `503` naming the database; the server keeps running;
//! * database back: both recover without restarting the server (the pool reconnects by
//!   itself), and every VIM that got `201` before the outage is still there.
//!
//! Without PostgreSQL's server package the test skips, except under `CI=true`.

mod fleet_support;

use std::time::{Duration, Instant};

use fleet_support::{fake_keystone, key_dir, openstack_vim};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tacker_test_support::{repo_root, PgInstance, TackerOptions, TackerServer};

/// Bound of each request (a hung server fails the test instead of hanging CI).
const REQUEST_BOUND: Duration = Duration::from_secs(30);
/// How long the server may take to serve again once the database is back.
const RECOVERY_DEADLINE: Duration = Duration::from_secs(30);

struct Reply {
    status: StatusCode,
    retry_after: Option<String>,
    body: Value,
}

async fn call(base: &str, m: Method, p: &str, body: Option<&Value>) -> Reply {
    let client = reqwest::Client::builder()
        .timeout(REQUEST_BOUND)
        .build()
        .unwrap();
    let mut req = client.request(m.clone(), format!("{base}{p}"));
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{m} {base}{p}: {e}"));
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = resp.text().await.unwrap_or_default();
    Reply {
        status,
        retry_after,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

fn listed_ids(body: &Value) -> Vec<String> {
    let mut ids: Vec<String> = body["vims"]
        .as_array()
        .unwrap_or_else(|| panic!("a VIM list: {body}"))
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn assert_unavailable(r: &Reply, what: &str, log: &str) {
    assert_eq!(
        r.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{what}: {}\n{log}",
        r.body
    );
    assert_eq!(r.retry_after.as_deref(), Some("5"), "{what}");
    assert_eq!(
        r.body["TackerError"]["type"], "HTTPServiceUnavailable",
        "{what}: {}",
        r.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_is_503_and_the_server_recovers_by_itself() {
    let Some(mut pg) = PgInstance::start().await.expect("own PostgreSQL") else {
        return;
    };
    pg.create_database("tacker").await.expect("CREATE DATABASE");
    let ks = fake_keystone().await;
    let keys = key_dir();
    let mut server = TackerServer::start_with(TackerOptions {
        conf: format!(
            "[DEFAULT]\nauth_strategy = noauth\n\
             [database]\nconnection = {}\nmax_pool_size = 3\nmax_overflow = 2\npool_timeout = 2\n\
             [vim_keys]\nopenstack = {}\n",
            pg.url("postgresql+psycopg2", "tacker"),
            keys.path().display()
        ),
        paste_path: Some(repo_root().join("etc/api-paste.ini")),
        binary: Some(env!("CARGO_BIN_EXE_tacker-server").into()),
        ..TackerOptions::default()
    })
    .await
    .expect("tacker-server on the test's PostgreSQL");
    let base = server.base_url().to_owned();

    // Before: VIMs registered, the health check green.
    let mut created = Vec::new();
    for i in 0..3 {
        let r = call(
            &base,
            Method::POST,
            "/v1.0/vims",
            Some(&openstack_vim(
                Some("t1"),
                &format!("before-{i}"),
                &ks,
                i == 0,
            )),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "{}\n{}",
            r.body,
            server.log()
        );
        created.push(r.body["vim"]["id"].as_str().unwrap().to_owned());
    }
    created.sort();
    let health = call(&base, Method::GET, "/healthcheck", None).await;
    assert_eq!(
        (health.status, health.body),
        (StatusCode::OK, Value::String("OK".into()))
    );

    // The database goes away (fast shutdown ends the pooled sessions).
    pg.stop().await;
    let listed = call(&base, Method::GET, "/v1.0/vims", None).await;
    assert_unavailable(&listed, "list", &server.log());
    let shown = call(
        &base,
        Method::GET,
        &format!("/v1.0/vims/{}", created[0]),
        None,
    )
    .await;
    assert_unavailable(&shown, "show", &server.log());
    let during = call(
        &base,
        Method::POST,
        "/v1.0/vims",
        Some(&openstack_vim(Some("t1"), "during", &ks, false)),
    )
    .await;
    assert_unavailable(&during, "create", &server.log());
    let health = call(&base, Method::GET, "/healthcheck", None).await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    let reason = health.body.as_str().unwrap_or_default().to_owned();
    assert!(reason.starts_with("database: "), "{reason}");
    assert!(
        !reason.contains("127.0.0.1") && !reason.contains("postgres"),
        "{reason}"
    );
    let head = call(&base, Method::HEAD, "/healthcheck", None).await;
    assert_eq!(head.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(server.exit_status().is_none(), "{}", server.log());

    // The database comes back: the same process serves again.
    pg.restart().await.expect("PostgreSQL restart");
    let until = Instant::now() + RECOVERY_DEADLINE;
    loop {
        let health = call(&base, Method::GET, "/healthcheck", None).await;
        if health.status == StatusCode::OK {
            assert_eq!(health.body, Value::String("OK".into()));
            break;
        }
        assert!(
            Instant::now() < until,
            "/healthcheck did not recover within {RECOVERY_DEADLINE:?}: {}\n{}",
            health.body,
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let listed = call(&base, Method::GET, "/v1.0/vims", None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(
        listed_ids(&listed.body),
        created,
        "every VIM that got 201 is there, and nothing else"
    );
    let after = call(
        &base,
        Method::POST,
        "/v1.0/vims",
        Some(&openstack_vim(Some("t1"), "after", &ks, false)),
    )
    .await;
    assert_eq!(after.status, StatusCode::CREATED, "{}", after.body);
    assert_eq!(
        pg.count(
            "tacker",
            "SELECT COUNT(*) FROM vims WHERE deleted_at = '0001-01-01 00:00:00'"
        )
        .await,
        4
    );
    server.stop();
}
