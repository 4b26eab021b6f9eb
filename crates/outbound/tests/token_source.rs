//! `TokenSource` against a wiremock token endpoint: the upstream cases of
//! `tacker/tests/unit/common/test_ext_oauth2_auth.py` (spec §8.5, items 29-43) and the cache
//! (single flight, refresh ahead of expiry, invalidate on 401).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{section, ManualClock};
use tacker_oauth2_client::SystemClock;
use tacker_outbound::{TokenError, TokenSource, TokenSourceOptions};
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn token_json(token: &str) -> serde_json::Value {
    serde_json::json!({"access_token": token, "token_type": "Bearer", "expires_in": 300, "scope": "openstack"})
}

fn base(server: &MockServer, method: &str) -> Vec<(String, String)> {
    vec![
        ("use_ext_oauth2_auth".into(), "True".into()),
        ("token_endpoint".into(), format!("{}/token", server.uri())),
        ("scope".into(), "openstack".into()),
        ("auth_method".into(), method.into()),
        ("client_id".into(), "tacker_client".into()),
        ("client_secret".into(), "s3cr3t-client-value".into()),
        ("audience".into(), "https://as.example/realms/x".into()),
        ("http_connect_timeout".into(), "5".into()),
    ]
}

fn source(pairs: &[(String, String)]) -> Result<TokenSource, TokenError> {
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    TokenSource::new(&section(&pairs), Arc::new(SystemClock))
}

fn form(req: &Request) -> Vec<(String, String)> {
    form_urlencoded::parse(&req.body).into_owned().collect()
}

fn keys(form: &[(String, String)]) -> Vec<&str> {
    form.iter().map(|(k, _)| k.as_str()).collect()
}

fn value<'a>(form: &'a [(String, String)], key: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

async fn one_token_endpoint(server: &MockServer, token: &str) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json(token)))
        .mount(server)
        .await;
}

fn config_message(err: TokenError) -> String {
    match err {
        TokenError::Config(m) => m,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

// §8.5 item 29.
#[tokio::test]
async fn test_init_without_token_endpoint() {
    let server = MockServer::start().await;
    let mut pairs = base(&server, "client_secret_basic");
    pairs.retain(|(k, _)| k != "token_endpoint");
    let err = source(&pairs).unwrap_err();
    assert_eq!(
        config_message(err),
        "Configuration error. The parameter is not set for \"token_endpoint\" in group [ext_oauth2_auth]."
    );
}

// §8.5 item 30.
#[tokio::test]
async fn test_init_without_scope() {
    let server = MockServer::start().await;
    let mut pairs = base(&server, "client_secret_basic");
    pairs.retain(|(k, _)| k != "scope");
    assert_eq!(
        config_message(source(&pairs).unwrap_err()),
        "Configuration error. The parameter is not set for \"scope\" in group [ext_oauth2_auth]."
    );
    // Falsy means unset, as `_get_config_option`.
    pairs.push(("scope".into(), String::new()));
    assert!(config_message(source(&pairs).unwrap_err()).contains("\"scope\""));
}

// §8.5 item 31: the middleware's options (auth_method, client_id, the method's secret) missing.
#[tokio::test]
async fn test_init_without_keystone_middleware_opts() {
    let server = MockServer::start().await;
    let mut pairs = base(&server, "client_secret_basic");
    pairs.retain(|(k, _)| k != "auth_method");
    pairs.push(("auth_method".into(), String::new()));
    assert_eq!(
        config_message(source(&pairs).unwrap_err()),
        "Configuration error. The parameter is not set for \"auth_method\" in group [ext_oauth2_auth]."
    );
    let mut pairs = base(&server, "client_secret_basic");
    pairs.retain(|(k, _)| k != "client_id");
    assert_eq!(
        config_message(source(&pairs).unwrap_err()),
        "Configuration error. The parameter is not set for \"client_id\" in group [ext_oauth2_auth]."
    );
    let mut pairs = base(&server, "client_secret_post");
    pairs.retain(|(k, _)| k != "client_secret");
    assert_eq!(
        config_message(source(&pairs).unwrap_err()),
        "Configuration error. The parameter is not set for \"client_secret\" in group [ext_oauth2_auth]."
    );
    let mut pairs = base(&server, "private_key_jwt");
    pairs.retain(|(k, _)| k != "client_secret");
    assert!(config_message(source(&pairs).unwrap_err()).contains("\"jwt_key_file\""));
}

// §8.5 item 32: certfile, keyfile, cafile, insecure, http_connect_timeout reach the client.
#[tokio::test]
async fn test_create_session() {
    let server = MockServer::start().await;
    let mut pairs = base(&server, "tls_client_auth");
    pairs.extend([
        ("certfile".into(), "/etc/tacker/client.pem".into()),
        ("keyfile".into(), "/etc/tacker/client.key".into()),
        ("cafile".into(), "/etc/tacker/ca.pem".into()),
        ("insecure".into(), "False".into()),
    ]);
    let p: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let options = TokenSourceOptions::from_section(&section(&p)).unwrap();
    assert_eq!(
        options.client.certfile.as_deref(),
        Some(std::path::Path::new("/etc/tacker/client.pem"))
    );
    assert_eq!(
        options.client.keyfile.as_deref(),
        Some(std::path::Path::new("/etc/tacker/client.key"))
    );
    assert_eq!(
        options.client.cafile.as_deref(),
        Some(std::path::Path::new("/etc/tacker/ca.pem"))
    );
    assert!(!options.client.insecure);
    assert_eq!(
        options.client.http_connect_timeout,
        Some(Duration::from_secs(5))
    );
    // The files are read when the client is built: a wrong path refuses start-up, naming it.
    let err =
        config_message(TokenSource::from_options(&options, Arc::new(SystemClock)).unwrap_err());
    assert!(err.contains("cafile = \"/etc/tacker/ca.pem\""), "{err}");
}

async fn assert_bearer_and_invalidate(src: &TokenSource, server: &MockServer, expected: &str) {
    let token = src.token().await.unwrap();
    assert_eq!(
        token.bearer().unwrap().to_str().unwrap(),
        format!("Bearer {expected}")
    );
    assert!(
        src.invalidate(&token),
        "invalidate() clears the cached token"
    );
    assert!(
        !src.invalidate(&token),
        "a second invalidate of the same token is a no-op"
    );
    src.token().await.unwrap();
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        2,
        "re-fetched after invalidate"
    );
}

// §8.5 item 34.
#[tokio::test]
async fn test_get_headers_tls_client_auth() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string(
            "client_id=tacker_client&scope=openstack&grant_type=client_credentials",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json("tls-token")))
        .expect(2)
        .mount(&server)
        .await;
    let src = source(&base(&server, "tls_client_auth")).unwrap();
    assert_bearer_and_invalidate(&src, &server, "tls-token").await;
}

// §8.5 item 35.
#[tokio::test]
async fn test_get_headers_client_secret_post() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string(
            "client_id=tacker_client&client_secret=s3cr3t-client-value&scope=openstack&grant_type=client_credentials",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json("post-token")))
        .expect(2)
        .mount(&server)
        .await;
    let src = source(&base(&server, "client_secret_post")).unwrap();
    assert_bearer_and_invalidate(&src, &server, "post-token").await;
}

// §8.5 item 36.
#[tokio::test]
async fn test_get_headers_client_secret_basic() {
    let server = MockServer::start().await;
    // base64("tacker_client:s3cr3t-client-value")
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header(
            "authorization",
            "Basic dGFja2VyX2NsaWVudDpzM2NyM3QtY2xpZW50LXZhbHVl",
        ))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string("scope=openstack&grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json("basic-token")))
        .expect(2)
        .mount(&server)
        .await;
    let src = source(&base(&server, "client_secret_basic")).unwrap();
    assert_bearer_and_invalidate(&src, &server, "basic-token").await;
}

/// Python's `urlencode` (`quote_plus`, what keystoneauth's session sends): `~` kept, `*` and
/// `:` escaped, space as `+`, fields in upstream's order (client authentication, `scope`,
/// `grant_type`); requests' `HTTPBasicAuth` puts id and secret into the Basic header as they
/// are, not form-encoded first as RFC 6749 §2.3.1 (and the `oauth2` crate) would.
#[tokio::test]
async fn token_request_is_encoded_as_python_encodes_it() {
    let server = MockServer::start().await;
    // base64("tacker client~*:p:w~*")
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header(
            "authorization",
            "Basic dGFja2VyIGNsaWVudH4qOnA6d34q",
        ))
        .and(body_string(
            "scope=openstack+a~b%2A&grant_type=client_credentials",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json("basic")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string(
            "client_id=tacker+client~%2A&client_secret=p%3Aw~%2A&scope=openstack+a~b%2A&grant_type=client_credentials",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json("post")))
        .expect(1)
        .mount(&server)
        .await;
    for (auth_method, expected) in [
        ("client_secret_basic", "basic"),
        ("client_secret_post", "post"),
    ] {
        let mut pairs = base(&server, auth_method);
        pairs.retain(|(k, _)| !matches!(k.as_str(), "client_id" | "client_secret" | "scope"));
        pairs.extend([
            ("client_id".into(), "tacker client~*".into()),
            ("client_secret".into(), "p:w~*".into()),
            ("scope".into(), "openstack a~b*".into()),
        ]);
        let token = source(&pairs).unwrap().token().await.unwrap();
        assert_eq!(token.expose(), expected, "{auth_method}");
    }
}

/// Upstream reads nothing but `access_token` from a 200 (`http_response.json()
/// .get('access_token')`, whatever the Content-Type): a body without `token_type`, with
/// `expires_in` as a string (some servers send it so), served as `text/plain`, gives a token,
/// and the string `expires_in` still sets how long it is reused (120 s less a tenth).
#[tokio::test]
async fn token_response_is_read_as_upstream_reads_it() {
    let server = MockServer::start().await;
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = counter.clone();
    Mock::given(method("POST"))
        .respond_with(move |_: &Request| {
            let n = c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_raw(
                format!(r#"{{"access_token": "loose-{n}", "expires_in": "120"}}"#),
                "text/plain",
            )
        })
        .mount(&server)
        .await;
    let clock = ManualClock::new(1_800_000_000.0);
    let pairs = base(&server, "client_secret_basic");
    let p: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let src = TokenSource::new(&section(&p), Arc::new(clock.clone())).unwrap();
    assert_eq!(src.token().await.unwrap().expose(), "loose-0");
    clock.advance(107.0);
    assert_eq!(src.token().await.unwrap().expose(), "loose-0");
    clock.advance(2.0);
    assert_eq!(src.token().await.unwrap().expose(), "loose-1");
}

fn check_assertion(
    form: &[(String, String)],
    key: &jsonwebtoken::DecodingKey,
    alg: jsonwebtoken::Algorithm,
) {
    assert_eq!(value(form, "client_assertion_type"), ASSERTION_TYPE);
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.set_audience(&["https://as.example/realms/x"]);
    let data = jsonwebtoken::decode::<serde_json::Value>(
        value(form, "client_assertion"),
        key,
        &validation,
    )
    .expect("assertion verifies with the client's key");
    let c = data.claims;
    assert_eq!(c["iss"], "tacker_client");
    assert_eq!(c["sub"], "tacker_client");
    assert!(
        c["iat"].is_i64() && c["exp"].is_i64(),
        "numeric dates (RFC 7519): {c}"
    );
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        3600
    );
    assert!(c["jti"].as_str().is_some_and(|j| !j.is_empty()));
}

// §8.5 item 37.
#[tokio::test]
async fn test_get_headers_private_key_jwt() {
    let pki = tacker_test_support::TestPki::new().unwrap();
    let server = MockServer::start().await;
    one_token_endpoint(&server, "pkjwt-token").await;
    let mut pairs = base(&server, "private_key_jwt");
    pairs.retain(|(k, _)| k != "client_secret");
    pairs.push(("jwt_key_file".into(), pki.jwt_key.display().to_string()));
    pairs.push(("jwt_algorithm".into(), "RS256".into()));
    let src = source(&pairs).unwrap();
    assert_bearer_and_invalidate(&src, &server, "pkjwt-token").await;
    let requests = server.received_requests().await.unwrap();
    let f = form(&requests[0]);
    assert_eq!(
        keys(&f),
        [
            "client_id",
            "client_assertion_type",
            "client_assertion",
            "scope",
            "grant_type"
        ]
    );
    let public = std::fs::read(&pki.jwt_public_key).unwrap();
    check_assertion(
        &f,
        &jsonwebtoken::DecodingKey::from_rsa_pem(&public).unwrap(),
        jsonwebtoken::Algorithm::RS256,
    );
    // Each request carries a fresh assertion (jti is single use at the AS).
    assert_ne!(
        value(&f, "client_assertion"),
        value(&form(&requests[1]), "client_assertion")
    );
}

// §8.5 item 38, with the fix: the assertion alone, no `client_secret` next to it.
#[tokio::test]
async fn test_get_headers_client_secret_jwt() {
    let server = MockServer::start().await;
    one_token_endpoint(&server, "csjwt-token").await;
    let mut pairs = base(&server, "client_secret_jwt");
    pairs.push(("jwt_algorithm".into(), "HS256".into()));
    let src = source(&pairs).unwrap();
    assert_bearer_and_invalidate(&src, &server, "csjwt-token").await;
    let requests = server.received_requests().await.unwrap();
    let f = form(&requests[0]);
    assert_eq!(
        keys(&f),
        ["client_id", "client_assertion_type", "client_assertion", "scope", "grant_type"],
        "no client_secret in the form (upstream sends it too; strict servers reject two mechanisms)"
    );
    assert!(!String::from_utf8_lossy(&requests[0].body).contains("s3cr3t-client-value"));
    assert!(requests[0].headers.get("authorization").is_none());
    check_assertion(
        &f,
        &jsonwebtoken::DecodingKey::from_secret(b"s3cr3t-client-value"),
        jsonwebtoken::Algorithm::HS256,
    );
}

// §8.5 item 39.
#[tokio::test]
async fn test_get_headers_invalid_auth_method() {
    let server = MockServer::start().await;
    let mut pairs = base(&server, "client_secret_basic");
    pairs.retain(|(k, _)| k != "auth_method");
    pairs.push(("auth_method".into(), "client_secret_jwtt".into()));
    let err = config_message(source(&pairs).unwrap_err());
    assert!(
        err.contains("auth_method = \"client_secret_jwtt\""),
        "{err}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

// §8.5 item 40.
#[tokio::test]
async fn test_get_headers_token_endpoint_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_json("late"))
                .set_delay(Duration::from_secs(4)),
        )
        .mount(&server)
        .await;
    let mut pairs = base(&server, "client_secret_basic");
    pairs.retain(|(k, _)| k != "http_connect_timeout");
    pairs.push(("http_connect_timeout".into(), "1".into()));
    let err = source(&pairs).unwrap().token().await.unwrap_err();
    assert!(matches!(err, TokenError::Unavailable), "{err:?}");
    assert_eq!(
        err.to_string(),
        "The OAuth2.0 access token API service is temporarily unavailable."
    );
}

#[tokio::test]
async fn token_endpoint_refusing_connections_is_unavailable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let server = MockServer::start().await;
    let mut pairs = base(&server, "client_secret_basic");
    pairs.retain(|(k, _)| k != "token_endpoint");
    pairs.push((
        "token_endpoint".into(),
        format!("http://127.0.0.1:{port}/token"),
    ));
    let err = source(&pairs).unwrap().token().await.unwrap_err();
    assert!(matches!(err, TokenError::Unavailable), "{err:?}");
}

// §8.5 item 41.
#[tokio::test]
async fn test_get_headers_http_status_201() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(token_json("created")))
        .mount(&server)
        .await;
    let err = source(&base(&server, "client_secret_basic"))
        .unwrap()
        .token()
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Failed to get an access token.");
}

// §8.5 item 42.
#[tokio::test]
async fn test_get_headers_response_without_access_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"error": "invalid_client"})),
        )
        .mount(&server)
        .await;
    let err = source(&base(&server, "client_secret_basic"))
        .unwrap()
        .token()
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Failed to get an access token.");
}

#[tokio::test]
async fn token_endpoint_http_error_is_the_generic_exception() {
    // keystoneauth raises HttpError for >= 400 before Tacker's status check.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"error": "invalid_client"})),
        )
        .mount(&server)
        .await;
    let err = source(&base(&server, "client_secret_basic"))
        .unwrap()
        .token()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "An exception occurred during the processing of getting an access token"
    );
}

// §8.5 item 43.
#[tokio::test]
async fn test_get_headers_unexpected_exception() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>not json</html>"))
        .mount(&server)
        .await;
    let err = source(&base(&server, "client_secret_basic"))
        .unwrap()
        .token()
        .await
        .unwrap_err();
    assert!(matches!(err, TokenError::Other), "{err:?}");
    assert_eq!(
        err.to_string(),
        "An exception occurred during the processing of getting an access token"
    );
}

#[tokio::test]
async fn fifty_calls_cause_exactly_one_token_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json("cached")))
        .expect(1)
        .mount(&server)
        .await;
    let src = source(&base(&server, "client_secret_basic")).unwrap();
    for _ in 0..50 {
        assert_eq!(src.token().await.unwrap().expose(), "cached");
    }
}

#[tokio::test]
async fn concurrent_callers_share_one_token_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_json("shared"))
                // Keep the request in flight while the others arrive.
                .set_delay(Duration::from_millis(300)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let src = source(&base(&server, "client_secret_basic")).unwrap();
    let calls = (0..200).map(|_| {
        let src = src.clone();
        tokio::spawn(async move { src.token().await.map(|t| t.expose().to_owned()) })
    });
    for result in futures::future::join_all(calls).await {
        assert_eq!(result.unwrap().unwrap(), "shared");
    }
}

#[tokio::test]
async fn token_is_refreshed_ahead_of_expiry() {
    let server = MockServer::start().await;
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = counter.clone();
    Mock::given(method("POST"))
        .respond_with(move |_: &Request| {
            let n = c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(token_json(&format!("token-{n}")))
        })
        .mount(&server)
        .await;
    let clock = ManualClock::new(1_800_000_000.0);
    let pairs = base(&server, "client_secret_basic");
    let p: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let src = TokenSource::new(&section(&p), Arc::new(clock.clone())).unwrap();
    assert_eq!(src.token().await.unwrap().expose(), "token-0");
    // expires_in = 300: margin 30 s; still cached 269 s later...
    clock.advance(269.0);
    assert_eq!(src.token().await.unwrap().expose(), "token-0");
    // ...refreshed before the real expiry.
    clock.advance(2.0);
    assert_eq!(src.token().await.unwrap().expose(), "token-1");
    assert_eq!(counter.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn invalidating_an_old_token_keeps_the_new_one() {
    let server = MockServer::start().await;
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = counter.clone();
    Mock::given(method("POST"))
        .respond_with(move |_: &Request| {
            let n = c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(token_json(&format!("token-{n}")))
        })
        .mount(&server)
        .await;
    let src = source(&base(&server, "client_secret_basic")).unwrap();
    let first = src.token().await.unwrap();
    assert!(src.invalidate(&first));
    let second = src.token().await.unwrap();
    // A late 401 for the first token must not throw away the second.
    assert!(!src.invalidate(&first));
    assert_eq!(src.token().await.unwrap().expose(), second.expose());
    assert_eq!(counter.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn debug_output_never_shows_token_or_secret() {
    let server = MockServer::start().await;
    one_token_endpoint(&server, "very-secret-access-token").await;
    let src = source(&base(&server, "client_secret_post")).unwrap();
    let token = src.token().await.unwrap();
    let shown = format!("{src:?} {token:?} {:?}", token.bearer().unwrap());
    assert!(!shown.contains("very-secret-access-token"), "{shown}");
    assert!(!shown.contains("s3cr3t-client-value"), "{shown}");
    assert_eq!(token.expose(), "very-secret-access-token");
}
