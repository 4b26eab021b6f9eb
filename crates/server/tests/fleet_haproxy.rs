//! Issue 9 acceptance, the fleet with real processes: Debian's haproxy (its own config on free
//! ports) in front of two `tacker-server` replicas, started together on one fresh PostgreSQL
//! database (on the machine's server), one memcached of the test's own, the real
//! authorization server, the guide's api-paste.ini and `client_secret_basic`:
//!
//! * haproxy's health check (`option httpchk GET /healthcheck`) marks both replicas up;
//! * both replicas, started at the same instant on the empty database, serve;
//! * a VIM created through replica 1 is listed and shown through replica 2;
//! * one fresh token used on both replicas, many times: one introspection in all, counted by
//!   the authorization server (the token cache is memcached, shared);
//! * 200 concurrent default-VIM creates for one tenant through haproxy: exactly one `201`, the
//!   rest `409`, no 5xx, one default row in the database.
//!
//! Needs `scripts/setup/authz.sh`, `scripts/setup/debian-packages.sh` (haproxy, memcached) and
//! PostgreSQL (skips without it, except under `CI=true`).

mod fleet_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fleet_support::{fake_keystone, key_dir, openstack_vim};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tacker_test_support::{
    free_port, AuthMethod, AuthzOptions, AuthzServer, ChildGuard, Memcached, PgTestDb,
    TackerOptions, TackerServer, TestPki, DEFAULT_DEADLINE, GUIDE_API_PASTE, PROJECT_ID,
};

const METHOD: AuthMethod = AuthMethod::ClientSecretBasic;
const HAPROXY: &str = "/usr/sbin/haproxy";
/// Bound of each request (a hung server fails the test instead of hanging CI).
const REQUEST_BOUND: Duration = Duration::from_secs(60);
/// Concurrent default-VIM creates through haproxy.
const CONCURRENT_DEFAULTS: usize = 200;
/// Requests with one token, alternating between the replicas.
const SAME_TOKEN_REQUESTS: usize = 40;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_BOUND)
        .pool_max_idle_per_host(CONCURRENT_DEFAULTS)
        .build()
        .expect("client")
}

async fn call(
    client: &reqwest::Client,
    base: &str,
    m: Method,
    p: &str,
    token: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut req = client
        .request(m.clone(), format!("{base}{p}"))
        .bearer_auth(token);
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

/// haproxy in the foreground with `config`; killed (by pid) when dropped.
fn start_haproxy(dir: &Path, config: &str) -> ChildGuard {
    assert!(
        Path::new(HAPROXY).is_file(),
        "haproxy is not installed ({HAPROXY}): run scripts/setup/debian-packages.sh"
    );
    let cfg = dir.join("haproxy.cfg");
    std::fs::write(&cfg, config).unwrap();
    let check = Command::new(HAPROXY)
        .arg("-c")
        .arg("-f")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "haproxy -c: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let mut cmd = Command::new(HAPROXY);
    // -db: stay in the foreground, so the guard's pid is haproxy itself.
    cmd.arg("-db").arg("-f").arg(&cfg);
    ChildGuard::spawn("haproxy", cmd, &dir.join("haproxy.log")).unwrap()
}

/// The `(status, check_status, check_code)` haproxy's CSV statistics report for each server
/// of backend `tacker`.
async fn backend_servers(stats_url: &str) -> Vec<(String, String, String, String)> {
    let Ok(resp) = http().get(stats_url).send().await else {
        return Vec::new();
    };
    let text = resp.text().await.unwrap_or_default();
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (Some(px), Some(sv), Some(st), Some(cs), Some(cc)) = (
        col("pxname"),
        col("svname"),
        col("status"),
        col("check_status"),
        col("check_code"),
    ) else {
        return Vec::new();
    };
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f.len() > cc && f[px] == "tacker" && f[sv].starts_with('r'))
        .map(|f| {
            (
                f[sv].to_owned(),
                f[st].to_owned(),
                f[cs].to_owned(),
                f[cc].to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_behind_haproxy_share_database_and_token_cache() {
    let Some(db) = PgTestDb::create().await else {
        return;
    };
    let memcached = Memcached::start().await.expect("memcached");
    let pki = TestPki::new().expect("pki");
    let authz = AuthzServer::start(&pki, AuthzOptions::default())
        .await
        .expect("authorization server");
    let ks = fake_keystone().await;
    let keys = key_dir();
    let ext = authz
        .ext_oauth2_conf(METHOD, &pki)
        .set("memcached_servers", memcached.address());
    // One tacker.conf for every replica, as a deployment tool would write it; the VIM key
    // directory is shared (it holds each VIM's Fernet key).
    let conf = format!(
        "{}[database]\nconnection = {}\nmax_pool_size = 5\nmax_overflow = 5\n\
         [vim_keys]\nopenstack = {}\n",
        ext.to_conf("auth_strategy = keystone\n"),
        db.url("postgresql"),
        keys.path().display()
    );
    let replica = || {
        TackerServer::start_with(TackerOptions {
            conf: conf.clone(),
            paste_text: Some(GUIDE_API_PASTE.to_owned()),
            binary: Some(env!("CARGO_BIN_EXE_tacker-server").into()),
            ..TackerOptions::default()
        })
    };
    // Started at the same instant on the empty database: both come up.
    let (one, two) = tokio::join!(replica(), replica());
    let one = one.expect("replica 1 starts on the empty database");
    let two = two.expect("replica 2 starts on the empty database");
    let logs = || format!("replica 1:\n{}\nreplica 2:\n{}", one.log(), two.log());

    // haproxy in front, health-checking /healthcheck.
    let hadir = tempfile::Builder::new()
        .prefix("tacker-haproxy-")
        .tempdir()
        .unwrap();
    let (front, stats) = (free_port(), free_port());
    let config = format!(
        "global\n    maxconn 2000\n\
         defaults\n    mode http\n    timeout connect 5s\n    timeout client 60s\n\
         \x20   timeout server 60s\n    timeout check 5s\n\
         frontend api\n    bind 127.0.0.1:{front}\n    default_backend tacker\n\
         backend tacker\n    balance roundrobin\n    option httpchk GET /healthcheck\n\
         \x20   http-check expect status 200\n\
         \x20   server r1 127.0.0.1:{} check inter 1s fall 2 rise 1\n\
         \x20   server r2 127.0.0.1:{} check inter 1s fall 2 rise 1\n\
         listen stats\n    bind 127.0.0.1:{stats}\n    stats enable\n    stats uri /stats\n",
        one.port(),
        two.port()
    );
    let mut haproxy = start_haproxy(hadir.path(), &config);
    let stats_url = format!("http://127.0.0.1:{stats}/stats;csv");
    let until = Instant::now() + DEFAULT_DEADLINE;
    loop {
        haproxy.ensure_running().unwrap();
        let servers = backend_servers(&stats_url).await;
        let up = servers
            .iter()
            .filter(|(_, status, check, code)| status == "UP" && check == "L7OK" && code == "200")
            .count();
        if up == 2 {
            break;
        }
        assert!(
            Instant::now() < until,
            "haproxy did not see both replicas healthy on /healthcheck: {servers:?}\n{}",
            haproxy.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let lb = format!("http://127.0.0.1:{front}");
    let client = http();

    // A VIM created through replica 1 is listed and shown through replica 2.
    let token = authz.token_for(METHOD).await.expect("token");
    let (status, created) = call(
        &client,
        one.base_url(),
        Method::POST,
        "/v1.0/vims",
        &token,
        Some(&openstack_vim(Some(PROJECT_ID), "via-one", &ks, false)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}\n{}", logs());
    let id = created["vim"]["id"].as_str().unwrap().to_owned();
    let (status, listed) = call(
        &client,
        two.base_url(),
        Method::GET,
        "/v1.0/vims",
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert!(
        listed["vims"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == id.as_str()),
        "{listed}"
    );
    let (status, shown) = call(
        &client,
        two.base_url(),
        Method::GET,
        &format!("/v1.0/vims/{id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["vim"]["name"], "via-one");
    assert_eq!(shown["vim"]["auth_cred"]["password"], "***");

    // One fresh token on both replicas, many times: one introspection in all.
    let fresh = authz.token_for(METHOD).await.expect("token");
    authz.reset_stats().await.expect("reset");
    let bases = [one.base_url().to_owned(), two.base_url().to_owned()];
    for i in 0..SAME_TOKEN_REQUESTS {
        let (status, body) = call(
            &client,
            &bases[i % 2],
            Method::GET,
            "/v1.0/vims",
            &fresh,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "request {i}: {body}\n{}", logs());
    }
    let burst: Vec<_> = (0..SAME_TOKEN_REQUESTS)
        .map(|i| {
            let (client, base, fresh) = (client.clone(), bases[i % 2].clone(), fresh.clone());
            tokio::spawn(async move {
                call(&client, &base, Method::GET, "/v1.0/vims", &fresh, None).await
            })
        })
        .collect();
    for r in burst {
        assert_eq!(r.await.unwrap().0, StatusCode::OK);
    }
    assert_eq!(
        authz.stats().await.expect("stats").introspections,
        1,
        "{}",
        logs()
    );

    // 200 concurrent default-VIM creates for one tenant through haproxy.
    let creates: Vec<_> = (0..CONCURRENT_DEFAULTS)
        .map(|i| {
            let (client, lb, fresh) = (client.clone(), lb.clone(), fresh.clone());
            let body = openstack_vim(Some(PROJECT_ID), &format!("default-{i}"), &ks, true);
            tokio::spawn(async move {
                call(
                    &client,
                    &lb,
                    Method::POST,
                    "/v1.0/vims",
                    &fresh,
                    Some(&body),
                )
                .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut conflicts = 0;
    for r in creates {
        let (status, body) = r.await.unwrap();
        match status {
            StatusCode::CREATED => winners.push(body["vim"]["id"].as_str().unwrap().to_owned()),
            StatusCode::CONFLICT => {
                assert_eq!(
                    body["TackerError"]["type"], "VimDefaultDuplicateException",
                    "{body}"
                );
                conflicts += 1;
            }
            other => panic!("{other}: {body}\n{}\nhaproxy:\n{}", logs(), haproxy.log()),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one create wins");
    assert_eq!(conflicts, CONCURRENT_DEFAULTS - 1);
    let live = format!(
        "FROM vims WHERE tenant_id = '{PROJECT_ID}' AND deleted_at = '0001-01-01 00:00:00'"
    );
    assert_eq!(
        db.count(&format!("SELECT COUNT(*) {live} AND is_default"))
            .await,
        1,
        "one live default row"
    );
    assert_eq!(db.count(&format!("SELECT COUNT(*) {live}")).await, 2);
    // Every request through haproxy carried the same token: still one introspection.
    assert_eq!(authz.stats().await.expect("stats").introspections, 1);

    haproxy.stop();
}

/// The haproxy configuration of the runbook (`docs/fleet.md`) is one haproxy accepts, and
/// checks `/healthcheck` as the test above does.
#[test]
fn runbook_haproxy_sample_is_valid_and_checks_healthcheck() {
    let doc = std::fs::read_to_string(tacker_test_support::repo_root().join("docs/fleet.md"))
        .expect("docs/fleet.md");
    let section = &doc[doc.find("## haproxy").expect("a haproxy section")..];
    let start = section.find("```\n").expect("a code block") + 4;
    let sample = &section[start..start + section[start..].find("```").unwrap()];
    assert!(
        sample.contains("option httpchk GET /healthcheck"),
        "{sample}"
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(&cfg, sample).unwrap();
    let check = Command::new(HAPROXY)
        .arg("-c")
        .arg("-f")
        .arg(&cfg)
        .output()
        .expect("haproxy (scripts/setup/debian-packages.sh)");
    assert!(
        check.status.success(),
        "haproxy -c: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}
