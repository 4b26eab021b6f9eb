//! TRACE logs of a whole key-manager flow contain no token, client secret, key or payload.
//! Its own test binary: a thread-scoped subscriber is reliable only without other tests
//! registering the same callsites concurrently.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{named_section, section};
use secrecy::{ExposeSecret, SecretString};
use tacker_oauth2_client::SystemClock;
use tacker_outbound::{BarbicanKeyManager, KeyManagerOptions, ServiceAuth, TokenSource};
use tacker_vim::KeyManager;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "Vo2bQ8v1v7N0b1j3S7m5Qyq1hM2pU7yG3cZ9rK4tX0E=";
const UUID: &str = "d152fa13-2b41-42ca-a934-6c21566c0f40";

async fn authz_issuing(tokens: &[&str]) -> MockServer {
    let server = MockServer::start().await;
    let tokens: Vec<String> = tokens.iter().map(|t| t.to_string()).collect();
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(move |_: &Request| {
            let i = n
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                .min(tokens.len() - 1);
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"access_token": tokens[i], "expires_in": 300}))
        })
        .mount(&server)
        .await;
    server
}

fn token_source(authz: &MockServer) -> TokenSource {
    TokenSource::new(
        &section(&[
            ("use_ext_oauth2_auth", "True"),
            ("token_endpoint", &format!("{}/token", authz.uri())),
            ("scope", "openstack"),
            ("client_id", "tacker_client"),
            ("client_secret", "client-secret-value"),
        ]),
        Arc::new(SystemClock),
    )
    .unwrap()
}

fn manager(endpoint: Option<String>, auth: ServiceAuth) -> BarbicanKeyManager {
    let options = KeyManagerOptions::from_section(&named_section(
        "key_manager",
        &[("barbican_endpoint", endpoint.as_deref().unwrap_or(""))],
    ));
    BarbicanKeyManager::new(options, auth).unwrap()
}

fn external(barbican: &MockServer, authz: &MockServer) -> BarbicanKeyManager {
    // A trailing '/' on the endpoint is stripped, as upstream.
    manager(
        Some(format!("{}/", barbican.uri())),
        ServiceAuth::ExtOAuth2(token_source(authz)),
    )
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// TRACE logs of a full flow (token request, store with a 401 retry, load, delete, an AS
/// error) contain no token, client secret, key or payload.
#[tokio::test]
async fn logs_never_contain_tokens_secrets_or_keys() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let authz = authz_issuing(&["first-access-token-value", "second-access-token-value"]).await;
    let barbican = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer first-access-token-value"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&barbican)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(serde_json::json!({"secret_ref": format!("x/v1/secrets/{UUID}")})),
        )
        .mount(&barbican)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(KEY.as_bytes().to_vec(), "application/octet-stream"),
        )
        .mount(&barbican)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&barbican)
        .await;
    let km = external(&barbican, &authz);
    let key_ref = km.store("vim-1", &SecretString::from(KEY)).await.unwrap();
    assert_eq!(
        km.load("vim-1", &key_ref).await.unwrap().expose_secret(),
        KEY
    );
    km.delete("vim-1", &key_ref).await.unwrap();

    let failing = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"access_token\": 5}"))
        .mount(&failing)
        .await;
    let _ = external(&barbican, &failing)
        .store("vim-2", &SecretString::from(KEY))
        .await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("stored the VIM key"),
        "the flow was logged: {logs}"
    );
    for secret in [
        "first-access-token-value",
        "second-access-token-value",
        "client-secret-value",
        KEY,
        "Vm8yYlE4djF2N04wYjFqM1M3bTVReXExaE0ycFU3eUczY1o5cks0dFgwRT0",
        // base64("tacker_client:client-secret-value"): the Basic credentials.
        "dGFja2VyX2NsaWVudDpjbGllbnQtc2VjcmV0LXZhbHVl",
    ] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}
