//! The cached path of `ExternalOAuth2Layer`: a request whose token is already in the cache
//! (header hygiene, Bearer parsing, SHA-256 key, cache hit, identity headers, app call).

use std::sync::Arc;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion};
use http::Request;
use serde_json::json;
use tacker_auth::{CacheLimits, ExternalOAuth2Layer, SystemClock};
use tacker_common::config::Section;
use tower::ServiceExt;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn cached_path(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (router, _server) = rt.block_on(async {
        let server = MockServer::start().await;
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 86_400;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "active": true, "exp": exp, "client_id": "svc", "username": "svc-user",
                "project": {"id": "p", "name": "pn", "domain": {"id": "d", "name": "dn"}},
                "user_domain": {"id": "d", "name": "dn"}, "roles": "admin,member",
            })))
            .mount(&server)
            .await;
        let mut conf = Section::new("ext_oauth2_auth");
        for (k, v) in [
            (
                "introspect_endpoint",
                format!("{}/introspect", server.uri()).as_str(),
            ),
            ("audience", "https://as/realms/x"),
            ("client_id", "svc"),
            ("client_secret", "secret"),
            ("mapping_project_id", "project.id"),
            ("mapping_project_name", "project.name"),
            ("mapping_project_domain_id", "project.domain.id"),
            ("mapping_project_domain_name", "project.domain.name"),
            ("mapping_user_domain_id", "user_domain.id"),
            ("mapping_user_domain_name", "user_domain.name"),
            ("mapping_roles", "roles"),
        ] {
            conf.set(k, v, "bench");
        }
        let layer = ExternalOAuth2Layer::from_sections_with(
            &conf,
            &Section::new("filter:external_oauth2_token"),
            Arc::new(SystemClock),
            CacheLimits::default(),
        )
        .unwrap();
        let router = Router::new()
            .route("/", get(|| async { "ok" }))
            .layer(layer);
        (router, server)
    });
    let request = || {
        Request::builder()
            .uri("/")
            .header("authorization", "Bearer bench-token")
            .header("x-roles", "spoofed")
            .body(Body::empty())
            .unwrap()
    };
    rt.block_on(async {
        assert_eq!(
            router.clone().oneshot(request()).await.unwrap().status(),
            200
        );
    });
    c.bench_function("external_oauth2_token cached path", |b| {
        b.to_async(&rt)
            .iter(|| async { router.clone().oneshot(request()).await.unwrap() })
    });
}

criterion_group!(benches, cached_path);
criterion_main!(benches);
