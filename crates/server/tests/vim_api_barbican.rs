//! The `/v1.0/vims` router of `tacker-vim` (in-process, `oneshot`) with the real drivers and
//! `tacker-outbound`'s `BarbicanClient` (through the server's `BarbicanKeys` adapter) against real Barbican 23.0.0 behind real
//! keystonemiddleware `external_oauth2_token` and the real authorization server: the issue's
//! Kubernetes VIM acceptance flow up to the server wiring (which adds the inbound filter).
//!
//! Needs `scripts/setup/authz.sh` and `scripts/setup/barbican.sh`.

use std::sync::Arc;

use axum::body::Body;
use axum::Router;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tacker_common::config::Section;
use tacker_common::RequestContext;
use tacker_oauth2_client::SystemClock;
use tacker_outbound::{BarbicanClient, KeyManagerOptions, ServiceAuth, TokenSource};
use tacker_server::key_manager::BarbicanKeys;
use tacker_test_support::{AuthMethod, AuthzOptions, AuthzServer, BarbicanServer, TestPki};
use tacker_vim::drivers::{registry, DriverConfig};
use tacker_vim::store::Scope;
use tacker_vim::vault::FileKeyManager;
use tacker_vim::{api_router, VimState, VimStore};
use tower::ServiceExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

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

struct App {
    router: Router,
    store: Arc<dyn VimStore>,
    keys: tempfile::TempDir,
    _db: tempfile::TempDir,
}

async fn app(barbican: &BarbicanServer, authz: &AuthzServer, pki: &TestPki) -> App {
    let mut ext = Section::new("ext_oauth2_auth");
    for (k, v) in authz
        .ext_oauth2_conf(AuthMethod::ClientSecretBasic, pki)
        .entries()
    {
        ext.set(k.as_str(), v.as_str(), "tacker.conf");
    }
    let km = BarbicanKeys(
        BarbicanClient::new(
            KeyManagerOptions {
                barbican_endpoint: Some(barbican.endpoint()),
                barbican_version: "v1".into(),
            },
            ServiceAuth::ExtOAuth2(TokenSource::new(&ext, Arc::new(SystemClock)).unwrap()),
        )
        .unwrap(),
    );
    let db = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let store = tacker_vim::connect(&format!(
        "sqlite:///{}",
        db.path().join("tacker.db").display()
    ))
    .await
    .unwrap();
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
    App {
        router: api_router(VimState::new(store.clone(), drivers)),
        store,
        keys,
        _db: db,
    }
}

async fn call(app: &App, m: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = Request::builder().method(m).uri(uri);
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let mut req = req
        .body(
            body.map(|b| Body::from(b.to_string()))
                .unwrap_or_else(Body::empty),
        )
        .unwrap();
    req.extensions_mut().insert(RequestContext::noauth_admin());
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn secret_uuid(vim: &Value) -> String {
    vim["auth_cred"]["secret_uuid"]
        .as_str()
        .unwrap_or_else(|| panic!("no secret_uuid: {vim}"))
        .to_owned()
}

/// The VIM's stored `auth_cred` (the API masks `secret_uuid` as `***`, as upstream).
async fn stored(app: &App, id: &str) -> Value {
    let vim = app
        .store
        .get(id, &Scope::All)
        .await
        .unwrap()
        .expect("VIM row");
    json!({"id": id, "auth_cred": vim.auth_cred})
}

/// Returns the secret's uuid.
async fn assert_secret_decrypts(
    app: &App,
    barbican: &BarbicanServer,
    authz: &AuthzServer,
    id: &str,
    bearer: &str,
) -> String {
    let stored = stored(app, id).await;
    let uuid = secret_uuid(&stored);
    let key = barbican
        .payload(authz, &uuid)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("secret {uuid} missing in Barbican\n{}", barbican.log()));
    let key = SecretString::from(String::from_utf8(key).unwrap());
    let token = stored["auth_cred"]["bearer_token"]
        .as_str()
        .expect("encrypted bearer token");
    assert_ne!(token, bearer);
    let plain =
        tacker_vim::vault::fernet::decrypt(&key, token).expect("Barbican's key decrypts it");
    assert_eq!(plain.expose_secret(), bearer);
    uuid
}

#[tokio::test]
async fn kubernetes_vim_create_update_delete_and_barbican_outage_with_real_barbican() {
    let pki = TestPki::new().unwrap();
    let authz = AuthzServer::start(&pki, AuthzOptions::default())
        .await
        .unwrap();
    let mut barbican = BarbicanServer::start(&authz, &pki).await.unwrap();
    let k8s = fake_kubernetes().await;
    let app = app(&barbican, &authz, &pki).await;
    let body = |name: &str, bearer: &str| {
        json!({"vim": {"type": "kubernetes", "name": name, "auth_url": k8s.uri(), "tenant_id": tacker_test_support::PROJECT_ID,
                "auth_cred": {"bearer_token": bearer}, "vim_project": {"name": "default"}}})
    };

    // Create → 201 barbican_key; the secret decrypts the stored bearer token.
    let (status, created) =
        call(&app, Method::POST, "/vims", Some(body("k8s", "bearer-one"))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}\n{}", barbican.log());
    let vim = created["vim"].clone();
    assert_eq!(vim["auth_cred"]["key_type"], "barbican_key");
    assert_eq!(
        vim["auth_cred"]["secret_uuid"], "***",
        "masked in answers, as upstream"
    );
    let id = vim["id"].as_str().unwrap().to_owned();
    let old = assert_secret_decrypts(&app, &barbican, &authz, &id, "bearer-one").await;

    // Update with a new auth_cred → a new secret, the old one deleted.
    let (status, updated) = call(
        &app,
        Method::PUT,
        &format!("/vims/{id}"),
        Some(json!({"vim": {"auth_cred": {"bearer_token": "bearer-two"}}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let new = assert_secret_decrypts(&app, &barbican, &authz, &id, "bearer-two").await;
    assert_ne!(new, old);
    assert_eq!(
        barbican.payload(&authz, &old).await.unwrap(),
        None,
        "old secret deleted"
    );

    // Delete → the secret is gone.
    let (status, _) = call(&app, Method::DELETE, &format!("/vims/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        barbican.payload(&authz, &new).await.unwrap(),
        None,
        "secret deleted"
    );

    // Barbican stopped during a create → 500 KeyManagerError, no VIM row, no key anywhere.
    barbican.stop();
    let (status, err) = call(
        &app,
        Method::POST,
        "/vims",
        Some(body("k8s-outage", "bearer-three")),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{err}");
    assert_eq!(err["TackerError"]["type"], "KeyManagerError", "{err}");
    let message = err["TackerError"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Key manager error: Unable to establish connection to"),
        "{message}"
    );
    let (_, list) = call(&app, Method::GET, "/vims", None).await;
    assert_eq!(list["vims"], json!([]), "no VIM row");
    assert_eq!(
        std::fs::read_dir(app.keys.path()).unwrap().count(),
        0,
        "no key file"
    );

    // Barbican back → the same request succeeds.
    barbican.restart().await.unwrap();
    let (status, created) = call(
        &app,
        Method::POST,
        "/vims",
        Some(body("k8s-outage", "bearer-three")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["vim"]["id"].as_str().unwrap();
    assert_secret_decrypts(&app, &barbican, &authz, id, "bearer-three").await;
}
