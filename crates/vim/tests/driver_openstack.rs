//! The OpenStack VIM driver against an in-process fake Keystone (wiremock). Named after
//! upstream's `unit/nfvo/drivers/vim/test_openstack_driver.py` (spec §8.3 items 15-20) where
//! they apply.

mod driver_support;

use driver_support::{mode, vim, LogCapture, Setup};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tacker_vim::vault::fernet;
use tacker_vim::{Vim, VimError};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "gAAAAAB-keystone-token";

fn openstack_vim(server: &MockServer) -> Vim {
    vim(
        "openstack",
        &format!("{}/identity", server.uri()),
        json!({"username": "nfv_user", "password": "devstack", "user_domain_name": "Default",
               "cert_verify": "True"}),
        json!({"name": "nfv", "project_domain_name": "Default"}),
    )
}

fn expected_auth_body() -> Value {
    json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "password": "devstack", "name": "nfv_user", "domain": {"name": "Default"}}}},
        "scope": {"project": {"name": "nfv", "domain": {"name": "Default"}}}}})
}

/// Keystone at `/identity`: version discovery, password auth (exactly once), regions.
async fn keystone() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/identity/v3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": {
            "id": "v3.14", "status": "stable"}})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/identity/v3/auth/tokens"))
        .and(body_json(expected_auth_body()))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("X-Subject-Token", TOKEN)
                .set_body_json(json!({"token": {"methods": ["password"], "expires_at": "2099-01-01T00:00:00Z"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/identity/v3/regions"))
        .and(header("X-Auth-Token", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"regions": [
            {"id": "RegionOne", "description": ""}, {"id": "RegionTwo", "description": ""}]})))
        .expect(1)
        .mount(&server)
        .await;
    server
}

fn keystone_401() -> ResponseTemplate {
    ResponseTemplate::new(401).set_body_json(json!({"error": {"code": 401,
        "message": "The request you have made requires authentication.", "title": "Unauthorized"}}))
}

#[tokio::test]
async fn test_register_keystone_v3() {
    let server = keystone().await;
    let setup = Setup::new(false, true, false);
    let mut vim = openstack_vim(&server);
    setup.register(&mut vim).await.unwrap();

    let auth_url = format!("{}/identity/v3", server.uri());
    assert_eq!(vim.auth_url, auth_url);
    assert_eq!(
        vim.placement_attr,
        Some(json!({"regions": ["RegionOne", "RegionTwo"]}))
    );
    // Stored form, in upstream's key order; the password lives in its own column.
    assert_eq!(
        Value::Object(vim.auth_cred.clone()).to_string(),
        json!({"username": "nfv_user", "user_domain_name": "Default", "cert_verify": "True",
               "project_id": null, "project_name": "nfv", "project_domain_name": "Default",
               "auth_url": auth_url, "key_type": "fernet_key"})
        .to_string()
    );
    // Key written to <keys dir>/<vim_id>, 0600 in a 0700 directory; password encrypted once
    // with it.
    let key_file = setup.key_file(&vim);
    assert_eq!(mode(&setup.key_dir()), 0o700);
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(setup.key_files(), vec![vim.id.clone()]);
    let key = SecretString::from(std::fs::read_to_string(&key_file).unwrap());
    let token = vim.password.clone().expect("encrypted password");
    assert!(token.starts_with("gAAAAA"));
    assert_eq!(
        fernet::decrypt(&key, &token).unwrap().expose_secret(),
        "devstack"
    );
    server.verify().await;
}

#[tokio::test]
async fn test_register_keystone_v3_with_project_id_and_domain_ids() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/"))
        .respond_with(ResponseTemplate::new(300).set_body_json(json!({"versions": {}})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/auth/tokens"))
        .and(body_json(json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "password": "pw", "name": "u", "domain": {"id": "default"}}}},
            "scope": {"project": {"id": "p-123"}}}})))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("X-Subject-Token", TOKEN)
                .set_body_json(json!({"token": {}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v3/regions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"regions": []})))
        .mount(&server)
        .await;
    let setup = Setup::new(false, true, false);
    // A trailing "/v3/" is kept as is (get_auth_url_v3), and cert_verify may be a bool.
    let mut vim = vim(
        "openstack",
        &format!("{}/v3/", server.uri()),
        json!({"username": "u", "password": "pw", "user_domain_id": "default", "cert_verify": false}),
        json!({"id": "p-123", "name": "nfv", "project_domain_name": "Default"}),
    );
    setup.register(&mut vim).await.unwrap();
    assert_eq!(vim.placement_attr, Some(json!({"regions": []})));
    assert_eq!(vim.auth_cred["project_id"], json!("p-123"));
    assert_eq!(
        vim.auth_cred["auth_url"],
        json!(format!("{}/v3/", server.uri()))
    );
    server.verify().await;
}

#[tokio::test]
async fn test_register_vim_drops_client_key_type_and_secret_uuid() {
    let server = keystone().await;
    let setup = Setup::new(false, true, false);
    let mut vim = openstack_vim(&server);
    vim.auth_cred
        .insert("key_type".into(), json!("barbican_key"));
    vim.auth_cred.insert("secret_uuid".into(), json!("forged"));
    setup.register(&mut vim).await.unwrap();
    assert_eq!(vim.auth_cred["key_type"], json!("fernet_key"));
    assert!(!vim.auth_cred.contains_key("secret_uuid"));
}

/// §8.3 item 19: Keystone answers 401 → VimUnauthorizedException, and no key is left.
#[tokio::test]
async fn test_register_vim_invalid_auth() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/identity/v3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/identity/v3/auth/tokens"))
        .respond_with(keystone_401())
        .mount(&server)
        .await;
    let setup = Setup::new(false, true, false);
    let mut vim = openstack_vim(&server);
    let err = setup.register(&mut vim).await.unwrap_err();
    assert!(matches!(err, VimError::VimUnauthorized(_)), "{err:?}");
    assert_eq!(err.type_name(), "VimUnauthorizedException");
    // Upstream: Keystone's message from the body, "The request you have made requires
    // authentication. (HTTP 401)"; nothing from the answer is echoed here (api-ref/compat.md).
    assert_eq!(err.to_string(), "Unauthorized (HTTP 401)");
    assert!(setup.key_files().is_empty());
    assert!(vim.password.is_none());
}

/// §8.3 item 20: Keystone answers 400 → VimUnauthorizedException.
#[tokio::test]
async fn test_register_vim_bad_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/identity/v3"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/identity/v3/auth/tokens"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"code": 400,
            "message": "Invalid input for field 'identity/password/user/password': None is not of type 'string'",
            "title": "Bad Request"}})).insert_header("x-openstack-request-id", "req-1234"))
        .mount(&server)
        .await;
    let setup = Setup::new(false, true, false);
    let mut vim = openstack_vim(&server);
    let err = setup.register(&mut vim).await.unwrap_err();
    assert!(matches!(err, VimError::VimUnauthorized(_)), "{err:?}");
    // Upstream: "Invalid input for field ... (HTTP 400) (Request-ID: req-1234)", the body's
    // message and a header; neither is echoed here.
    assert_eq!(err.to_string(), "Bad Request (HTTP 400)");
    assert!(setup.key_files().is_empty());
}

#[tokio::test]
async fn test_register_vim_unauthorized_region_listing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/identity/v3"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/identity/v3/auth/tokens"))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("X-Subject-Token", TOKEN)
                .set_body_json(json!({"token": {}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/identity/v3/regions"))
        .respond_with(keystone_401())
        .mount(&server)
        .await;
    let setup = Setup::new(false, true, false);
    let mut vim = openstack_vim(&server);
    let err = setup.register(&mut vim).await.unwrap_err();
    assert!(matches!(err, VimError::VimUnauthorized(_)), "{err:?}");
    assert!(setup.key_files().is_empty());
}

#[tokio::test]
async fn test_register_vim_region_listing_server_error_is_internal() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/identity/v3"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/identity/v3/auth/tokens"))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("X-Subject-Token", TOKEN)
                .set_body_json(json!({"token": {}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/identity/v3/regions"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let setup = Setup::new(false, true, false);
    let mut vim = openstack_vim(&server);
    let err = setup.register(&mut vim).await.unwrap_err();
    assert!(matches!(err, VimError::Internal(_)), "{err:?}");
    assert!(setup.key_files().is_empty());
}

/// §8.9 item 61: unreachable auth_url → VimConnectionException with keystoneauth's text.
#[tokio::test]
async fn test_register_vim_unreachable_auth_url() {
    // A port that was free a moment ago: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let setup = Setup::new(false, true, false);
    let mut vim = vim(
        "openstack",
        &format!("http://127.0.0.1:{port}/identity"),
        json!({"username": "u", "password": "p"}),
        json!({"name": "nfv"}),
    );
    let err = setup.register(&mut vim).await.unwrap_err();
    assert!(matches!(err, VimError::VimConnection(_)), "{err:?}");
    assert_eq!(err.type_name(), "VimConnectionException");
    assert!(
        err.to_string().starts_with(&format!(
            "Unable to establish connection to http://127.0.0.1:{port}/identity/v3: "
        )),
        "{err}"
    );
    assert!(setup.key_files().is_empty());
}

#[tokio::test]
async fn test_register_vim_auth_url_answers_404() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"detail": "nope"})))
        .mount(&server)
        .await;
    let setup = Setup::new(false, true, false);
    let mut vim = openstack_vim(&server);
    let err = setup.register(&mut vim).await.unwrap_err();
    assert!(matches!(err, VimError::VimConnection(_)), "{err:?}");
    assert_eq!(err.to_string(), "Not Found (HTTP 404)");

    // A non-JSON error page gets keystoneauth's class message.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .mount(&server)
        .await;
    let mut vim = openstack_vim(&server);
    let err = setup.register(&mut vim).await.unwrap_err();
    assert_eq!(err.to_string(), "Bad Gateway (HTTP 502)");
}

#[tokio::test]
async fn test_register_vim_invalid_cert_verify_is_bad_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let setup = Setup::new(false, true, false);
    let mut vim = openstack_vim(&server);
    vim.auth_cred.insert("cert_verify".into(), json!("yes"));
    let err = setup.register(&mut vim).await.unwrap_err();
    assert!(matches!(err, VimError::BadRequest(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "Invalid input for auth_cred. Reason: cert_verify 'yes' is not a valid boolean value."
    );
    assert!(setup.key_files().is_empty());
}

#[tokio::test]
async fn test_register_vim_unexpected_auth_cred_key_is_bad_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let setup = Setup::new(false, true, false);
    let mut vim = openstack_vim(&server);
    vim.auth_cred.insert("foo".into(), json!("bar"));
    let err = setup.register(&mut vim).await.unwrap_err();
    assert!(matches!(err, VimError::BadRequest(_)), "{err:?}");
    assert!(setup.key_files().is_empty());
}

/// A key directory that cannot be written: VimKeyNotFoundException, nothing left behind.
#[tokio::test]
async fn test_register_vim_key_write_failure() {
    let server = keystone().await;
    let setup = Setup::new(false, true, false);
    std::fs::write(setup.key_dir(), b"not a directory").unwrap();
    let mut vim = openstack_vim(&server);
    let err = setup.register(&mut vim).await.unwrap_err();
    assert!(
        matches!(&err, VimError::VimKeyNotFound(id) if *id == vim.id),
        "{err:?}"
    );
    assert_eq!(
        std::fs::read_dir(setup.keys_dir.path()).unwrap().count(),
        1,
        "no stray file next to the key directory"
    );
}

/// §8.3 item 16: deregistering a local-key VIM removes its key file; again is harmless.
#[tokio::test]
async fn test_deregister_vim() {
    let server = keystone().await;
    let setup = Setup::new(false, true, false);
    let mut vim = openstack_vim(&server);
    setup.register(&mut vim).await.unwrap();
    assert!(setup.key_file(&vim).exists());
    let driver = &setup.drivers["openstack"];
    driver.deregister(&vim).await.unwrap();
    assert!(!setup.key_file(&vim).exists());
    driver.deregister(&vim).await.unwrap();
}

/// A failed later step (the database insert) removes the key `register` created.
#[tokio::test]
async fn test_delete_vim_auth_removes_the_new_key() {
    let server = keystone().await;
    let setup = Setup::new(false, true, false);
    let mut vim = openstack_vim(&server);
    let staged = setup.register_staged(&mut vim).await.unwrap();
    setup.drivers["openstack"].discard_key(&staged).await;
    assert!(setup.key_files().is_empty());
}

/// A new key is written beside the VIM's current key: until it is made current the old key
/// file is untouched, and discarding it leaves exactly the old key.
#[tokio::test]
async fn new_key_is_staged_beside_the_current_one() {
    let server = keystone().await;
    let setup = Setup::new(false, true, false);
    let mut vim = openstack_vim(&server);
    setup.register(&mut vim).await.unwrap();
    let old_key = std::fs::read_to_string(setup.key_file(&vim)).unwrap();
    let old_password = vim.password.clone().unwrap();

    // The fake Keystone answers once per registration.
    let second = keystone().await;
    let mut again = vim.clone();
    again.auth_url = format!("{}/identity", second.uri());
    again.auth_cred.insert("password".into(), json!("devstack"));
    let staged = setup.register_staged(&mut again).await.unwrap();
    assert_eq!(setup.key_files().len(), 2, "{:?}", setup.key_files());
    assert_eq!(
        std::fs::read_to_string(setup.key_file(&vim)).unwrap(),
        old_key
    );
    setup.drivers["openstack"].discard_key(&staged).await;
    assert_eq!(setup.key_files(), vec![vim.id.clone()]);
    assert_eq!(
        fernet::decrypt(&SecretString::from(old_key), &old_password)
            .unwrap()
            .expose_secret(),
        "devstack"
    );

    let third = keystone().await;
    let mut again = vim.clone();
    again.auth_url = format!("{}/identity", third.uri());
    again.auth_cred.insert("password".into(), json!("devstack"));
    let staged = setup.register_staged(&mut again).await.unwrap();
    setup.drivers["openstack"]
        .activate_key(&staged)
        .await
        .unwrap();
    assert_eq!(setup.key_files(), vec![vim.id.clone()]);
    assert_eq!(
        fernet::decrypt(&setup.key_of(&again), again.password.as_deref().unwrap())
            .unwrap()
            .expose_secret(),
        "devstack"
    );
}

/// §8.3 item 18: with `[vim_keys] use_barbican` the key goes to Barbican.
#[tokio::test]
async fn test_encode_vim_auth_barbican() {
    let server = keystone().await;
    let setup = Setup::new(true, true, true);
    let mut vim = openstack_vim(&server);
    setup.register(&mut vim).await.unwrap();
    assert_eq!(vim.auth_cred["key_type"], json!("barbican_key"));
    let uuid = vim.auth_cred["secret_uuid"].as_str().unwrap().to_owned();
    let key = setup.barbican.get(&uuid).expect("secret stored");
    assert_eq!(key.expose_secret().len(), 44);
    assert_eq!(
        fernet::decrypt(&key, vim.password.as_deref().unwrap())
            .unwrap()
            .expose_secret(),
        "devstack"
    );
    assert!(setup.key_files().is_empty(), "no key file with Barbican");
    // key_type then secret_uuid, appended last.
    let keys: Vec<&str> = vim.auth_cred.keys().map(String::as_str).collect();
    assert_eq!(&keys[keys.len() - 2..], ["key_type", "secret_uuid"]);
}

/// §8.3 item 17: deregistering a Barbican VIM deletes its secret.
#[tokio::test]
async fn test_deregister_vim_barbican() {
    let server = keystone().await;
    let setup = Setup::new(true, true, true);
    let mut vim = openstack_vim(&server);
    setup.register(&mut vim).await.unwrap();
    assert_eq!(setup.barbican.len(), 1);
    setup.drivers["openstack"].deregister(&vim).await.unwrap();
    assert_eq!(setup.barbican.len(), 0);
}

#[tokio::test]
async fn test_encode_vim_auth_barbican_store_failure_leaves_nothing() {
    let server = keystone().await;
    let setup = Setup::new(true, true, true);
    setup
        .barbican
        .fail_store
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mut vim = openstack_vim(&server);
    let err = setup.register(&mut vim).await.unwrap_err();
    assert!(matches!(err, VimError::KeyManager(_)), "{err:?}");
    assert_eq!(setup.barbican.len(), 0);
    assert!(setup.key_files().is_empty());
}

/// `use_barbican = True` without a configured Barbican: a clear KeyManagerError before any
/// call to the VIM.
#[tokio::test]
async fn test_register_vim_barbican_not_configured() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let setup = Setup::new(true, true, false);
    let mut vim = openstack_vim(&server);
    let err = setup.register(&mut vim).await.unwrap_err();
    assert_eq!(err.type_name(), "KeyManagerError");
    let text = err.to_string();
    assert!(text.starts_with("Key manager error: The value is required for option barbican_endpoint in group [key_manager]"), "{text}");
    assert!(text.contains("[vim_keys] use_barbican"), "{text}");
    server.verify().await;
}

/// Secrets never reach the logs, whatever the level.
#[tokio::test]
async fn test_register_vim_logs_no_secrets() {
    let server = keystone().await;
    let setup = Setup::new(false, true, false);
    let (logs, _guard) = LogCapture::start();
    let mut vim = openstack_vim(&server);
    setup.register(&mut vim).await.unwrap();
    let key = setup.key_of(&vim);
    setup.drivers["openstack"].deregister(&vim).await.unwrap();
    let text = logs.text();
    assert!(!text.is_empty(), "something was logged");
    for secret in ["devstack", TOKEN, key.expose_secret()] {
        assert!(
            !text.contains(secret),
            "{secret} appears in the logs:\n{text}"
        );
    }
}
