//! `[vim_endpoints]` through the real drivers: a host name is checked on the addresses it
//! resolves to (so a name cannot stand in for a denied address), an IP address in the URL
//! before the call, and a refused endpoint is never contacted.

mod driver_support;

use std::sync::Arc;

use driver_support::vim;
use serde_json::json;
use tacker_vim::drivers::{registry, DriverConfig, EndpointPolicy};
use tacker_vim::vault::FileKeyManager;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn drivers(endpoints: EndpointPolicy, dir: &std::path::Path) -> tacker_vim::DriverRegistry {
    let cfg = DriverConfig {
        fernet_key_dir: dir.join("keys"),
        openstack_use_barbican: false,
        k8s_use_barbican: false,
        endpoints,
    };
    registry(&cfg, Arc::new(FileKeyManager::new(dir.join("keys"))), None)
}

fn loopback_denied() -> EndpointPolicy {
    EndpointPolicy {
        allowed: Vec::new(),
        denied: vec!["127.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()],
    }
}

async fn endpoint() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": []})))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_host_name_resolving_to_a_denied_address_is_refused() {
    let server = endpoint().await;
    let dir = tempfile::tempdir().unwrap();
    let drivers = drivers(loopback_denied(), dir.path());
    let port = server.address().port();
    for auth_url in [
        format!("http://localhost:{port}"),
        format!("http://127.0.0.1:{port}"),
    ] {
        let mut v = vim(
            "kubernetes",
            &auth_url,
            json!({"bearer_token": "t"}),
            json!({"name": "default"}),
        );
        let err = drivers["kubernetes"].register(&mut v).await.unwrap_err();
        assert_eq!(err.type_name(), "VimUnauthorizedException");
        let text = err.to_string();
        assert!(
            text.contains("denied to VIM endpoints ([vim_endpoints] denied_networks)"),
            "{auth_url}: {text}"
        );
        let mut v = vim(
            "openstack",
            &format!("{auth_url}/identity"),
            json!({"username": "u", "password": "p", "user_domain_name": "Default"}),
            json!({"name": "nfv", "project_domain_name": "Default"}),
        );
        let err = drivers["openstack"].register(&mut v).await.unwrap_err();
        assert_eq!(err.type_name(), "VimConnectionException");
        assert!(err.to_string().contains("denied_networks"), "{err}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn allowed_networks_restrict_and_the_default_allows_loopback() {
    let server = endpoint().await;
    let dir = tempfile::tempdir().unwrap();
    let only_elsewhere = EndpointPolicy {
        allowed: vec!["10.0.0.0/8".parse().unwrap()],
        denied: Vec::new(),
    };
    let auth_url = format!("http://localhost:{}", server.address().port());
    let mut v = vim(
        "kubernetes",
        &auth_url,
        json!({"bearer_token": "t"}),
        json!({"name": "default"}),
    );
    let err = drivers(only_elsewhere, dir.path())["kubernetes"]
        .register(&mut v)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("not in [vim_endpoints] allowed_networks"),
        "{err}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());

    let mut v = vim(
        "kubernetes",
        &auth_url,
        json!({"bearer_token": "t"}),
        json!({"name": "default"}),
    );
    drivers(EndpointPolicy::default(), dir.path())["kubernetes"]
        .register(&mut v)
        .await
        .unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}
