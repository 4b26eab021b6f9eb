//! Tier 2: the SOL013 apps in-process, compared with the exchanges recorded from Tacker
//! 16.0.0 (`tacker-golden/01_api_versions.txt`; bodies copied here byte for byte) and with
//! the SOL013 rules for the endpoints Tacker does not serve.

use axum::body::{to_bytes, Body};
use axum::Router;
use http::{Method, Request, StatusCode};
use tacker_server::sol;
use tower::ServiceExt;

const VNFLCM_VERSIONS: &str = r#"{"uriPrefix": "/vnflcm", "apiVersions": [{"version": "1.3.0", "isDeprecated": false}, {"version": "2.0.0", "isDeprecated": false}]}"#;
const VNFLCM_V1_VERSIONS: &str =
    r#"{"uriPrefix": "/vnflcm/v1", "apiVersions": [{"version": "1.3.0", "isDeprecated": false}]}"#;
const VNFLCM_V2_VERSIONS: &str =
    r#"{"uriPrefix": "/vnflcm/v2", "apiVersions": [{"version": "2.0.0", "isDeprecated": false}]}"#;
const INVALID_ABC: &str = r#"{"status": 400, "detail": "Version String abc is of invalid format. Must be of format Major.Minor.Patch.", "title": "Bad Request"}"#;
const VERSION_MISSING: &str =
    r#"{"status": 400, "detail": "'Version' HTTP header missing.", "title": "Bad Request"}"#;
const POST_NOT_SUPPORTED: &str =
    r#"{"status": 405, "detail": "Method POST is not supported.", "title": "Method Not Allowed"}"#;
const V1_METHOD_NOT_ALLOWED: &str = r#"{"title": "Method Not Allowed", "status": 405, "detail": "The server could not comply with the request since it is either malformed or otherwise incorrect."}"#;
const VERSION_999_NOT_SUPPORTED: &str =
    r#"{"status": 406, "detail": "Version 9.9.9 not supported.", "title": "Not Acceptable"}"#;

/// Builds one SOL app.
type AppFn = fn() -> Router;

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

async fn call(
    app: Router,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app
        .oneshot(req.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

async fn get(app: Router, path: &str, headers: &[(&str, &str)]) -> Answer {
    call(app, Method::GET, path, headers, "").await
}

/// Headers of a SOL v2 framework answer as recorded: `Version`, `Accept-Ranges: none`.
fn assert_v2_headers(a: &Answer, version: &str, content_type: &str) {
    assert_eq!(a.header("version"), Some(version));
    assert_eq!(a.header("accept-ranges"), Some("none"));
    assert_eq!(a.header("content-type"), Some(content_type));
}

const VERSION_VALUES: [Option<&str>; 4] = [None, Some("1.3.0"), Some("2.0.0"), Some("9.9.9")];

fn version_header(v: Option<&str>) -> Vec<(&str, &str)> {
    v.map(|v| vec![("Version", v)]).unwrap_or_default()
}

// 01_api_versions: GET /vnflcm/api_versions without Version, with 1.3.0, 2.0.0, 9.9.9.
#[tokio::test]
async fn get_vnflcm_api_versions_any_version_header() {
    for v in VERSION_VALUES {
        let a = get(
            sol::vnflcm_versions_app(),
            "/api_versions",
            &version_header(v),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "Version {v:?}");
        assert_eq!(a.body, VNFLCM_VERSIONS);
        assert_eq!(a.body.len(), 131);
        assert_v2_headers(&a, "2.0.0", "application/json");
        assert_eq!(a.header("allow"), None);
    }
}

// 01_api_versions: GET /vnflcm/api_versions (Version: abc malformed)
#[tokio::test]
async fn get_vnflcm_api_versions_malformed_version() {
    let a = get(
        sol::vnflcm_versions_app(),
        "/api_versions",
        &[("Version", "abc")],
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body, INVALID_ABC);
    assert_v2_headers(&a, "2.0.0", "application/problem+json");
}

// 01_api_versions: GET /vnflcm/v1/api_versions with no/1.3.0/2.0.0/9.9.9/abc: the v1
// framework ignores Version and sends neither Version nor Accept-Ranges.
#[tokio::test]
async fn get_vnflcm_v1_api_versions_ignores_version() {
    for v in [
        None,
        Some("1.3.0"),
        Some("2.0.0"),
        Some("9.9.9"),
        Some("abc"),
    ] {
        let a = get(sol::vnflcm_v1_app(), "/api_versions", &version_header(v)).await;
        assert_eq!(a.status, StatusCode::OK, "Version {v:?}");
        assert_eq!(a.body, VNFLCM_V1_VERSIONS);
        assert_eq!(a.body.len(), 89);
        assert_eq!(a.header("content-type"), Some("application/json"));
        assert_eq!(a.header("version"), None);
        assert_eq!(a.header("accept-ranges"), None);
    }
}

// 01_api_versions: GET /vnflcm/v2/api_versions with no/1.3.0/2.0.0/9.9.9 -> 200.
#[tokio::test]
async fn get_vnflcm_v2_api_versions_any_version_header() {
    for v in VERSION_VALUES {
        let a = get(sol::vnflcm_v2_app(), "/api_versions", &version_header(v)).await;
        assert_eq!(a.status, StatusCode::OK, "Version {v:?}");
        assert_eq!(a.body, VNFLCM_V2_VERSIONS);
        assert_v2_headers(&a, "2.0.0", "application/json");
    }
}

// 01_api_versions: GET /vnflcm/v2/api_versions (Version: abc malformed)
#[tokio::test]
async fn get_vnflcm_v2_api_versions_malformed_version() {
    let a = get(sol::vnflcm_v2_app(), "/api_versions", &[("Version", "abc")]).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body, INVALID_ABC);
    assert_v2_headers(&a, "2.0.0", "application/problem+json");
}

// Beyond Tacker (01_api_versions records 404 pages): SOL013 §9.3 api_versions for
// /vnfpkgm/v1 (v1 framework), /vnffm/v1 (1.3.0) and /vnfpm/v2 (2.1.0).
#[tokio::test]
async fn get_vnfpkgm_v1_api_versions_beyond_tacker() {
    for v in [
        None,
        Some("1.3.0"),
        Some("2.0.0"),
        Some("9.9.9"),
        Some("abc"),
    ] {
        let a = get(sol::vnfpkgm_v1_app(), "/api_versions", &version_header(v)).await;
        assert_eq!(a.status, StatusCode::OK, "Version {v:?}");
        assert_eq!(
            a.body,
            format!(
                r#"{{"uriPrefix": "/vnfpkgm/v1", "apiVersions": [{{"version": "{}", "isDeprecated": false}}]}}"#,
                sol::VNFPKGM_V1_API_VERSION
            )
        );
        assert_eq!(a.header("content-type"), Some("application/json"));
        assert_eq!(a.header("version"), None);
    }
}

#[tokio::test]
async fn get_vnffm_v1_api_versions_beyond_tacker() {
    for v in VERSION_VALUES {
        let a = get(sol::vnffm_v1_app(), "/api_versions", &version_header(v)).await;
        assert_eq!(a.status, StatusCode::OK, "Version {v:?}");
        assert_eq!(
            a.body,
            r#"{"uriPrefix": "/vnffm/v1", "apiVersions": [{"version": "1.3.0", "isDeprecated": false}]}"#
        );
        assert_v2_headers(&a, "1.3.0", "application/json");
    }
    let a = get(sol::vnffm_v1_app(), "/api_versions", &[("Version", "abc")]).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body, INVALID_ABC);
    assert_v2_headers(&a, "1.3.0", "application/problem+json");
}

#[tokio::test]
async fn get_vnfpm_v2_api_versions_beyond_tacker() {
    for v in VERSION_VALUES {
        let a = get(sol::vnfpm_v2_app(), "/api_versions", &version_header(v)).await;
        assert_eq!(a.status, StatusCode::OK, "Version {v:?}");
        assert_eq!(
            a.body,
            r#"{"uriPrefix": "/vnfpm/v2", "apiVersions": [{"version": "2.1.0", "isDeprecated": false}]}"#
        );
        assert_v2_headers(&a, "2.1.0", "application/json");
    }
    let a = get(sol::vnfpm_v2_app(), "/api_versions", &[("Version", "abc")]).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_v2_headers(&a, "2.1.0", "application/problem+json");
}

// 01_api_versions: POST /vnflcm/api_versions (method not routed) -> 405, no Version needed.
// Allow is added (RFC 9110 §15.5.6; upstream omits it, api-ref/compat.md).
#[tokio::test]
async fn post_vnflcm_api_versions_method_not_allowed() {
    let json = [("Content-Type", "application/json")];
    let a = call(
        sol::vnflcm_versions_app(),
        Method::POST,
        "/api_versions",
        &json,
        "{}",
    )
    .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.body, POST_NOT_SUPPORTED);
    assert_eq!(a.body.len(), 89);
    assert_v2_headers(&a, "2.0.0", "application/problem+json");
    assert_eq!(a.header("allow"), Some("GET"));
}

// 01_api_versions: POST /vnflcm/v2/api_versions: Version header checked first.
#[tokio::test]
async fn post_vnflcm_v2_api_versions_version_checked_first() {
    let app = sol::vnflcm_v2_app;
    let json = ("Content-Type", "application/json");
    let a = call(app(), Method::POST, "/api_versions", &[json], "{}").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body, VERSION_MISSING);
    assert_eq!(a.body.len(), 83);
    assert_v2_headers(&a, "2.0.0", "application/problem+json");

    let a = call(
        app(),
        Method::POST,
        "/api_versions",
        &[json, ("Version", "2.0.0")],
        "{}",
    )
    .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.body, POST_NOT_SUPPORTED);
    assert_v2_headers(&a, "2.0.0", "application/problem+json");
    assert_eq!(a.header("allow"), Some("GET"));

    // 4.2: a well-formed but unsupported version on a versioned action -> 406 (the body
    // recorded for GET /vnflcm/v2/vnf_instances with Version: 9.9.9).
    let a = call(
        app(),
        Method::PUT,
        "/api_versions",
        &[("Version", "9.9.9")],
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(a.body, VERSION_999_NOT_SUPPORTED);
    assert_eq!(a.body.len(), 84);
    assert_v2_headers(&a, "2.0.0", "application/problem+json");

    let a = call(
        app(),
        Method::DELETE,
        "/api_versions",
        &[("Version", "2.0.0-impl:etsi.org:x")],
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        a.body,
        r#"{"status": 405, "detail": "Method DELETE is not supported.", "title": "Method Not Allowed"}"#
    );
}

// FM and PM: versioned actions require their own API version.
#[tokio::test]
async fn fm_and_pm_reject_require_their_version() {
    let a = call(
        sol::vnffm_v1_app(),
        Method::PATCH,
        "/api_versions",
        &[("Version", "2.0.0")],
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(
        a.body,
        r#"{"status": 406, "detail": "Version 2.0.0 not supported.", "title": "Not Acceptable"}"#
    );
    assert_v2_headers(&a, "1.3.0", "application/problem+json");
    let a = call(
        sol::vnffm_v1_app(),
        Method::PATCH,
        "/api_versions",
        &[("Version", "1.3.0")],
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    let a = call(sol::vnfpm_v2_app(), Method::POST, "/api_versions", &[], "").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body, VERSION_MISSING);
    assert_v2_headers(&a, "2.1.0", "application/problem+json");
    let a = call(
        sol::vnfpm_v2_app(),
        Method::POST,
        "/api_versions",
        &[("Version", "2.1.0")],
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.header("allow"), Some("GET"));
}

// 01_api_versions: POST /vnflcm/v1/api_versions -> v1 framework fault.
#[tokio::test]
async fn post_vnflcm_v1_api_versions_method_not_allowed() {
    let json = [("Content-Type", "application/json")];
    for app in [sol::vnflcm_v1_app, sol::vnfpkgm_v1_app] {
        let a = call(app(), Method::POST, "/api_versions", &json, "{}").await;
        assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(a.body, V1_METHOD_NOT_ALLOWED);
        assert_eq!(a.body.len(), 157);
        assert_eq!(a.header("allow"), Some("GET"));
        assert_eq!(
            a.header("content-type"),
            Some("application/problem+json; charset=UTF-8")
        );
        assert_eq!(a.header("version"), None);
    }
}

#[tokio::test]
async fn head_is_method_not_allowed_as_upstream_routes_it() {
    let a = call(
        sol::vnflcm_v2_app(),
        Method::HEAD,
        "/api_versions",
        &[("Version", "2.0.0")],
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.header("allow"), Some("GET"));
}

const V2_NOT_FOUND: &str =
    r#"{"status": 404, "detail": "The resource could not be found.", "title": "Not Found"}"#;
const V1_NOT_FOUND: &str =
    r#"{"title": "Not Found", "status": 404, "detail": "The resource could not be found."}"#;

// 01_api_versions: GET /vnflcm/v2/api_versions/ (trailing slash) is a 404; upstream's is a
// webob HTML page, here ProblemDetails (api-ref/compat.md). Same for any unknown path.
#[tokio::test]
async fn unknown_paths_are_problem_details_404() {
    let v2: [(AppFn, &str); 4] = [
        (sol::vnflcm_versions_app, "2.0.0"),
        (sol::vnflcm_v2_app, "2.0.0"),
        (sol::vnffm_v1_app, "1.3.0"),
        (sol::vnfpm_v2_app, "2.1.0"),
    ];
    for (app, version) in v2 {
        for path in [
            "/api_versions/",
            "/",
            "/vnf_instances",
            "/api_versions/x",
            "/API_VERSIONS",
        ] {
            for method in [Method::GET, Method::POST, Method::DELETE] {
                let a = call(app(), method.clone(), path, &[], "").await;
                assert_eq!(a.status, StatusCode::NOT_FOUND, "{method} {path}");
                assert_eq!(a.body, V2_NOT_FOUND);
                assert_v2_headers(&a, version, "application/problem+json");
            }
        }
    }
    for app in [sol::vnflcm_v1_app, sol::vnfpkgm_v1_app] {
        for path in ["/api_versions/", "/", "/vnf_packages", "/vnf_instances/1"] {
            let a = get(app(), path, &[]).await;
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(a.body, V1_NOT_FOUND);
            assert_eq!(
                a.header("content-type"),
                Some("application/problem+json; charset=UTF-8")
            );
            assert_eq!(a.header("version"), None);
        }
    }
}

fn all_apps() -> [(&'static str, AppFn); 6] {
    [
        ("/vnflcm", sol::vnflcm_versions_app),
        ("/vnflcm/v1", sol::vnflcm_v1_app),
        ("/vnflcm/v2", sol::vnflcm_v2_app),
        ("/vnfpkgm/v1", sol::vnfpkgm_v1_app),
        ("/vnffm/v1", sol::vnffm_v1_app),
        ("/vnfpm/v2", sol::vnfpm_v2_app),
    ]
}

// 4.3: an Accept that does not admit JSON is a 406 ProblemDetails (upstream: 500).
#[tokio::test]
async fn accept_without_json_is_406_never_500() {
    for (prefix, app) in all_apps() {
        for accept in [
            "text/plain",
            "application/xml",
            "application/json;q=0",
            "text/*",
            // Present but empty: a valid header listing nothing (WebOb's AcceptValidHeader).
            "",
        ] {
            let a = get(app(), "/api_versions", &[("Accept", accept)]).await;
            assert_eq!(a.status, StatusCode::NOT_ACCEPTABLE, "{prefix} {accept}");
            let detail =
                format!("Content type '{accept}' specified in 'Accept' header is not allowed.");
            let body: serde_json::Value = serde_json::from_str(&a.body).unwrap();
            assert_eq!(body["status"], 406);
            assert_eq!(body["detail"], detail.as_str());
            assert_eq!(body["title"], "Not Acceptable");
        }
        for accept in [
            "application/json",
            "*/*",
            "application/*",
            "text/html, */*;q=0.1",
            // Not RFC 7231 grammar: WebOb's AcceptInvalidHeader admits every offer.
            "%%%",
        ] {
            let a = get(app(), "/api_versions", &[("Accept", accept)]).await;
            assert_eq!(a.status, StatusCode::OK, "{prefix} {accept:?}");
            assert_eq!(a.header("content-type"), Some("application/json"));
        }
    }
}

// 4.3: request bodies: wrong Content-Type -> 415, bad JSON -> 400 "Malformed request body."
// (checked before Version, as upstream deserialises first).
#[tokio::test]
async fn request_body_rules() {
    let a = call(
        sol::vnflcm_v2_app(),
        Method::POST,
        "/api_versions",
        &[("Content-Type", "application/xml")],
        "<a/>",
    )
    .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        a.body,
        r#"{"status": 415, "detail": "Content type 'application/xml' specified in 'Content-Type' header is not allowed.", "title": "Unsupported Media Type"}"#
    );
    assert_v2_headers(&a, "2.0.0", "application/problem+json");
    let a = call(
        sol::vnflcm_v2_app(),
        Method::POST,
        "/api_versions",
        &[("Content-Type", "application/json")],
        "{",
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        a.body,
        r#"{"status": 400, "detail": "Malformed request body.", "title": "Bad Request"}"#
    );
    // text/plain bodies are parsed as JSON (upstream backward compatibility).
    let a = call(
        sol::vnflcm_v2_app(),
        Method::POST,
        "/api_versions",
        &[("Content-Type", "text/plain"), ("Version", "2.0.0")],
        "{}",
    )
    .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
}

// Versions with the -impl suffix are accepted; a bad suffix names the whole value.
#[tokio::test]
async fn version_impl_suffix() {
    let a = get(
        sol::vnflcm_v2_app(),
        "/api_versions",
        &[("Version", "2.0.0-impl:etsi.org:ETSI_NFV_OpenAPI:1")],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = get(
        sol::vnflcm_v2_app(),
        "/api_versions",
        &[("Version", "2.0.0-abc:foobar")],
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        a.body,
        r#"{"status": 400, "detail": "Version String 2.0.0-abc:foobar is of invalid format. Must be of format Major.Minor.Patch.", "title": "Bad Request"}"#
    );
    let a = get(
        sol::vnflcm_v2_app(),
        "/api_versions",
        &[("Version", "0.1.2")],
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

// Repeated header fields are joined with ',' as the WSGI server does: two Version fields do
// not form a valid version.
#[tokio::test]
async fn repeated_version_fields_are_joined() {
    let a = get(
        sol::vnflcm_v2_app(),
        "/api_versions",
        &[("Version", "2.0.0"), ("Version", "2.0.0")],
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        a.body,
        r#"{"status": 400, "detail": "Version String 2.0.0,2.0.0 is of invalid format. Must be of format Major.Minor.Patch.", "title": "Bad Request"}"#
    );
    let a = get(
        sol::vnflcm_v2_app(),
        "/api_versions",
        &[("Accept", "text/plain"), ("Accept", "application/json")],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
}
