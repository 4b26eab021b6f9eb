//! Issue 3, integration tier: `external_oauth2_token` in the running `tacker-server` against
//! the real authorization server (`tests/peers/authz`: oidc-provider shaped like a Keycloak
//! realm, Keycloak paths, `scope=openstack`, the guide's project/user claims, HTTPS with the
//! test CA, one introspection client per method).
//!
//! For each of the five client authentication methods: a real token -> 200 with the mapped
//! identity; no token, wrong scheme, revoked or unknown token -> 401; a token without
//! project/user claims -> 403; the authorization server stopped -> 503, and 200 again once
//! it is back. Plus: an authorization server that accepts connections but never answers ->
//! 503 once `http_connect_timeout` fires, and no token, secret or client assertion in TRACE
//! logs of a whole flow.
//!
//! Needs `scripts/setup/authz.sh`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tacker_test_support::{
    upstream, AuthMethod, OAuth2Stack, RealmClient, StackOptions, PROJECT_ID,
};

/// Bound of every request of these tests (not a speed assertion: a hung server fails the
/// test instead of hanging CI).
const REQUEST_BOUND: Duration = Duration::from_secs(60);

const TENANT_MISMATCH: &str =
    "Specifying 'tenant_id' other than authenticated tenant in request requires admin privileges";

fn opts() -> StackOptions {
    StackOptions {
        binary: Some(env!("CARGO_BIN_EXE_tacker-server").into()),
        ..StackOptions::default()
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_BOUND)
        .build()
        .expect("client")
}

async fn get_vims(
    stack: &OAuth2Stack,
    auth: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut req = http().get(stack.tacker.url("/v1.0/vims"));
    if let Some(value) = auth {
        req = req.header("Authorization", value);
    }
    let resp = req.send().await.expect("GET /v1.0/vims");
    let status = resp.status();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.expect("body"))
}

/// A create whose body stops at Tacker's tenant check (spec 2.4 step 4): the answer shows
/// which project and admin flag the server mapped from the token.
async fn tenant_probe(stack: &OAuth2Stack, token: &str, tenant: &str) -> (StatusCode, String) {
    let resp = http()
        .post(stack.tacker.url("/v1.0/vims"))
        .bearer_auth(token)
        .json(&json!({"vim": {"tenant_id": tenant}}))
        .send()
        .await
        .expect("POST /v1.0/vims");
    let status = resp.status();
    (status, resp.text().await.expect("body"))
}

fn assert_401(
    stack: &OAuth2Stack,
    case: &str,
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &str,
) {
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "{case}: {body}\n{}",
        stack.tacker.log()
    );
    assert_eq!(body, upstream::INVALID_TOKEN_BODY, "{case}");
    assert_eq!(headers["content-type"], "application/json", "{case}");
    let challenges: Vec<&str> = headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().expect("ascii"))
        .collect();
    let upstream_challenge = format!("Authorization OAuth 2.0 uri=\"{}\"", stack.authz.issuer());
    assert!(
        challenges.iter().any(|c| *c == upstream_challenge),
        "{case}: upstream challenge missing in {challenges:?}"
    );
    assert!(
        challenges
            .iter()
            .any(|c| c.starts_with("Bearer") && c.contains("error=\"invalid_token\"")),
        "{case}: RFC 6750 challenge missing in {challenges:?}"
    );
}

async fn end_to_end(method: AuthMethod) {
    let mut stack = OAuth2Stack::start(method, opts(), |c| c)
        .await
        .expect("stack");

    // A real token -> 200.
    let token = stack.authz.token_for(method).await.expect("token");
    let (status, _, body) = get_vims(&stack, Some(&format!("Bearer {token}"))).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{method}: {body}\n{}",
        stack.tacker.log()
    );
    let list: Value = serde_json::from_str(&body).expect("json");
    assert!(list["vims"].is_array(), "{method}: {body}");

    // The mapped identity: project = the token's `project.id`, admin from `user.roles`.
    let member = stack.authz.token(RealmClient::MEMBER).await.expect("token");
    let (status, body) = tenant_probe(&stack, &member, "another-project").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{method}: {body}");
    assert!(
        body.contains(TENANT_MISMATCH),
        "{method}: non-admin, foreign tenant: {body}"
    );
    let (status, body) = tenant_probe(&stack, &member, PROJECT_ID).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{method}: {body}");
    assert!(
        !body.contains(TENANT_MISMATCH),
        "{method}: own project rejected: {body}"
    );
    let (_, body) = tenant_probe(&stack, &token, "another-project").await;
    assert!(
        !body.contains(TENANT_MISMATCH),
        "{method}: admin treated as non-admin: {body}"
    );

    // No token, wrong scheme, unknown, revoked -> 401.
    let (s, h, b) = get_vims(&stack, None).await;
    assert_401(&stack, "no token", s, &h, &b);
    let (s, h, b) = get_vims(&stack, Some(&format!("bearer {token}"))).await;
    assert_401(&stack, "lower-case scheme", s, &h, &b);
    let (s, h, b) = get_vims(&stack, Some("Basic dGFja2VyOnNlY3JldA==")).await;
    assert_401(&stack, "Basic scheme", s, &h, &b);
    let (s, h, b) = get_vims(&stack, Some("Bearer not-a-token-the-realm-issued")).await;
    assert_401(&stack, "unknown token", s, &h, &b);
    let revoked = stack.authz.token_for(method).await.expect("token");
    stack.authz.revoke(&revoked).await.expect("revoke");
    let (s, h, b) = get_vims(&stack, Some(&format!("Bearer {revoked}"))).await;
    assert_401(&stack, "revoked token", s, &h, &b);

    // Active token without project/user claims -> 403.
    let bare = stack
        .authz
        .token(RealmClient::NO_CLAIMS)
        .await
        .expect("token");
    let (status, headers, body) = get_vims(&stack, Some(&format!("Bearer {bare}"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{method}: {body}");
    assert_eq!(body, upstream::FORBIDDEN_BODY);
    assert!(headers.get("www-authenticate").is_none());

    // Authorization server stopped -> 503 (fix; upstream 500); back -> 200 with the same,
    // still uncached token.
    let later = stack.authz.token_for(method).await.expect("token");
    stack.authz.stop();
    let (status, headers, body) = get_vims(&stack, Some(&format!("Bearer {later}"))).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{method}: {body}\n{}",
        stack.tacker.log()
    );
    assert_eq!(body, upstream::SERVICE_UNAVAILABLE_BODY);
    assert!(headers.contains_key("retry-after"), "{method}: {headers:?}");
    stack.authz.restart().await.expect("restart");
    let (status, _, body) = get_vims(&stack, Some(&format!("Bearer {later}"))).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{method}: {body}\n{}",
        stack.tacker.log()
    );
}

#[tokio::test]
async fn external_oauth2_client_secret_basic_end_to_end() {
    end_to_end(AuthMethod::ClientSecretBasic).await;
}

#[tokio::test]
async fn external_oauth2_client_secret_post_end_to_end() {
    end_to_end(AuthMethod::ClientSecretPost).await;
}

#[tokio::test]
async fn external_oauth2_private_key_jwt_end_to_end() {
    end_to_end(AuthMethod::PrivateKeyJwt).await;
}

#[tokio::test]
async fn external_oauth2_client_secret_jwt_end_to_end() {
    end_to_end(AuthMethod::ClientSecretJwt).await;
}

#[tokio::test]
async fn external_oauth2_tls_client_auth_end_to_end() {
    end_to_end(AuthMethod::TlsClientAuth).await;
}

/// An introspection endpoint that accepts TCP connections and never answers: only the
/// `http_connect_timeout` bound can end the call, and the answer is then 503.
#[tokio::test]
async fn introspection_that_never_answers_gives_503_after_http_connect_timeout() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_url = format!(
        "http://{}/realms/testrealm/protocol/openid-connect/token/introspect",
        silent.local_addr().expect("addr")
    );
    // Accept and hold connections open without reading, on a thread owned by this test.
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for conn in silent.incoming().take(4) {
            match conn {
                Ok(c) => conns.push(c),
                Err(_) => break,
            }
        }
        conns
    });
    let stack = OAuth2Stack::start(AuthMethod::ClientSecretPost, opts(), |c| {
        c.set("introspect_endpoint", silent_url.clone())
            .set("http_connect_timeout", "1")
    })
    .await
    .expect("stack");
    let token = stack
        .authz
        .token_for(AuthMethod::ClientSecretPost)
        .await
        .expect("token");
    let (status, headers, body) = get_vims(&stack, Some(&format!("Bearer {token}"))).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{body}\n{}",
        stack.tacker.log()
    );
    assert_eq!(body, upstream::SERVICE_UNAVAILABLE_BODY);
    assert!(headers.contains_key("retry-after"));
    drop(stack);
    drop(held);
}

/// Issue 3 item 9: TRACE logs of start-up and a full flow never contain the access token, the
/// client secret or the client assertion.
#[tokio::test]
async fn trace_logs_contain_no_token_secret_or_client_assertion() {
    // A JWS compact serialization: base64url('{"...') = "eyJ...", then two dots.
    let jws = regex::Regex::new(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.").expect("regex");
    for method in [
        AuthMethod::ClientSecretPost,
        AuthMethod::ClientSecretJwt,
        AuthMethod::PrivateKeyJwt,
    ] {
        let stack = OAuth2Stack::start(
            method,
            StackOptions {
                rust_log: Some("trace".into()),
                ..opts()
            },
            |c| c,
        )
        .await
        .expect("stack");
        let token = stack.authz.token_for(method).await.expect("token");
        let (status, _, body) = get_vims(&stack, Some(&format!("Bearer {token}"))).await;
        assert_eq!(status, StatusCode::OK, "{method}: {body}");
        let revoked = stack.authz.token_for(method).await.expect("token");
        stack.authz.revoke(&revoked).await.expect("revoke");
        let (status, _, _) = get_vims(&stack, Some(&format!("Bearer {revoked}"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        let log = stack.tacker.log();
        assert!(
            log.contains("TRACE") || log.contains("trace"),
            "{method}: not a TRACE log:\n{log}"
        );
        assert!(!log.contains(&token), "{method}: access token in the log");
        assert!(
            !log.contains(&revoked),
            "{method}: revoked token in the log"
        );
        if let Some(secret) = stack.ext.get("client_secret") {
            assert!(!log.contains(secret), "{method}: client secret in the log");
        }
        let key = std::fs::read_to_string(&stack.pki.jwt_key).expect("jwt key");
        let key_line = key.lines().nth(1).expect("PEM body line");
        assert!(
            !log.contains("PRIVATE KEY") && !log.contains(key_line),
            "{method}: private key in the log"
        );
        let found: Vec<&str> = jws.find_iter(&log).map(|m| m.as_str()).collect();
        assert!(
            found.is_empty(),
            "{method}: a JWT (client assertion) in the log: {found:?}"
        );
        assert!(
            !log.contains("client_assertion="),
            "{method}: assertion form field in the log"
        );
    }
}
