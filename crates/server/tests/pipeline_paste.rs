//! Tier 2: the real Tacker `api-paste.ini` files loaded and served in-process
//! (`tower::ServiceExt::oneshot`), one `TestApp` per configuration.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::Router;
use http::{Method, Request, StatusCode};
use tacker_server::{ServerConfig, StartupError};
use tower::ServiceExt;

const HTML_404_GENERIC: &str = "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n  The resource could not be found.<br /><br />\n\n\n\n </body>\n</html>";

fn etc(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../etc")
        .join(name)
}

/// A server configuration in a temporary directory: in-memory SQLite, keys under the
/// directory, `auth_strategy` and `api_paste_config` as given.
struct TestApp {
    dir: tempfile::TempDir,
}

impl TestApp {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Write a paste file into the test directory (for variants of the shipped one).
    fn paste(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    async fn build(
        &self,
        strategy: &str,
        paste: &Path,
        extra: &str,
    ) -> Result<Router, StartupError> {
        let conf = self.dir.path().join("tacker.conf");
        std::fs::write(
            &conf,
            format!(
                "[DEFAULT]\nauth_strategy = {strategy}\napi_paste_config = {}\n{extra}\n\
                 [database]\nconnection = sqlite://\n[vim_keys]\nopenstack = {}\n[k8s_vim]\nuse_barbican = false\n",
                paste.display(),
                self.dir.path().join("keys").display()
            ),
        )
        .unwrap();
        let (config, _warnings) =
            ServerConfig::load(&[tacker_server::config::ConfigSource::File(conf)])?;
        let (_state, app) = tacker_server::build(Arc::new(config)).await?;
        Ok(app)
    }
}

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

async fn call(app: &Router, method: Method, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1:9890");
    for (k, v) in headers {
        req = req.header(*k, *v);
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

async fn get(app: &Router, path: &str) -> Reply {
    call(app, Method::GET, path, &[("accept", "*/*")]).await
}

fn request_id(r: &Reply) -> Option<&str> {
    r.headers
        .get("x-openstack-request-id")
        .map(|v| v.to_str().unwrap())
}

fn assert_req_id(r: &Reply, what: &str) {
    let id = request_id(r).unwrap_or_else(|| panic!("{what}: no X-Openstack-Request-Id"));
    let uuid = id
        .strip_prefix("req-")
        .unwrap_or_else(|| panic!("{what}: {id}"));
    let parsed = uuid::Uuid::parse_str(uuid).unwrap();
    assert_eq!(parsed.get_version_num(), 4, "{what}: {id}");
}

#[tokio::test]
async fn shipped_api_paste_ini_loads_under_noauth() {
    let t = TestApp::new();
    let app = t.build("noauth", &etc("api-paste.ini"), "").await.unwrap();
    let r = get(&app, "/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(
        r.body,
        r#"{"versions": [{"id": "v1.0", "status": "CURRENT", "links": [{"rel": "self", "href": "http://127.0.0.1:9890/v1.0"}]}]}"#
    );
    assert!(request_id(&r).is_none(), "/ is outside every pipeline");
    let r = get(&app, "/v1.0/vims").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, r#"{"vims": []}"#);
    assert_req_id(&r, "/v1.0/vims");
}

#[tokio::test]
async fn shipped_api_paste_ini_under_keystone_refuses_keystone_tokens() {
    let t = TestApp::new();
    let e = t
        .build("keystone", &etc("api-paste.ini"), "")
        .await
        .expect_err("authtoken must refuse")
        .to_string();
    assert!(
        e.contains("[filter:authtoken] paste.filter_factory = \"keystonemiddleware.auth_token:filter_factory\""),
        "{e}"
    );
    assert!(
        e.contains("Keystone tokens") && e.contains("not supported"),
        "{e}"
    );
    assert!(
        e.contains("keystonemiddleware.external_oauth2_token:filter_factory"),
        "names the alternative: {e}"
    );
}

/// The guide's file under `keystone` without the `[ext_oauth2_auth]` options it needs refuses
/// to start with keystonemiddleware's configuration error, naming the filter section.
#[tokio::test]
async fn guide_api_paste_ini_under_keystone_names_the_oauth2_filter() {
    let t = TestApp::new();
    let e = t
        .build("keystone", &etc("api-paste-external-oauth2.ini"), "")
        .await
        .expect_err("no [ext_oauth2_auth] options")
        .to_string();
    assert!(e.contains("[filter:external_oauth2_token]"), "{e}");
    assert!(
        e.contains(
            "Configuration error. The parameter is not set for \"audience\" in group [ext_oauth2_auth]."
        ),
        "{e}"
    );
}

/// The guide's file under `keystone` with the guide's options loads unchanged, and every one
/// of its seven composites asks for an OAuth 2.0 token (no token: keystonemiddleware's 401).
#[tokio::test]
async fn guide_api_paste_ini_under_keystone_authenticates_every_composite() {
    let t = TestApp::new();
    let app = t
        .build(
            "keystone",
            &etc("api-paste-external-oauth2.ini"),
            "[ext_oauth2_auth]\n\
             introspect_endpoint = http://127.0.0.1:9/realms/testrealm/protocol/openid-connect/token/introspect\n\
             audience = http://127.0.0.1:9/realms/testrealm\n\
             auth_method = client_secret_basic\n\
             client_id = tacker_service\n\
             client_secret = test-secret\n\
             mapping_roles = user.roles\n",
        )
        .await
        .expect("the guide's api-paste.ini loads under keystone");
    for path in [
        "/v1.0/vims",
        "/vnfpkgm/v1/api_versions",
        "/vnflcm/api_versions",
        "/vnflcm/v1/api_versions",
        "/vnflcm/v2/api_versions",
        "/vnffm/v1/api_versions",
        "/vnfpm/v2/api_versions",
    ] {
        let r = get(&app, path).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_req_id(&r, path);
        assert!(
            r.headers
                .get_all("www-authenticate")
                .iter()
                .any(|v| v == "Authorization OAuth 2.0 uri=\"http://127.0.0.1:9/realms/testrealm\""),
            "{path}: {:?}",
            r.headers
        );
    }
    // `/` stays unauthenticated, as upstream, and so does the API description.
    assert_eq!(get(&app, "/").await.status, StatusCode::OK);
    let spec = get(&app, "/openapi.yaml").await;
    assert_eq!(spec.status, StatusCode::OK);
    assert!(
        spec.body.starts_with("openapi: 3.1"),
        "{}",
        &spec.body[..40.min(spec.body.len())]
    );
}

#[tokio::test]
async fn guide_api_paste_ini_loads_under_noauth() {
    let t = TestApp::new();
    let app = t
        .build("noauth", &etc("api-paste-external-oauth2.ini"), "")
        .await
        .unwrap();
    assert_eq!(get(&app, "/v1.0/vims").await.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_filter_in_selected_pipeline_refuses_start_naming_it() {
    let t = TestApp::new();
    let shipped = std::fs::read_to_string(etc("api-paste.ini")).unwrap();
    let text = shipped.replace(
        "noauth = request_id catch_errors vnffmaapp_v1",
        "noauth = request_id catch_errors ratelimit vnffmaapp_v1",
    ) + "\n[filter:ratelimit]\npaste.filter_factory = some.module:RateLimit.factory\n";
    let p = t.paste("api-paste.ini", &text);
    let e = t
        .build("noauth", &p, "")
        .await
        .expect_err("must refuse")
        .to_string();
    assert!(
        e.contains("[filter:ratelimit] paste.filter_factory = \"some.module:RateLimit.factory\""),
        "{e}"
    );

    // A filter named in the pipeline but never defined.
    let text = shipped.replace(
        "noauth = request_id catch_errors vnffmaapp_v1",
        "noauth = request_id catch_errors ghost vnffmaapp_v1",
    );
    let p = t.paste("api-paste.ini", &text);
    let e = t
        .build("noauth", &p, "")
        .await
        .expect_err("must refuse")
        .to_string();
    assert!(
        e.contains("[composite:vnffm_v1] noauth") && e.contains("[filter:ghost]"),
        "{e}"
    );
}

#[tokio::test]
async fn unknown_app_in_selected_pipeline_refuses_start_naming_it() {
    let t = TestApp::new();
    let shipped = std::fs::read_to_string(etc("api-paste.ini")).unwrap();
    let text = shipped.replace(
        "tacker.api.v1.router:APIRouter.factory",
        "tacker.api.v2.router:APIRouter.factory",
    );
    let p = t.paste("api-paste.ini", &text);
    let e = t
        .build("noauth", &p, "")
        .await
        .expect_err("must refuse")
        .to_string();
    assert!(
        e.contains("[app:tackerapiapp_v1_0] paste.app_factory = \"tacker.api.v2.router:APIRouter.factory\""),
        "{e}"
    );
}

#[tokio::test]
async fn unused_sections_may_name_anything() {
    let t = TestApp::new();
    let shipped = std::fs::read_to_string(etc("api-paste.ini")).unwrap();
    let text = shipped + "\n[filter:unused]\npaste.filter_factory = nobody:Knows.factory\n[app:unused_app]\npaste.app_factory = nor:This.factory\n";
    let p = t.paste("api-paste.ini", &text);
    let _app = t.build("noauth", &p, "").await.unwrap();
}

/// Every composite of the shipped file: each response, errors included, carries the id.
#[tokio::test]
async fn every_pipeline_response_carries_request_id() {
    let t = TestApp::new();
    let app = t.build("noauth", &etc("api-paste.ini"), "").await.unwrap();
    let paths = [
        "/v1.0",
        "/v1.0/",
        "/v1.0/extensions",
        "/v1.0/vims",
        "/v1.0/vims/00000000-0000-0000-0000-000000000000",
        "/v1.0/nothing",
        "/vnfpkgm/v1/vnf_packages",
        "/vnflcm/api_versions",
        "/vnflcm/v1/api_versions",
        "/vnflcm/v2/api_versions",
        "/vnffm/v1/alarms",
        "/vnfpm/v2/pm_jobs",
    ];
    for path in paths {
        for method in [
            Method::GET,
            Method::HEAD,
            Method::OPTIONS,
            Method::DELETE,
            Method::PATCH,
        ] {
            let r = call(&app, method.clone(), path, &[]).await;
            assert_req_id(&r, &format!("{method} {path} -> {}", r.status));
        }
    }
    // Two requests never share an id.
    let a = get(&app, "/v1.0/extensions").await;
    let b = get(&app, "/v1.0/extensions").await;
    assert_ne!(request_id(&a), request_id(&b));
}

#[tokio::test]
async fn root_and_unknown_versions_have_no_request_id() {
    let t = TestApp::new();
    let app = t.build("noauth", &etc("api-paste.ini"), "").await.unwrap();
    for path in [
        "/",
        "/nonexistent",
        "/v2.0",
        "/v1.0x",
        "/alert/auto_scaling",
    ] {
        let r = call(&app, Method::GET, path, &[]).await;
        assert!(request_id(&r).is_none(), "{path}");
    }
    // tacker-golden/00_root_and_v1_0.txt "GET /nonexistent".
    let r = get(&app, "/nonexistent").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.headers["content-type"], "text/html; charset=UTF-8");
    assert_eq!(
        r.body,
        "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n  Unknown API version specified<br /><br />\n\n\n\n </body>\n</html>"
    );
    assert_eq!(r.body.len(), 151);
}

/// tacker-golden/00_root_and_v1_0.txt: `/v1.0`, `/v1.0/`, the extensions documents.
#[tokio::test]
async fn v1_0_and_extensions_match_the_recording() {
    let t = TestApp::new();
    let app = t.build("noauth", &etc("api-paste.ini"), "").await.unwrap();
    for path in ["/v1.0", "/v1.0/"] {
        let r = get(&app, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.body, HTML_404_GENERIC, "{path}");
        assert_eq!(r.body.len(), 154);
    }
    let all = r#"{"extensions": [{"name": "COMMONSERVICES", "alias": "Commonservices", "description": "Extension for CommonServices", "namespace": "https://wiki.openstack.org/Tacker", "updated": "2016-06-06T13:00:00-00:00", "links": []}, {"name": "NFV Orchestrator", "alias": "NFVO", "description": "Extension for NFV Orchestrator", "namespace": "https://wiki.openstack.org/Tacker", "updated": "2015-12-21T10:00:00-00:00", "links": []}, {"name": "VNF Manager", "alias": "VNFM", "description": "Extension for VNF Manager", "namespace": "https://wiki.openstack.org/Tacker", "updated": "2013-11-19T10:00:00-00:00", "links": []}]}"#;
    for path in ["/v1.0/extensions", "/v1.0/extensions.json"] {
        let r = get(&app, path).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.headers["content-type"], "application/json");
        assert_eq!(r.body, all);
        assert_eq!(r.body.len(), 609);
    }
    let r = get(&app, "/v1.0/extensions/NFVO").await;
    assert_eq!(
        r.body,
        r#"{"extension": {"name": "NFV Orchestrator", "alias": "NFVO", "description": "Extension for NFV Orchestrator", "namespace": "https://wiki.openstack.org/Tacker", "updated": "2015-12-21T10:00:00-00:00", "links": []}}"#
    );
    let r = get(&app, "/v1.0/extensions/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.body,
        "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n  The resource could not be found.<br /><br />\nExtension with alias nope does not exist\n\n\n </body>\n</html>"
    );
    assert_eq!(r.body.len(), 194);
    for method in [Method::POST, Method::DELETE, Method::PUT] {
        let path = if method == Method::POST {
            "/v1.0/extensions"
        } else {
            "/v1.0/extensions/NFVO"
        };
        let r = call(&app, method.clone(), path, &[("accept", "*/*")]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{method}");
        assert!(
            r.body.contains("Resource not found."),
            "{method}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn root_href_uses_the_request_host() {
    let t = TestApp::new();
    let app = t.build("noauth", &etc("api-paste.ini"), "").await.unwrap();
    let req = Request::builder()
        .uri("/")
        .header("host", "tacker.host:9890")
        .body(Body::empty())
        .unwrap();
    let resp = app.oneshot(req).await.unwrap();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&body).contains("\"href\": \"http://tacker.host:9890/v1.0\""));
}

/// A keystone pipeline with keystonecontext and no token filter (behind a trusted proxy):
/// starts; identity comes from the headers as sent; no user id -> 401 (with request id).
#[tokio::test]
async fn keystone_pipeline_without_token_filter_trusts_identity_headers() {
    let t = TestApp::new();
    let shipped = std::fs::read_to_string(etc("api-paste.ini")).unwrap();
    let text = shipped.replace(" authtoken keystonecontext", " keystonecontext");
    let p = t.paste("api-paste.ini", &text);
    let app = t.build("keystone", &p, "").await.unwrap();

    let r = get(&app, "/v1.0/vims").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_req_id(&r, "401");
    assert!(r.body.contains("401 Unauthorized"), "{}", r.body);

    let r = call(
        &app,
        Method::GET,
        "/v1.0/vims",
        &[
            ("x-user-id", "u1"),
            ("x-project-id", "p1"),
            ("x-roles", "member, reader"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_req_id(&r, "200");
    // The root stays unauthenticated.
    assert_eq!(get(&app, "/").await.status, StatusCode::OK);

    // All seven keystone pipelines refuse a caller without identity, with a request id.
    for path in [
        "/v1.0/extensions",
        "/vnfpkgm/v1/vnf_packages",
        "/vnflcm/api_versions",
        "/vnflcm/v1/api_versions",
        "/vnflcm/v2/api_versions",
        "/vnffm/v1/alarms",
        "/vnfpm/v2/pm_jobs",
    ] {
        let r = get(&app, path).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_req_id(&r, path);
    }
}

#[tokio::test]
async fn catch_errors_turns_a_panic_into_500_with_request_id() {
    use tacker_server::filters::{CatchErrorsLayer, RequestIdLayer};
    use tower::Layer;
    let panicking = tower::service_fn(|req: Request<Body>| async move {
        if req.uri().path() == "/boom" {
            panic!("handler bug");
        }
        Ok::<_, std::convert::Infallible>(axum::response::Response::new(Body::empty()))
    });
    // The order of Tacker's pipelines: request_id outside catch_errors.
    let svc = RequestIdLayer.layer(CatchErrorsLayer.layer(panicking));
    let req = Request::builder()
        .uri("/boom")
        .header("accept", "application/json")
        .body(Body::empty())
        .unwrap();
    let resp = svc.oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(resp.headers().contains_key("x-openstack-request-id"));
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["code"], "500 Internal Server Error");
    assert_eq!(v["title"], "Internal Server Error");
}

#[tokio::test]
async fn prometheus_receivers_are_404_without_filters() {
    let t = TestApp::new();
    let app = t.build("noauth", &etc("api-paste.ini"), "").await.unwrap();
    for path in [
        "/alert",
        "/alert/auto_scaling",
        "/pm_event",
        "/pm_threshold",
        "/server_notification",
    ] {
        let r = call(&app, Method::POST, path, &[]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            request_id(&r).is_none(),
            "{path}: bare app, no request_id filter"
        );
    }
}
