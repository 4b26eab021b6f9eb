//! VIM keys and credentials through the `/v1.0/vims` API with the real Kubernetes driver, real
//! Fernet keys (in files, or in an in-memory Barbican) and a fake Kubernetes API: a failed
//! update leaves the old key and ciphertext, concurrent updates serialize, partial
//! `auth_cred` updates merge plaintext.

mod driver_support;

use std::sync::Arc;

use axum::body::Body;
use driver_support::MemoryBarbican;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tacker_common::{Identity, RequestContext};
use tacker_vim::drivers::{registry, DriverConfig};
use tacker_vim::vault::{fernet, FileKeyManager, KeyManager, KeyRef};
use tacker_vim::{api_router, connect, Scope, Vim, VimState, VimStore};
use tower::ServiceExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

struct App {
    router: axum::Router,
    store: Arc<dyn VimStore>,
    files: FileKeyManager,
    barbican: Arc<MemoryBarbican>,
    k8s: MockServer,
    _dir: tempfile::TempDir,
}

impl App {
    /// Kubernetes VIM keys in files (`[k8s_vim] use_barbican = False`) or in Barbican.
    async fn new(use_barbican: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = connect(&format!(
            "sqlite:///{}",
            dir.path().join("tacker.db").display()
        ))
        .await
        .unwrap();
        let cfg = DriverConfig {
            fernet_key_dir: dir.path().join("keys"),
            openstack_use_barbican: false,
            k8s_use_barbican: use_barbican,
            endpoints: Default::default(),
        };
        let files = FileKeyManager::new(&cfg.fernet_key_dir);
        let barbican = Arc::new(MemoryBarbican::default());
        let drivers = registry(
            &cfg,
            Arc::new(files.clone()),
            Some(barbican.clone() as Arc<dyn KeyManager>),
        );
        Self {
            router: api_router(VimState::new(store.clone(), drivers)),
            store,
            files,
            barbican,
            k8s: driver_support::accepting_kubernetes().await,
            _dir: dir,
        }
    }

    async fn call(&self, method: Method, uri: &str, body: Value) -> (StatusCode, Value) {
        call(&self.router, method, uri, body).await
    }

    /// A second replica: its own store (pool) on the same SQLite file and its own key
    /// manager on the same key directory, as a second `tacker-server` process has.
    async fn replica(&self) -> axum::Router {
        let store = connect(&format!(
            "sqlite:///{}",
            self._dir.path().join("tacker.db").display()
        ))
        .await
        .unwrap();
        let cfg = DriverConfig {
            fernet_key_dir: self.files.dir().to_owned(),
            openstack_use_barbican: false,
            k8s_use_barbican: false,
            endpoints: Default::default(),
        };
        let files = FileKeyManager::new(&cfg.fernet_key_dir);
        api_router(VimState::new(store, registry(&cfg, Arc::new(files), None)))
    }

    async fn create(&self, name: &str, token: &str) -> String {
        let body = json!({"vim": {"name": name, "type": "kubernetes", "auth_url": self.k8s.uri(),
            "auth_cred": {"bearer_token": token}, "vim_project": {"name": "default"}}});
        let (status, body) = self.call(Method::POST, "/vims", body).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["vim"]["id"].as_str().unwrap().to_owned()
    }

    async fn stored(&self, id: &str) -> Vim {
        self.store.get(id, &Scope::All).await.unwrap().unwrap()
    }

    /// The VIM's current key, wherever its row says it is.
    async fn key(&self, vim: &Vim) -> SecretString {
        let key_ref = KeyRef::from_auth_cred(&vim.auth_cred).unwrap();
        match key_ref {
            KeyRef::FernetFile => self.files.load(&vim.id, &key_ref).await.unwrap(),
            KeyRef::Barbican { .. } => self.barbican.load(&vim.id, &key_ref).await.unwrap(),
        }
    }

    /// The stored bearer token, decrypted with the VIM's current key.
    async fn bearer_token(&self, id: &str) -> String {
        let vim = self.stored(id).await;
        let token = vim.auth_cred["bearer_token"].as_str().unwrap().to_owned();
        let key = self.key(&vim).await;
        fernet::decrypt(&key, &token)
            .unwrap_or_else(|e| panic!("the stored bearer token does not decrypt: {e}"))
            .expose_secret()
            .to_owned()
    }

    /// The key directory's files, without the commit lock (`.commit.lock`, which stays once
    /// an update has taken its turn).
    fn key_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.files.dir())
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|name| name != ".commit.lock")
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The `Authorization` headers the Kubernetes API received, in order.
    async fn authorizations(&self) -> Vec<String> {
        self.k8s
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter_map(|r| r.headers.get("authorization"))
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }
}

async fn failed_rename_keeps_key_and_credentials(use_barbican: bool) {
    let app = App::new(use_barbican).await;
    app.create("taken", "token-taken").await;
    let id = app.create("mine", "token-mine").await;
    let before = app.stored(&id).await;
    let key_before = app.key(&before).await;
    let files_before = app.key_files();
    let secrets_before = app.barbican.len();

    // Rename to an existing name with new credentials: the row write fails after the new
    // key was stored.
    let (status, body) = app
        .call(
            Method::PUT,
            &format!("/vims/{id}"),
            json!({"vim": {"name": "taken", "auth_cred": {"bearer_token": "token-new"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["TackerError"]["type"], "DuplicateEntity");

    let after = app.stored(&id).await;
    assert_eq!(after.auth_cred, before.auth_cred, "old ciphertext kept");
    assert_eq!(
        app.key(&after).await.expose_secret(),
        key_before.expose_secret(),
        "old key kept"
    );
    assert_eq!(app.bearer_token(&id).await, "token-mine");
    assert_eq!(app.key_files(), files_before, "no staged key left");
    assert_eq!(
        app.barbican.len(),
        secrets_before,
        "the new secret is deleted"
    );
}

#[tokio::test]
async fn failed_rename_keeps_the_key_file_and_the_credentials_decryptable() {
    failed_rename_keeps_key_and_credentials(false).await;
}

#[tokio::test]
async fn failed_rename_keeps_the_barbican_secret_and_the_credentials_decryptable() {
    failed_rename_keeps_key_and_credentials(true).await;
}

async fn concurrent_credential_updates(use_barbican: bool) {
    let app = Arc::new(App::new(use_barbican).await);
    let id = app.create("k", "token-0").await;
    let mut tasks = Vec::new();
    for i in 1..=20 {
        let app = app.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            app.call(
                Method::PUT,
                &format!("/vims/{id}"),
                json!({"vim": {"auth_cred": {"bearer_token": format!("token-{i}")}}}),
            )
            .await
        }));
    }
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let token = app.bearer_token(&id).await;
    let values: Vec<String> = (1..=20).map(|i| format!("token-{i}")).collect();
    assert!(values.contains(&token), "{token}");
    if use_barbican {
        assert_eq!(app.barbican.len(), 1, "old secrets deleted");
    } else {
        assert_eq!(app.key_files(), vec![id.clone()], "one key, nothing staged");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_credential_updates_leave_credentials_that_decrypt() {
    concurrent_credential_updates(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_credential_updates_with_barbican_leave_credentials_that_decrypt() {
    concurrent_credential_updates(true).await;
}

/// `{"auth_cred": {"ssl_ca_cert": "None"}}` keeps the bearer token: the VIM endpoint gets the
/// original token on re-registration, and the stored one decrypts to it with the new key.
#[tokio::test]
async fn partial_auth_cred_update_keeps_the_bearer_token() {
    let app = App::new(false).await;
    let id = app.create("k", "token-original").await;
    let key_before = app.key(&app.stored(&id).await).await;
    let (status, body) = app
        .call(
            Method::PUT,
            &format!("/vims/{id}"),
            json!({"vim": {"auth_cred": {"ssl_ca_cert": "None"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["vim"]["auth_cred"]["bearer_token"], "***");
    assert_eq!(app.bearer_token(&id).await, "token-original");
    let stored = app.stored(&id).await;
    assert_eq!(stored.auth_cred["ssl_ca_cert"], "None");
    assert_ne!(
        app.key(&stored).await.expose_secret(),
        key_before.expose_secret(),
        "re-encrypted with a new key"
    );
    let sent = app.authorizations().await;
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert!(
        sent.iter().all(|a| a == "Bearer token-original"),
        "{sent:?}"
    );
}

/// A partial update of an OIDC VIM keeps its client secret and password (the password lives
/// in its own column) as plaintext for the driver.
#[tokio::test]
async fn partial_auth_cred_update_keeps_password_and_client_secret() {
    let app = App::new(false).await;
    let token_url = format!("{}/token", app.k8s.uri());
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id_token": "idt"})))
        .mount(&app.k8s)
        .await;
    let body = json!({"vim": {"name": "oidc", "type": "kubernetes", "auth_url": app.k8s.uri(),
        "auth_cred": {"oidc_token_url": token_url, "username": "u", "password": "pw-original",
                      "client_id": "tacker", "client_secret": "cs-original"},
        "vim_project": {"name": "default"}}});
    let (status, body) = app.call(Method::POST, "/vims", body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["vim"]["id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .call(
            Method::PUT,
            &format!("/vims/{id}"),
            json!({"vim": {"auth_cred": {"ssl_ca_cert": "None"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let vim = app.stored(&id).await;
    let key = app.key(&vim).await;
    let open = |token: &str| {
        fernet::decrypt(&key, token)
            .unwrap()
            .expose_secret()
            .to_owned()
    };
    assert_eq!(open(vim.password.as_deref().unwrap()), "pw-original");
    assert_eq!(
        open(vim.auth_cred["client_secret"].as_str().unwrap()),
        "cs-original"
    );
    let forms: Vec<String> = app
        .k8s
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/token")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(forms.len(), 2);
    assert!(
        forms[1].contains("password=pw-original") && forms[1].contains("client_secret=cs-original"),
        "{}",
        forms[1]
    );
}

async fn call(
    router: &axum::Router,
    method: Method,
    uri: &str,
    body: Value,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    req.extensions_mut().insert(RequestContext::from(Identity {
        user_id: Some("user-p1".to_owned()),
        project_id: Some("p1".to_owned()),
        roles: vec!["member".to_owned(), "reader".to_owned()],
        ..Identity::default()
    }));
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Two replicas (two stores, two key managers, one SQLite file, one key directory), 20
/// concurrent credential updates of one VIM spread over both: each is applied or refused as
/// a conflict, never both half-way; the key left current opens the stored token, which is
/// one a 200 was given for; nothing staged remains.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_credential_updates_on_two_replicas_leave_credentials_that_decrypt() {
    let app = Arc::new(App::new(false).await);
    let replica = app.replica().await;
    let id = app.create("k", "token-0").await;
    let mut tasks = Vec::new();
    for i in 1..=20 {
        let router = if i % 2 == 0 {
            app.router.clone()
        } else {
            replica.clone()
        };
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let token = format!("token-{i}");
            let (status, body) = call(
                &router,
                Method::PUT,
                &format!("/vims/{id}"),
                json!({"vim": {"auth_cred": {"bearer_token": token}}}),
            )
            .await;
            (token, status, body)
        }));
    }
    let mut applied = Vec::new();
    for task in tasks {
        let (token, status, body) = task.await.unwrap();
        match status {
            StatusCode::OK => applied.push(token),
            StatusCode::CONFLICT => {}
            other => panic!("{other}: {body}"),
        }
    }
    assert!(!applied.is_empty(), "no update was applied");
    let token = app.bearer_token(&id).await;
    assert!(applied.contains(&token), "{token} not among {applied:?}");
    assert_eq!(app.key_files(), vec![id.clone()], "one key, nothing staged");
}
