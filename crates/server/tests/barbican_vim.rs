//! Issue 5, integration tier through `tacker-server`: Kubernetes VIMs whose Fernet keys go to
//! real Barbican 23.0.0 (behind real keystonemiddleware `external_oauth2_token`), with the
//! server's own client-credentials token from the real authorization server.
//!
//! For each of the five client authentication methods: create a Kubernetes VIM (against an
//! in-test fake Kubernetes API) → 201 with `key_type: barbican_key`; the secret exists in
//! Barbican and decrypts the VIM's stored bearer token; an update with a new `auth_cred`
//! replaces the secret and deletes the old one; delete removes the secret. And: Barbican
//! stopped during a create → 500 `KeyManagerError`, no VIM, no key; Barbican back → the same
//! request succeeds.
//!
//! Needs `scripts/setup/authz.sh` and `scripts/setup/barbican.sh`, and the server wiring of
//! `tacker_outbound::BarbicanClient` (as `BarbicanKeys`) into the VIM drivers (`[key_manager]`).

use std::time::Duration;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tacker_test_support::{
    AuthMethod, AuthzOptions, AuthzServer, BarbicanServer, TackerOptions, TackerServer, TestPki,
    GUIDE_API_PASTE,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Bound of each request (a hung server fails the test instead of hanging CI).
const REQUEST_BOUND: Duration = Duration::from_secs(120);

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_BOUND)
        .build()
        .expect("client")
}

/// A Kubernetes API answering the driver's two reachability calls.
async fn fake_kubernetes() -> MockServer {
    let k8s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]
        })))
        .mount(&k8s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/namespaces"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "NamespaceList", "apiVersion": "v1",
            "items": [{"metadata": {"name": "default"}}, {"metadata": {"name": "kube-system"}}]
        })))
        .mount(&k8s)
        .await;
    k8s
}

async fn start_tacker(
    authz: &AuthzServer,
    pki: &TestPki,
    method: AuthMethod,
    barbican: &str,
) -> TackerServer {
    let conf = format!(
        "{}\n[key_manager]\nbarbican_endpoint = {barbican}\nbarbican_version = v1\n[k8s_vim]\nuse_barbican = True\n",
        authz.ext_oauth2_conf(method, pki).to_conf("auth_strategy = keystone")
    );
    TackerServer::start_with(TackerOptions {
        conf,
        paste_text: Some(GUIDE_API_PASTE.to_owned()),
        binary: Some(env!("CARGO_BIN_EXE_tacker-server").into()),
        ..TackerOptions::default()
    })
    .await
    .expect("tacker-server starts")
}

fn vim_body(name: &str, k8s: &MockServer, bearer: &str) -> Value {
    json!({"vim": {
        "type": "kubernetes",
        "name": name,
        "auth_url": k8s.uri(),
        "auth_cred": {"bearer_token": bearer},
        "vim_project": {"name": "default"},
    }})
}

async fn call(
    tacker: &TackerServer,
    token: &str,
    m: reqwest::Method,
    p: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut req = http().request(m, tacker.url(p)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The VIM's stored `auth_cred` (encrypted secrets) from the server's database.
async fn stored_auth_cred(tacker: &TackerServer, vim_id: &str) -> Value {
    let url = format!(
        "sqlite://{}?mode=ro",
        tacker.dir().join("tacker.db").display()
    );
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .expect("open the server's database");
    let text: Option<String> =
        sqlx::query_scalar("SELECT auth_cred FROM vimauths WHERE vim_id = ?")
            .bind(vim_id)
            .fetch_optional(&pool)
            .await
            .expect("query vimauths");
    pool.close().await;
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

/// Checks that the VIM's Barbican secret decrypts its stored bearer token; returns the secret's
/// uuid (read from the database: answers mask `secret_uuid` as `***`, as upstream).
async fn assert_secret_decrypts(
    barbican: &BarbicanServer,
    authz: &AuthzServer,
    tacker: &TackerServer,
    id: &str,
    bearer: &str,
    case: &str,
) -> String {
    let stored = stored_auth_cred(tacker, id).await;
    let uuid = stored["secret_uuid"]
        .as_str()
        .unwrap_or_else(|| panic!("{case}: stored auth_cred {stored}"))
        .to_owned();
    let key = barbican
        .payload(authz, &uuid)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{case}: secret {uuid} missing in Barbican"));
    let key = SecretString::from(String::from_utf8(key).expect("utf-8 key"));
    let token = stored["bearer_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{case}: stored auth_cred {stored}"));
    assert_ne!(token, bearer, "{case}: stored encrypted");
    let plain = tacker_vim::vault::fernet::decrypt(&key, token)
        .expect("the Barbican key decrypts the stored token");
    assert_eq!(plain.expose_secret(), bearer, "{case}");
    uuid
}

#[tokio::test]
async fn kubernetes_vim_keys_in_real_barbican_with_each_auth_method() {
    let pki = TestPki::new().unwrap();
    let authz = AuthzServer::start(&pki, AuthzOptions::default())
        .await
        .unwrap();
    let barbican = BarbicanServer::start(&authz, &pki).await.unwrap();
    let k8s = fake_kubernetes().await;
    for m in AuthMethod::ALL {
        let tacker = start_tacker(&authz, &pki, m, &barbican.endpoint()).await;
        let token = authz.token_for(m).await.unwrap();
        let case = m.as_str();

        let (status, body) = call(
            &tacker,
            &token,
            reqwest::Method::POST,
            "/v1.0/vims",
            Some(&vim_body(&format!("k8s-{case}"), &k8s, "k8s-bearer-one")),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{case}: {body}\n{}",
            tacker.log()
        );
        let vim = body["vim"].clone();
        assert_eq!(
            vim["auth_cred"]["key_type"], "barbican_key",
            "{case}: {vim}"
        );
        assert_eq!(vim["auth_cred"]["bearer_token"], "***", "{case}");
        let id = vim["id"].as_str().unwrap().to_owned();
        let old_uuid =
            assert_secret_decrypts(&barbican, &authz, &tacker, &id, "k8s-bearer-one", case).await;

        let update = json!({"vim": {"auth_cred": {"bearer_token": "k8s-bearer-two"}}});
        let (status, body) = call(
            &tacker,
            &token,
            reqwest::Method::PUT,
            &format!("/v1.0/vims/{id}"),
            Some(&update),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{case}: {body}\n{}", tacker.log());
        let new_uuid =
            assert_secret_decrypts(&barbican, &authz, &tacker, &id, "k8s-bearer-two", case).await;
        assert_ne!(new_uuid, old_uuid, "{case}: a new secret");
        assert_eq!(
            barbican.payload(&authz, &old_uuid).await.unwrap(),
            None,
            "{case}: old secret deleted"
        );

        let (status, body) = call(
            &tacker,
            &token,
            reqwest::Method::DELETE,
            &format!("/v1.0/vims/{id}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{case}: {body}");
        assert_eq!(
            barbican.payload(&authz, &new_uuid).await.unwrap(),
            None,
            "{case}: secret deleted"
        );
    }
}

#[tokio::test]
async fn barbican_stopped_during_create_leaves_nothing_and_recovers() {
    let pki = TestPki::new().unwrap();
    let authz = AuthzServer::start(&pki, AuthzOptions::default())
        .await
        .unwrap();
    let mut barbican = BarbicanServer::start(&authz, &pki).await.unwrap();
    let k8s = fake_kubernetes().await;
    let tacker = start_tacker(
        &authz,
        &pki,
        AuthMethod::ClientSecretBasic,
        &barbican.endpoint(),
    )
    .await;
    let token = authz
        .token_for(AuthMethod::ClientSecretBasic)
        .await
        .unwrap();
    let body = vim_body("k8s-outage", &k8s, "k8s-bearer");

    barbican.stop();
    let (status, answer) = call(
        &tacker,
        &token,
        reqwest::Method::POST,
        "/v1.0/vims",
        Some(&body),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{answer}");
    assert_eq!(answer["TackerError"]["type"], "KeyManagerError", "{answer}");
    assert!(
        answer["TackerError"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Key manager error: "),
        "{answer}"
    );
    let (status, list) = call(&tacker, &token, reqwest::Method::GET, "/v1.0/vims", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["vims"], json!([]), "no VIM row");
    let keys = std::fs::read_dir(tacker.dir().join("fernet_keys"))
        .unwrap()
        .count();
    assert_eq!(keys, 0, "no key file either");

    barbican.restart().await.unwrap();
    let (status, answer) = call(
        &tacker,
        &token,
        reqwest::Method::POST,
        "/v1.0/vims",
        Some(&body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}\n{}", tacker.log());
    assert_eq!(answer["vim"]["auth_cred"]["key_type"], "barbican_key");
}

#[tokio::test]
async fn fifty_vim_creates_cause_exactly_one_token_request() {
    let pki = TestPki::new().unwrap();
    let authz = AuthzServer::start(&pki, AuthzOptions::default())
        .await
        .unwrap();
    let barbican = BarbicanServer::start(&authz, &pki).await.unwrap();
    let k8s = fake_kubernetes().await;
    let tacker = start_tacker(
        &authz,
        &pki,
        AuthMethod::ClientSecretBasic,
        &barbican.endpoint(),
    )
    .await;
    let token = authz
        .token_for(AuthMethod::ClientSecretBasic)
        .await
        .unwrap();
    authz.reset_stats().await.unwrap();
    for i in 0..50 {
        let body = vim_body(&format!("k8s-{i}"), &k8s, "k8s-bearer");
        let (status, answer) = call(
            &tacker,
            &token,
            reqwest::Method::POST,
            "/v1.0/vims",
            Some(&body),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "create {i}: {answer}");
    }
    // Introspections of the caller's token are counted apart; the server's own token once.
    assert_eq!(authz.stats().await.unwrap().token_requests, 1);
}
