//! Tier 2: `api-ref/openapi.yaml` is served as embedded and describes every route the server
//! serves (a light structural check; schemathesis validates it fully in tier 3).

use axum::body::{to_bytes, Body};
use http::{Request, StatusCode};
use tacker_server::sol;
use tower::ServiceExt;

/// The path keys directly under `paths:` (two-space indent), in document order.
fn documented_paths(yaml: &str) -> Vec<String> {
    let mut in_paths = false;
    let mut out = Vec::new();
    for line in yaml.lines() {
        if !line.starts_with(' ') && !line.is_empty() && !line.starts_with('#') {
            in_paths = line.trim_end() == "paths:";
            continue;
        }
        if in_paths {
            if let Some(rest) = line.strip_prefix("  ") {
                if rest.starts_with('/') {
                    out.push(
                        rest.trim_end()
                            .trim_end_matches(':')
                            .trim_matches('\'')
                            .to_owned(),
                    );
                }
            }
        }
    }
    out
}

#[test]
fn openapi_is_3_1_and_lists_every_route() {
    let yaml = sol::OPENAPI_YAML;
    assert!(yaml.lines().any(|l| l.trim() == "openapi: 3.1.0"));
    let paths = documented_paths(yaml);
    for route in [
        "/",
        "/v1.0/extensions",
        "/v1.0/extensions.json",
        "/v1.0/extensions/{alias}",
        "/v1.0/vims",
        "/v1.0/vims.json",
        "/v1.0/vims/{vim_id}",
        "/v1.0/vims/{vim_id}.json",
        "/vnflcm/api_versions",
        "/vnflcm/v1/api_versions",
        "/vnflcm/v2/api_versions",
        "/vnfpkgm/v1/api_versions",
        "/vnffm/v1/api_versions",
        "/vnfpm/v2/api_versions",
        "/openapi.yaml",
        "/healthcheck",
    ] {
        assert!(
            paths.iter().any(|p| p == route),
            "{route} missing from openapi.yaml paths {paths:?}"
        );
    }
    // Every documented path is one of the above: nothing is described that is not served.
    assert_eq!(paths.len(), 16, "{paths:?}");
    for needle in [
        "TackerError",
        "KeystoneError",
        "ProblemDetails",
        "clientCredentials",
        "mutualTLS",
        "VersionHeader",
        "VimOpenStackAuthCred",
        "VimKubernetesAuthCred",
        "placement_attr",
        "is_default",
        "X-Openstack-Request-Id",
        "WWW-Authenticate",
        "Retry-After",
        sol::VNFPKGM_V1_API_VERSION,
    ] {
        assert!(
            yaml.contains(needle),
            "openapi.yaml does not mention {needle}"
        );
    }
}

#[tokio::test]
async fn openapi_yaml_is_served() {
    let resp = sol::openapi_app()
        .oneshot(Request::get("/openapi.yaml").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/yaml");
    let body = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    assert_eq!(body, sol::OPENAPI_YAML.as_bytes());
}
