//! Issue 10, Prometheus metrics: the real `tacker-server` with `[metrics] bind_port` serves
//! `GET /metrics` on its own listener, and after a scripted run of requests the counters have
//! moved by exactly what the run did: requests by prefix, method and status, their duration
//! histogram, introspection calls by outcome, in-process token cache hits and misses; the
//! database pool gauge is present. Without `bind_port` there is no metrics listener.

use std::collections::HashMap;
use std::process::Command;

use tacker_test_support::{free_port, repo_root, wait_ready_http, ChildGuard, DEFAULT_DEADLINE};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// `name{labels} value` samples of a text exposition.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

fn get(s: &HashMap<String, f64>, key: &str) -> f64 {
    s.get(key).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn counters_move_by_exactly_what_the_requests_did() {
    let idp = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/introspect"))
        .and(body_string_contains("token=inactive-token"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"active": false}"#))
        .mount(&idp)
        .await;
    Mock::given(method("POST"))
        .and(path("/introspect"))
        .and(body_string_contains("token=broken-token"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&idp)
        .await;

    let (mut guard, base, metrics_url, _dir) = keystone_server(&idp, "").await;
    let client = reqwest::Client::new();
    let scrape = || async {
        let r = client.get(&metrics_url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        samples(&r.text().await.unwrap())
    };
    let before = scrape().await;

    // The script.
    for _ in 0..3 {
        assert_eq!(
            client
                .get(format!("{base}/"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let vims = format!("{base}/v1.0/vims");
    for _ in 0..2 {
        let r = client
            .get(&vims)
            .bearer_auth("inactive-token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = client
        .get(&vims)
        .bearer_auth("broken-token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        500,
        "keystonemiddleware: a failing introspect API is a 500"
    );
    let r = client.post(&vims).send().await.unwrap();
    assert_eq!(r.status(), 401, "no token");

    let after = scrape().await;
    let delta = |key: &str| get(&after, key) - get(&before, key);
    assert_eq!(
        delta(r#"tacker_http_requests_total{prefix="/",method="GET",status="200"}"#),
        3.0,
        "{after:#?}"
    );
    assert_eq!(
        delta(r#"tacker_http_requests_total{prefix="/v1.0",method="GET",status="401"}"#),
        2.0
    );
    assert_eq!(
        delta(r#"tacker_http_requests_total{prefix="/v1.0",method="GET",status="500"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"tacker_http_requests_total{prefix="/v1.0",method="POST",status="401"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"tacker_http_request_duration_seconds_count{prefix="/v1.0",method="GET"}"#),
        3.0
    );
    assert_eq!(
        delta(r#"tacker_http_request_duration_seconds_bucket{prefix="/",method="GET",le="+Inf"}"#),
        3.0
    );
    // One introspection per distinct token: the inactive answer is cached.
    assert_eq!(
        delta(r#"tacker_introspection_requests_total{outcome="inactive"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"tacker_introspection_requests_total{outcome="error"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"tacker_introspection_duration_seconds_count{outcome="inactive"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"tacker_token_cache_requests_total{cache="local",result="miss"}"#),
        2.0
    );
    assert_eq!(
        delta(r#"tacker_token_cache_requests_total{cache="local",result="hit"}"#),
        1.0
    );
    // Read at the scrape, when no request holds a connection.
    assert_eq!(
        after.get("tacker_db_connections_in_use"),
        Some(&0.0),
        "{after:#?}"
    );
    // The metrics listener serves nothing else, and the API listener has no /metrics.
    let r = client
        .get(metrics_url.replace("/metrics", "/v1.0/vims"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_ne!(r.status(), 200);
    guard.stop();
}

/// The server on the guide's paste file, introspecting at `idp`, with metrics on; `extra` is
/// added to `[ext_oauth2_auth]`.
async fn keystone_server(
    idp: &MockServer,
    extra: &str,
) -> (ChildGuard, String, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let metrics_port = free_port();
    let conf = dir.path().join("tacker.conf");
    std::fs::write(
        &conf,
        format!(
            "[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\nauth_strategy = keystone\n\
             api_paste_config = {}\n\
             [database]\nconnection = sqlite:///{}\n\
             [vim_keys]\nopenstack = {}\n\
             [metrics]\nbind_port = {metrics_port}\n\
             [ext_oauth2_auth]\nintrospect_endpoint = {}/introspect\n\
             auth_method = client_secret_basic\nclient_id = tacker\nclient_secret = s\naudience = http://idp\n{extra}\n",
            repo_root()
                .join("etc/api-paste-external-oauth2.ini")
                .display(),
            dir.path().join("t.db").display(),
            dir.path().join("keys").display(),
            idp.uri()
        ),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tacker-server"));
    cmd.current_dir(dir.path())
        .arg("--config-file")
        .arg(&conf)
        .env("NO_COLOR", "1");
    let mut guard =
        ChildGuard::spawn("tacker-server", cmd, &dir.path().join("server.log")).unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let metrics_url = format!("http://127.0.0.1:{metrics_port}/metrics");
    wait_ready_http(&mut guard, &client, &metrics_url, DEFAULT_DEADLINE)
        .await
        .unwrap();
    wait_ready_http(&mut guard, &client, &format!("{base}/"), DEFAULT_DEADLINE)
        .await
        .unwrap();
    (guard, base, metrics_url, dir)
}

/// With memcached as the cache (keystonemiddleware's shared cache), the same token twice is
/// one shared miss (and one introspection), then one shared hit.
#[tokio::test]
async fn shared_cache_counters_move_by_exactly_what_the_requests_did() {
    let memcached = tacker_test_support::Memcached::start()
        .await
        .expect("memcached");
    let idp = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/introspect"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"active": false}"#))
        .expect(1)
        .mount(&idp)
        .await;
    let (mut guard, base, metrics_url, _dir) = keystone_server(
        &idp,
        &format!("memcached_servers = {}", memcached.address()),
    )
    .await;
    let client = reqwest::Client::new();
    let scrape = || async {
        samples(
            &client
                .get(&metrics_url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        )
    };
    let before = scrape().await;
    for _ in 0..2 {
        let r = client
            .get(format!("{base}/v1.0/vims"))
            .bearer_auth("shared-token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{}", guard.log());
    }
    let after = scrape().await;
    let delta = |key: &str| get(&after, key) - get(&before, key);
    assert_eq!(
        delta(r#"tacker_token_cache_requests_total{cache="shared",result="miss"}"#),
        1.0,
        "{after:#?}"
    );
    assert_eq!(
        delta(r#"tacker_token_cache_requests_total{cache="shared",result="hit"}"#),
        1.0,
        "{after:#?}"
    );
    assert_eq!(
        delta(r#"tacker_introspection_requests_total{outcome="inactive"}"#),
        1.0
    );
    guard.stop();
}

/// Outbound calls: registering and deleting a Kubernetes VIM whose key is kept in Barbican
/// (`[k8s_vim] use_barbican`, `use_ext_oauth2_auth`) makes one client-credentials grant (the
/// token is reused) and two Barbican calls (store, delete).
#[tokio::test]
async fn outbound_token_and_barbican_counters_move_by_exactly_what_the_vims_did() {
    use serde_json::json;
    let peer = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"kind": "APIVersions", "versions": ["v1"]})),
        )
        .mount(&peer)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/namespaces"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"items": [{"metadata": {"name": "default"}}]})),
        )
        .mount(&peer)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "outbound-token", "expires_in": 300, "token_type": "Bearer"}),
        ))
        .mount(&peer)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/secrets/"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "secret_ref": format!("{}/v1/secrets/0b5e1a3c-6f1e-4f43-9d52-6b7f3b0c2f11", peer.uri())
        })))
        .mount(&peer)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/secrets/0b5e1a3c-6f1e-4f43-9d52-6b7f3b0c2f11"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&peer)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let metrics_port = free_port();
    let conf = dir.path().join("tacker.conf");
    std::fs::write(
        &conf,
        format!(
            "[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\nauth_strategy = noauth\n\
             api_paste_config = {}\n\
             [database]\nconnection = sqlite:///{}\n\
             [vim_keys]\nopenstack = {}\n\
             [k8s_vim]\nuse_barbican = True\n\
             [key_manager]\nbarbican_endpoint = {uri}\n\
             [ext_oauth2_auth]\nuse_ext_oauth2_auth = True\ntoken_endpoint = {uri}/token\n\
             scope = openstack\nauth_method = client_secret_basic\nclient_id = tacker\nclient_secret = s\n\
             [metrics]\nbind_host = 127.0.0.1\nbind_port = {metrics_port}\n",
            repo_root().join("etc/api-paste.ini").display(),
            dir.path().join("t.db").display(),
            dir.path().join("keys").display(),
            uri = peer.uri()
        ),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tacker-server"));
    cmd.current_dir(dir.path())
        .arg("--config-file")
        .arg(&conf)
        .env("NO_COLOR", "1");
    let mut guard =
        ChildGuard::spawn("tacker-server", cmd, &dir.path().join("server.log")).unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let metrics_url = format!("http://127.0.0.1:{metrics_port}/metrics");
    wait_ready_http(&mut guard, &client, &metrics_url, DEFAULT_DEADLINE)
        .await
        .unwrap();
    let scrape = || async {
        samples(
            &client
                .get(&metrics_url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        )
    };
    let before = scrape().await;

    let r = client
        .post(format!("{base}/v1.0/vims"))
        .json(&json!({"vim": {
            "tenant_id": "tenant-a", "name": "k8s-1", "type": "kubernetes",
            "auth_url": peer.uri(), "auth_cred": {"bearer_token": "k8s-token"},
            "vim_project": {"name": "default"}, "is_default": false}}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{body}; log:\n{}", guard.log());
    let id = body["vim"]["id"].as_str().unwrap().to_owned();
    let r = client
        .delete(format!("{base}/v1.0/vims/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "{}", guard.log());

    let after = scrape().await;
    let delta = |key: &str| get(&after, key) - get(&before, key);
    assert_eq!(
        delta(r#"tacker_outbound_token_requests_total{outcome="ok"}"#),
        1.0,
        "{after:#?}"
    );
    assert_eq!(
        delta(r#"tacker_barbican_requests_total{outcome="ok"}"#),
        2.0,
        "{after:#?}"
    );
    assert_eq!(
        delta(r#"tacker_http_requests_total{prefix="/v1.0",method="POST",status="201"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"tacker_http_requests_total{prefix="/v1.0",method="DELETE",status="204"}"#),
        1.0
    );
    guard.stop();
}
