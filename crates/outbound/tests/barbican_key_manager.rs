//! `BarbicanClient` against wiremock Barbican / authorization server / Keystone: the
//! upstream cases of `tacker/tests/unit/keymgr/test_barbican_key_manager.py` (spec §8.6,
//! items 44-47), the 401 → refresh → retry path, the Keystone (non-external) mode, and the
//! redaction of tokens and keys in logs.

mod common;

use std::sync::Arc;

use common::{authz_issuing, external, manager, named_section, section, token_source, KEY, UUID};
use secrecy::{ExposeSecret, SecretString};
use tacker_oauth2_client::SystemClock;
use tacker_outbound::{BarbicanClient, ServiceAuth};
use wiremock::matchers::{body_json, body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

// §8.6 item 44.
#[tokio::test]
async fn test_delete() {
    let authz = authz_issuing(&["tok-1"]).await;
    let barbican = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v1/secrets/{UUID}")))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&barbican)
        .await;
    external(&barbican, &authz)
        .delete_secret(UUID)
        .await
        .unwrap();
}

#[tokio::test]
async fn delete_of_a_secret_that_is_already_gone_succeeds() {
    let authz = authz_issuing(&["tok-1"]).await;
    let barbican = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(404).set_body_json(serde_json::json!({"code": 404, "title": "Not Found", "description": "Secret not found."})))
        .expect(1)
        .mount(&barbican)
        .await;
    external(&barbican, &authz)
        .delete_secret(UUID)
        .await
        .unwrap();
}

// §8.6 item 45: exact JSON of spec §2.8, uuid after the last '/' of secret_ref.
#[tokio::test]
async fn test_store() {
    let authz = authz_issuing(&["tok-1"]).await;
    let barbican = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/secrets/"))
        .and(header("authorization", "Bearer tok-1"))
        .and(body_json(serde_json::json!({
            "secret_type": "opaque",
            "payload": "Vm8yYlE4djF2N04wYjFqM1M3bTVReXExaE0ycFU3eUczY1o5cks0dFgwRT0=",
            "payload_content_type": "application/octet-stream",
            "payload_content_encoding": "base64",
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
            "secret_ref": format!("http://barbican.example:9311/v1/secrets/{UUID}")
        })))
        .expect(1)
        .mount(&barbican)
        .await;
    let uuid = external(&barbican, &authz)
        .store_secret(&SecretString::from(KEY))
        .await
        .unwrap();
    assert_eq!(uuid, UUID);
}

// §8.6 item 46: the secret ref is `<endpoint>/v1/secrets/<id>`; the payload is the key.
#[tokio::test]
async fn test_get() {
    let authz = authz_issuing(&["tok-1"]).await;
    let barbican = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/secrets/{UUID}/payload")))
        .and(header("authorization", "Bearer tok-1"))
        .and(header("accept", "application/octet-stream"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(KEY.as_bytes().to_vec(), "application/octet-stream"),
        )
        .expect(1)
        .mount(&barbican)
        .await;
    let key = external(&barbican, &authz)
        .secret_payload(UUID)
        .await
        .unwrap();
    assert_eq!(key.expose_secret(), KEY);
}

#[tokio::test]
async fn get_of_a_missing_secret_is_managed_object_not_found() {
    let authz = authz_issuing(&["tok-1"]).await;
    let barbican = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&barbican)
        .await;
    let err = external(&barbican, &authz)
        .secret_payload(UUID)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), format!("Key not found, uuid: {UUID}"));
}

// §8.6 item 47.
#[tokio::test]
async fn test_empty_barbican_endpoint() {
    let authz = authz_issuing(&["tok-1"]).await;
    let km = manager(None, ServiceAuth::ExtOAuth2(token_source(&authz)));
    let err = km.store_secret(&SecretString::from(KEY)).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "The value is required for option barbican_endpoint in group [key_manager]"
    );
    assert!(
        authz.received_requests().await.unwrap().is_empty(),
        "no token fetched for nothing"
    );
}

#[tokio::test]
async fn token_endpoint_failure_is_a_key_manager_error() {
    let authz = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({"error": "invalid_client"})),
        )
        .mount(&authz)
        .await;
    let barbican = MockServer::start().await;
    let err = external(&barbican, &authz)
        .store_secret(&SecretString::from(KEY))
        .await
        .unwrap_err();
    // The [live] upstream answer of spec §5.2.
    assert_eq!(
        err.to_string(),
        "An exception occurred during the processing of getting an access token"
    );
    assert!(barbican.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn barbican_401_refreshes_the_token_once_and_retries() {
    let authz = authz_issuing(&["revoked", "fresh"]).await;
    let barbican = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer revoked"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&barbican)
        .await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer fresh"))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
            "secret_ref": format!("{}/v1/secrets/{UUID}", barbican.uri())
        })))
        .expect(1)
        .mount(&barbican)
        .await;
    let km = external(&barbican, &authz);
    assert_eq!(
        km.store_secret(&SecretString::from(KEY)).await.unwrap(),
        UUID
    );
    assert_eq!(
        authz.received_requests().await.unwrap().len(),
        2,
        "one refresh"
    );
}

#[tokio::test]
async fn a_second_401_is_returned_not_retried_forever() {
    let authz = authz_issuing(&["a", "b", "c"]).await;
    let barbican = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            serde_json::json!({"title": "Unauthorized", "description": "token invalid"}),
        ))
        .expect(2)
        .mount(&barbican)
        .await;
    let err = external(&barbican, &authz)
        .delete_secret(UUID)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Unauthorized: token invalid");
    assert_eq!(authz.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn barbican_server_error_is_a_key_manager_error() {
    let authz = authz_issuing(&["tok"]).await;
    let barbican = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_json(serde_json::json!({
            "code": 500, "title": "Internal Server Error", "description": "Secret creation failure seen - please contact site administrator."
        })))
        .mount(&barbican)
        .await;
    let err = external(&barbican, &authz)
        .store_secret(&SecretString::from(KEY))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Internal Server Error: Secret creation failure seen - please contact site administrator."
    );
}

#[tokio::test]
async fn barbican_unreachable_is_a_key_manager_error() {
    let authz = authz_issuing(&["tok"]).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let km = manager(
        Some(format!("http://127.0.0.1:{port}")),
        ServiceAuth::ExtOAuth2(token_source(&authz)),
    );
    let err = km.delete_secret(UUID).await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("Unable to establish connection to http://127.0.0.1:"),
        "{message}"
    );
}

#[tokio::test]
async fn fifty_stores_cause_exactly_one_token_request() {
    let authz = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"access_token": "one", "expires_in": 300})),
        )
        .expect(1)
        .mount(&authz)
        .await;
    let barbican = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer one"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(serde_json::json!({"secret_ref": format!("x/v1/secrets/{UUID}")})),
        )
        .expect(50)
        .mount(&barbican)
        .await;
    let km = external(&barbican, &authz);
    for _ in 0..50 {
        km.store_secret(&SecretString::from(KEY)).await.unwrap();
    }
}

// Non-external mode (§2.8): Keystone v3 password auth of the [keystone_authtoken] user, the
// key-manager internal endpoint from the catalog, X-Auth-Token to Barbican.
#[tokio::test]
async fn keystone_mode_uses_the_service_user_and_the_catalog() {
    let barbican = MockServer::start().await;
    let keystone = MockServer::start().await;
    let expires = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    Mock::given(method("POST"))
        .and(path("/identity/v3/auth/tokens"))
        .and(body_partial_json(serde_json::json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "tacker", "domain": {"name": "Default"}, "password": "service-password"}}},
            "scope": {"project": {"name": "service", "domain": {"name": "Default"}}},
        }})))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("X-Subject-Token", "keystone-token")
                .set_body_json(serde_json::json!({"token": {
                    "expires_at": expires,
                    "catalog": [
                        {"type": "identity", "name": "keystone", "endpoints": [{"interface": "internal", "url": keystone.uri(), "region_id": "RegionOne"}]},
                        {"type": "key-manager", "name": "barbican", "endpoints": [
                            {"interface": "public", "url": "http://public.example:9311", "region_id": "RegionOne"},
                            {"interface": "internal", "url": barbican.uri(), "region_id": "RegionOne"},
                        ]},
                    ],
                }})),
        )
        .expect(1)
        .mount(&keystone)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/secrets/"))
        .and(header("x-auth-token", "keystone-token"))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            serde_json::json!({"secret_ref": format!("{}/v1/secrets/{UUID}", barbican.uri())}),
        ))
        .expect(3)
        .mount(&barbican)
        .await;
    let keystone_authtoken = named_section(
        "keystone_authtoken",
        &[
            ("auth_url", &format!("{}/identity", keystone.uri())),
            ("username", "tacker"),
            ("password", "service-password"),
            ("project_name", "service"),
            ("user_domain_name", "Default"),
            ("project_domain_name", "Default"),
        ],
    );
    let auth = ServiceAuth::from_config(
        &section(&[("use_ext_oauth2_auth", "False")]),
        &keystone_authtoken,
        Arc::new(SystemClock),
    )
    .unwrap();
    assert!(matches!(auth, ServiceAuth::Keystone(_)));
    assert!(!format!("{auth:?}").contains("service-password"));
    // No barbican_endpoint needed: the catalog has it.
    let km = manager(None, auth);
    for _ in 0..3 {
        assert_eq!(
            km.store_secret(&SecretString::from(KEY)).await.unwrap(),
            UUID
        );
    }
}

#[tokio::test]
async fn keystone_mode_wrong_password_is_a_key_manager_error() {
    let keystone = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({"error": {
            "code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}})))
        .mount(&keystone)
        .await;
    let keystone_authtoken = named_section(
        "keystone_authtoken",
        &[
            ("auth_url", &format!("{}/v3", keystone.uri())),
            ("username", "tacker"),
            ("password", "bad"),
            ("project_name", "service"),
        ],
    );
    let auth = ServiceAuth::from_config(&section(&[]), &keystone_authtoken, Arc::new(SystemClock))
        .unwrap();
    let err = manager(None, auth).delete_secret(UUID).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "The request you have made requires authentication. (HTTP 401)"
    );
}

#[tokio::test]
async fn keystone_mode_missing_option_names_file_section_and_option() {
    let err = ServiceAuth::from_config(
        &section(&[]),
        &named_section(
            "keystone_authtoken",
            &[("auth_url", "http://keystone/v3"), ("username", "tacker")],
        ),
        Arc::new(SystemClock),
    )
    .unwrap_err();
    let err = err.to_string();
    assert!(err.contains("[keystone_authtoken] password"), "{err}");
}

#[tokio::test]
async fn from_config_picks_the_mode_and_checks_its_options() {
    let key_manager = named_section(
        "key_manager",
        &[("barbican_endpoint", "http://barbican.example:9311")],
    );
    let keystone_authtoken = named_section("keystone_authtoken", &[]);
    // External mode with a missing required option refuses start-up with upstream's text.
    let err = BarbicanClient::from_config(
        &key_manager,
        &section(&[
            ("use_ext_oauth2_auth", "True"),
            ("scope", "openstack"),
            ("client_id", "c"),
            ("client_secret", "s"),
        ]),
        &keystone_authtoken,
        Arc::new(SystemClock),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "Configuration error. The parameter is not set for \"token_endpoint\" in group [ext_oauth2_auth].");
    let km = BarbicanClient::from_config(
        &key_manager,
        &section(&[
            ("use_ext_oauth2_auth", "True"),
            ("token_endpoint", "https://as.example/token"),
            ("scope", "openstack"),
            ("client_id", "c"),
            ("client_secret", "s3cr3t"),
        ]),
        &keystone_authtoken,
        Arc::new(SystemClock),
    )
    .unwrap()
    .expect("external mode");
    assert!(!format!("{km:?}").contains("s3cr3t"));
    // Keystone mode without a service user: no key manager, the server still starts.
    let none = BarbicanClient::from_config(
        &key_manager,
        &section(&[]),
        &keystone_authtoken,
        Arc::new(SystemClock),
    )
    .unwrap();
    assert!(none.is_none());
}
