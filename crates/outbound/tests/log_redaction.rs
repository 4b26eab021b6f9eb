//! TRACE logs of a whole Barbican flow contain no token, client secret, key or payload.
//! Its own test binary: a thread-scoped subscriber is reliable only without other tests
//! registering the same callsites concurrently.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{authz_issuing, external, KEY, UUID};
use secrecy::{ExposeSecret, SecretString};
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

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
    let uuid = km.store_secret(&SecretString::from(KEY)).await.unwrap();
    assert_eq!(km.secret_payload(&uuid).await.unwrap().expose_secret(), KEY);
    km.delete_secret(&uuid).await.unwrap();

    let failing = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"access_token\": 5}"))
        .mount(&failing)
        .await;
    let _ = external(&barbican, &failing)
        .store_secret(&SecretString::from(KEY))
        .await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("stored a secret in Barbican"),
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
