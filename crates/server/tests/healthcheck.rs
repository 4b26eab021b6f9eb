//! Tier 2, issue 9 item 3: `/healthcheck` as oslo.middleware's healthcheck app answers it,
//! served in-process (`tower::ServiceExt::oneshot`) beside the guide's OAuth 2.0 pipelines:
//! no token, no request id; `200 OK` / `204` while the database answers, `503` naming the
//! failed check (and nothing about the database) when it does not. And a VIM request whose
//! database cannot be reached: `503` in Tacker's error envelope with `Retry-After`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::Router;
use chrono::NaiveDateTime;
use http::{Method, Request, StatusCode};
use tacker_server::config::ConfigSource;
use tacker_server::{build_app, AppState, AuthStrategy, PasteApp, ServerConfig};
use tacker_vim::drivers::{registry, DriverConfig};
use tacker_vim::vault::FileKeyManager;
use tacker_vim::{Scope, Vim, VimError, VimFilter, VimState, VimStore};
use tower::ServiceExt;

const GUIDE_OPTIONS: &str = "[ext_oauth2_auth]\n\
    introspect_endpoint = http://127.0.0.1:9/realms/testrealm/protocol/openid-connect/token/introspect\n\
    audience = http://127.0.0.1:9/realms/testrealm\n\
    auth_method = client_secret_basic\n\
    client_id = tacker_service\n\
    client_secret = test-secret\n\
    mapping_roles = user.roles\n";

/// A secret that the failing store's error carries: it must never reach a client.
const DB_SECRET: &str = "db-password-s3cret";

fn etc(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../etc")
        .join(name)
}

/// How the stand-in database fails.
#[derive(Clone, Copy)]
enum Down {
    /// Every query fails at once as an unreachable database does.
    Refused,
    /// Every query hangs (a database that accepts connections and never answers).
    Hanging,
}

#[async_trait]
impl VimStore for Down {
    async fn create(&self, _: &Vim) -> Result<(), VimError> {
        self.fail().await
    }
    async fn get(&self, _: &str, _: &Scope) -> Result<Option<Vim>, VimError> {
        self.fail().await
    }
    async fn list(&self, _: &Scope, _: &[VimFilter]) -> Result<Vec<Vim>, VimError> {
        self.fail().await
    }
    async fn update(&self, _: &Vim, _: &Vim) -> Result<(), VimError> {
        self.fail().await
    }
    async fn soft_delete(&self, _: &str, _: NaiveDateTime) -> Result<(), VimError> {
        self.fail().await
    }
    async fn in_use(&self, _: &str, _: &Scope) -> Result<bool, VimError> {
        self.fail().await
    }
    async fn ping(&self) -> Result<(), VimError> {
        self.fail().await
    }
}

impl Down {
    async fn fail<T>(&self) -> Result<T, VimError> {
        if let Down::Hanging = self {
            std::future::pending::<()>().await;
        }
        Err(VimError::DatabaseUnavailable(format!(
            "database: connecting to postgresql://tacker:{DB_SECRET}@db:5432/tacker: \
             Connection refused (os error 111)"
        )))
    }
}

/// The application for `strategy` with the paste file `paste` (and `[ext_oauth2_auth]` set
/// for `keystone`), on in-memory SQLite or, with `down`, on a store that cannot be reached.
async fn app(
    strategy: AuthStrategy,
    paste: &str,
    down: Option<Down>,
) -> (tempfile::TempDir, Router) {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("tacker.conf");
    let keys = dir.path().join("keys");
    std::fs::write(
        &conf,
        format!(
            "[DEFAULT]\nauth_strategy = {}\napi_paste_config = {}\n\
             [database]\nconnection = sqlite://\n[vim_keys]\nopenstack = {}\n\
             [k8s_vim]\nuse_barbican = false\n{GUIDE_OPTIONS}",
            strategy.key(),
            etc(paste).display(),
            keys.display()
        ),
    )
    .unwrap();
    let (config, _) = ServerConfig::load(&[ConfigSource::File(conf)]).unwrap();
    let config = Arc::new(config);
    let paste = PasteApp::load_file(&config.default.api_paste_config, strategy).unwrap();
    let mut state = AppState::open(config).await.unwrap();
    if let Some(down) = down {
        let drivers = registry(
            &DriverConfig {
                fernet_key_dir: keys.clone(),
                ..DriverConfig::default()
            },
            Arc::new(FileKeyManager::new(keys)),
            None,
        );
        state.vims = VimState::new(Arc::new(down), drivers);
    }
    let app = build_app(&state, &paste).unwrap();
    (dir, app)
}

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

async fn call(app: &Router, method: Method, path: &str, accept: Option<&str>) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1:9890");
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

#[tokio::test]
async fn healthy_answers_ok_outside_the_authenticated_pipelines() {
    let (_dir, app) = app(
        AuthStrategy::Keystone,
        "api-paste-external-oauth2.ini",
        None,
    )
    .await;

    // The API itself wants a token ...
    let vims = call(&app, Method::GET, "/v1.0/vims", None).await;
    assert_eq!(vims.status, StatusCode::UNAUTHORIZED, "{}", vims.body);

    // ... the health check does not, and no pipeline filter touches it (no request id).
    for accept in [None, Some("*/*"), Some("text/plain"), Some("text/html")] {
        let r = call(&app, Method::GET, "/healthcheck", accept).await;
        assert_eq!(r.status, StatusCode::OK, "Accept {accept:?}: {}", r.body);
        assert_eq!(r.body, "OK");
        assert_eq!(r.header("content-type"), Some("text/plain; charset=UTF-8"));
        assert_eq!(r.header("x-openstack-request-id"), None);
    }
    let json = call(&app, Method::GET, "/healthcheck", Some("application/json")).await;
    assert_eq!(json.status, StatusCode::OK);
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert_eq!(
        json.body,
        "{\n    \"detailed\": false,\n    \"reasons\": [\n        \"OK\"\n    ]\n}"
    );

    // HEAD: oslo's 204 without a body.
    let head = call(&app, Method::HEAD, "/healthcheck", None).await;
    assert_eq!(head.status, StatusCode::NO_CONTENT);
    assert_eq!(head.body, "");
    assert_eq!(
        head.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
}

#[tokio::test]
async fn healthy_under_noauth_with_tackers_shipped_paste_file() {
    let (_dir, app) = app(AuthStrategy::Noauth, "api-paste.ini", None).await;
    let r = call(&app, Method::GET, "/healthcheck", None).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "OK"));
}

#[tokio::test]
async fn unreachable_database_fails_the_check_naming_it_and_nothing_else() {
    let (_dir, app) = app(
        AuthStrategy::Keystone,
        "api-paste-external-oauth2.ini",
        Some(Down::Refused),
    )
    .await;
    let r = call(&app, Method::GET, "/healthcheck", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body, "database: the query failed");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=UTF-8"));
    let json = call(&app, Method::GET, "/healthcheck", Some("application/json")).await;
    assert_eq!(json.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        json.body.contains("\"database: the query failed\""),
        "{}",
        json.body
    );
    let head = call(&app, Method::HEAD, "/healthcheck", None).await;
    assert_eq!(
        (head.status, head.body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "")
    );
    for body in [&r.body, &json.body] {
        assert!(
            !body.contains(DB_SECRET) && !body.contains("postgresql"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn database_that_never_answers_fails_the_check_within_its_timeout() {
    let (_dir, app) = app(AuthStrategy::Noauth, "api-paste.ini", Some(Down::Hanging)).await;
    let r = call(&app, Method::GET, "/healthcheck", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body, "database: no answer within 2 seconds");
}

/// A VIM request while the database cannot be reached: Tacker's envelope with a 503 and
/// `Retry-After`, the cause (and its password) only in the log.
#[tokio::test]
async fn vim_request_on_an_unreachable_database_is_503_with_retry_after() {
    let (_dir, app) = app(AuthStrategy::Noauth, "api-paste.ini", Some(Down::Refused)).await;
    for path in [
        "/v1.0/vims",
        "/v1.0/vims/6b8d5a4e-5f39-4a5b-9a4c-1c1f2a6a1f00",
    ] {
        let r = call(&app, Method::GET, path, None).await;
        assert_eq!(
            r.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}: {}",
            r.body
        );
        assert_eq!(r.header("retry-after"), Some("5"));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(
            r.body,
            "{\"TackerError\": {\"type\": \"HTTPServiceUnavailable\", \"message\": \
             \"The database is unavailable; retry the request later.\", \"detail\": \"\"}}"
        );
        assert!(r.header("x-openstack-request-id").is_some());
    }
}
