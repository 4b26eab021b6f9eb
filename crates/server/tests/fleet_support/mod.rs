//! What the fleet tests (`postgres_outage.rs`, `fleet_haproxy.rs`) share: a fake Keystone that
//! answers the OpenStack driver's reachability check, and the VIM bodies registered with it.

#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;

use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A Keystone answering what the OpenStack driver calls: the unauthenticated version
/// document, a password token, the region list.
pub async fn fake_keystone() -> MockServer {
    let ks = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/identity/v3/auth/tokens"))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("X-Subject-Token", "fake-token")
                .set_body_json(json!({"token": {
                    "methods": ["password"], "expires_at": "2099-01-01T00:00:00.000000Z",
                    "issued_at": "2026-01-01T00:00:00.000000Z", "catalog": [], "roles": [],
                    "user": {"id": "u1", "name": "nfv_user", "domain": {"id": "default", "name": "Default"}},
                    "project": {"id": "p1", "name": "nfv", "domain": {"id": "default", "name": "Default"}}}})),
        )
        .mount(&ks)
        .await;
    Mock::given(method("GET"))
        .and(path("/identity/v3/regions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"regions": [
            {"id": "RegionOne", "description": ""}]})))
        .mount(&ks)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/identity/v3/?$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": {
            "id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": format!("{}/identity/v3/", ks.uri())}],
            "media-types": [{"base": "application/json",
                "type": "application/vnd.openstack.identity-v3+json"}]}})))
        .mount(&ks)
        .await;
    ks
}

/// An OpenStack VIM registered against `ks`; `tenant` `None` leaves `tenant_id` to the
/// caller's project (OAuth 2.0).
pub fn openstack_vim(tenant: Option<&str>, name: &str, ks: &MockServer, default: bool) -> Value {
    let mut vim = json!({
        "name": name,
        "description": format!("vim {name}"),
        "type": "openstack",
        "auth_url": format!("{}/identity", ks.uri()),
        "auth_cred": {"username": "nfv_user", "password": "pw",
            "user_domain_name": "Default", "cert_verify": "False"},
        "vim_project": {"name": "nfv", "project_domain_name": "Default"},
        "is_default": default,
    });
    if let Some(t) = tenant {
        vim["tenant_id"] = json!(t);
    }
    json!({ "vim": vim })
}

/// The VIM key directory the replicas share (0700, as Tacker creates it).
pub fn key_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("tacker-keys-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}
