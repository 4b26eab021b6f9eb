//! The VIM drivers of `tacker-vim` with `tacker-outbound`'s `BarbicanClient` (through the server's `BarbicanKeys` adapter) under external
//! OAuth 2.0 (wiremock authorization server, Barbican, Kubernetes API and VIM Keystone): the
//! upstream driver cases of spec §8.3 (items 17, 18, 21) and §8.4 (items 23, 24, 27, 28).

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use secrecy::SecretString;
use serde_json::{json, Map, Value};
use tacker_common::config::Section;
use tacker_oauth2_client::SystemClock;
use tacker_outbound::{BarbicanClient, KeyManagerOptions, ServiceAuth, TokenSource};
use tacker_server::key_manager::BarbicanKeys;
use tacker_vim::drivers::{registry, DriverConfig, DriverRegistry};
use tacker_vim::vault::FileKeyManager;
use tacker_vim::Vim;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const UUID: &str = "5ad9b3f0-53f5-4c5d-8a8b-4a8f0f6c1d2e";

struct Peers {
    authz: MockServer,
    barbican: MockServer,
    keys: tempfile::TempDir,
    drivers: DriverRegistry,
}

async fn peers() -> Peers {
    let authz = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "svc-token", "expires_in": 300})),
        )
        .mount(&authz)
        .await;
    let barbican = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/secrets/"))
        .and(header("authorization", "Bearer svc-token"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(
                json!({"secret_ref": format!("{}/v1/secrets/{UUID}", barbican.uri())}),
            ),
        )
        .mount(&barbican)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v1/secrets/{UUID}")))
        .and(header("authorization", "Bearer svc-token"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&barbican)
        .await;
    let mut ext = Section::new("ext_oauth2_auth");
    for (k, v) in [
        ("use_ext_oauth2_auth", "True".to_owned()),
        ("token_endpoint", format!("{}/token", authz.uri())),
        ("scope", "openstack".to_owned()),
        ("client_id", "tacker".to_owned()),
        ("client_secret", "secret".to_owned()),
    ] {
        ext.set(k, v, "tacker.conf");
    }
    let km = BarbicanKeys(
        BarbicanClient::new(
            KeyManagerOptions {
                barbican_endpoint: Some(barbican.uri()),
                barbican_version: "v1".into(),
            },
            ServiceAuth::ExtOAuth2(TokenSource::new(&ext, Arc::new(SystemClock)).unwrap()),
        )
        .unwrap(),
    );
    let keys = tempfile::tempdir().unwrap();
    let cfg = DriverConfig {
        fernet_key_dir: keys.path().to_owned(),
        openstack_use_barbican: true,
        k8s_use_barbican: true,
        endpoints: Default::default(),
    };
    let drivers = registry(
        &cfg,
        Arc::new(FileKeyManager::new(keys.path())),
        Some(Arc::new(km)),
    );
    Peers {
        authz,
        barbican,
        keys,
        drivers,
    }
}

fn vim(vim_type: &str, auth_url: &str, auth_cred: Value, vim_project: Value) -> Vim {
    let obj = |v: Value| -> Map<String, Value> { v.as_object().cloned().unwrap_or_default() };
    Vim {
        id: uuid::Uuid::new_v4().to_string(),
        vim_type: vim_type.into(),
        tenant_id: "2e189ea6c1df4e4ba6d89de254b3a534".into(),
        name: format!("{vim_type}-vim"),
        description: String::new(),
        placement_attr: None,
        shared: false,
        is_default: false,
        created_at: chrono::Utc::now().naive_utc(),
        updated_at: None,
        deleted_at: None,
        extra: Map::new(),
        auth_url: auth_url.into(),
        vim_project: obj(vim_project),
        auth_cred: obj(auth_cred),
        password: None,
    }
}

/// The key Barbican received in the store request.
async fn stored_key(barbican: &MockServer) -> SecretString {
    let requests = barbican.received_requests().await.unwrap();
    let post = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .expect("a store request");
    let body: Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(body["secret_type"], "opaque");
    assert_eq!(body["payload_content_type"], "application/octet-stream");
    assert_eq!(body["payload_content_encoding"], "base64");
    let key = base64::engine::general_purpose::STANDARD
        .decode(body["payload"].as_str().unwrap())
        .unwrap();
    SecretString::from(String::from_utf8(key).unwrap())
}

fn count(requests: &[wiremock::Request], m: &str) -> usize {
    requests.iter().filter(|r| r.method.as_str() == m).count()
}

async fn fake_kubernetes() -> MockServer {
    let k8s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"kind": "APIVersions", "versions": ["v1"]})),
        )
        .mount(&k8s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/namespaces"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"items": [{"metadata": {"name": "default"}}]})),
        )
        .mount(&k8s)
        .await;
    k8s
}

// §8.4 items 24 and 28: encode with use_barbican under external OAuth 2.0.
#[tokio::test]
async fn test_kubernetes_encode_vim_auth_barbican_with_ext_oauth2() {
    let p = peers().await;
    let k8s = fake_kubernetes().await;
    let mut v = vim(
        "kubernetes",
        &k8s.uri(),
        json!({"bearer_token": "k8s-bearer"}),
        json!({"name": "default"}),
    );
    p.drivers["kubernetes"].register(&mut v).await.unwrap();
    assert_eq!(v.auth_cred["key_type"], "barbican_key");
    assert_eq!(v.auth_cred["secret_uuid"], UUID);
    let key = stored_key(&p.barbican).await;
    let token = v.auth_cred["bearer_token"].as_str().unwrap();
    let plain = tacker_vim::vault::fernet::decrypt(&key, token).unwrap();
    assert_eq!(secrecy::ExposeSecret::expose_secret(&plain), "k8s-bearer");
    assert_eq!(p.authz.received_requests().await.unwrap().len(), 1);
}

// §8.4 items 23 and 27: deregister a Barbican VIM under external OAuth 2.0.
#[tokio::test]
async fn test_kubernetes_deregister_vim_barbican_with_ext_oauth2() {
    let p = peers().await;
    let k8s = fake_kubernetes().await;
    let mut v = vim(
        "kubernetes",
        &k8s.uri(),
        json!({"bearer_token": "k8s-bearer"}),
        json!({"name": "default"}),
    );
    p.drivers["kubernetes"].register(&mut v).await.unwrap();
    p.drivers["kubernetes"].deregister(&v).await.unwrap();
    let requests = p.barbican.received_requests().await.unwrap();
    assert_eq!(count(&requests, "DELETE"), 1, "the secret is deleted");
    // One token for both operations (upstream: one per operation).
    assert_eq!(p.authz.received_requests().await.unwrap().len(), 1);
}

/// The VIM's Keystone: unauthenticated GET of auth_url, password auth, regions.
async fn fake_vim_keystone() -> MockServer {
    let ks = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": {"id": "v3.14"}})))
        .mount(&ks)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/auth/tokens"))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("X-Subject-Token", "vim-keystone-token")
                .set_body_json(
                    json!({"token": {"expires_at": "2099-01-01T00:00:00Z", "catalog": []}}),
                ),
        )
        .mount(&ks)
        .await;
    Mock::given(method("GET"))
        .and(path("/v3/regions"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"regions": [{"id": "RegionOne"}]})),
        )
        .mount(&ks)
        .await;
    ks
}

// §8.3 items 18 and 21: encode with `[vim_keys] use_barbican` under external OAuth 2.0.
#[tokio::test]
async fn test_openstack_encode_vim_auth_barbican_with_ext_oauth2() {
    let p = peers().await;
    let ks = fake_vim_keystone().await;
    let mut v = vim(
        "openstack",
        &format!("{}/v3", ks.uri()),
        json!({"username": "nfv_user", "password": "vim-password", "user_domain_name": "Default", "cert_verify": "False"}),
        json!({"name": "nfv", "project_domain_name": "Default"}),
    );
    p.drivers["openstack"]
        .register(&mut v)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.auth_cred["key_type"], "barbican_key");
    assert_eq!(v.auth_cred["secret_uuid"], UUID);
    let key = stored_key(&p.barbican).await;
    let plain = tacker_vim::vault::fernet::decrypt(
        &key,
        v.password.as_deref().expect("encrypted password"),
    )
    .unwrap();
    assert_eq!(secrecy::ExposeSecret::expose_secret(&plain), "vim-password");
    assert!(
        std::fs::read_dir(p.keys.path()).unwrap().next().is_none(),
        "no key file"
    );
}

// §8.3 items 17 and 21: deregister a Barbican OpenStack VIM under external OAuth 2.0.
#[tokio::test]
async fn test_openstack_deregister_vim_barbican_with_ext_oauth2() {
    let p = peers().await;
    let mut auth_cred = HashMap::new();
    auth_cred.insert("key_type", "barbican_key");
    auth_cred.insert("secret_uuid", UUID);
    let v = vim(
        "openstack",
        "http://keystone.invalid/v3",
        json!(auth_cred),
        json!({"name": "nfv"}),
    );
    p.drivers["openstack"].deregister(&v).await.unwrap();
    let requests = p.barbican.received_requests().await.unwrap();
    assert_eq!(count(&requests, "DELETE"), 1);
    assert_eq!(requests[0].url.path(), format!("/v1/secrets/{UUID}"));
}
