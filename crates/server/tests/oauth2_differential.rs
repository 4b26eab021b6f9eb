//! Issue 3, differential check: the same requests through `tacker-server` and through the
//! reference, keystonemiddleware 13.0.1's `external_oauth2_token` (PyPI) in front of an echo
//! app, both configured from the same tacker.conf / api-paste.ini text and introspecting at the
//! same real authorization server. Every case says whether it is PARITY (same status and
//! body) or a FIX that issue 3 lists (and what differs).
//!
//! Needs `scripts/setup/authz.sh` and `scripts/setup/kmw.sh`.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;
use tacker_test_support::{
    upstream, AuthMethod, KmwReference, OAuth2Stack, RealmClient, StackOptions, PROJECT_ID, USER_ID,
};

const REQUEST_BOUND: Duration = Duration::from_secs(60);

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn send(base: &str, headers: &[(&str, String)]) -> Answer {
    let client = reqwest::Client::builder()
        .timeout(REQUEST_BOUND)
        .build()
        .expect("client");
    send_with(&client, base, headers).await
}

async fn send_with(client: &reqwest::Client, base: &str, headers: &[(&str, String)]) -> Answer {
    let mut req = client.get(format!("{base}/v1.0/vims"));
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let resp = req.send().await.expect("request");
    Answer {
        status: resp.status(),
        headers: resp.headers().clone(),
        body: resp.text().await.expect("body"),
    }
}

struct Pair<'a> {
    stack: &'a OAuth2Stack,
    kmw: &'a KmwReference,
}

impl Pair<'_> {
    async fn both(&self, headers: &[(&str, String)]) -> (Answer, Answer) {
        let ours = send(self.stack.tacker.base_url(), headers).await;
        let theirs = send(self.kmw.base_url(), headers).await;
        (ours, theirs)
    }

    /// PARITY for an auth failure: same status, byte-identical body, and upstream's
    /// WWW-Authenticate value among ours (the added RFC 6750 challenge is a listed fix).
    async fn parity_error(&self, case: &str, headers: &[(&str, String)]) {
        let (ours, theirs) = self.both(headers).await;
        assert_eq!(
            ours.status,
            theirs.status,
            "{case}: ours {} / reference {}\n{}",
            ours.body,
            theirs.body,
            self.kmw.log()
        );
        assert_eq!(ours.body, theirs.body, "{case}");
        for value in theirs.headers.get_all("www-authenticate") {
            assert!(
                ours.headers
                    .get_all("www-authenticate")
                    .iter()
                    .any(|v| v == value),
                "{case}: reference challenge {value:?} missing in ours {:?}",
                ours.headers
            );
        }
    }

    /// PARITY for a success: both let the request through; the reference shows the identity
    /// it mapped, which must be the guide's.
    async fn parity_ok(&self, case: &str, headers: &[(&str, String)]) -> Value {
        let (ours, theirs) = self.both(headers).await;
        assert_eq!(
            ours.status,
            StatusCode::OK,
            "{case}: ours {}\n{}",
            ours.body,
            self.stack.tacker.log()
        );
        assert_eq!(
            theirs.status,
            StatusCode::OK,
            "{case}: reference {}\n{}",
            theirs.body,
            self.kmw.log()
        );
        let echo: Value = serde_json::from_str(&theirs.body).expect("echo json");
        echo["headers"].clone()
    }
}

fn bearer(token: &str) -> Vec<(&'static str, String)> {
    vec![("Authorization", format!("Bearer {token}"))]
}

async fn differential(method: AuthMethod) {
    let mut stack = OAuth2Stack::start(
        method,
        StackOptions {
            binary: Some(env!("CARGO_BIN_EXE_tacker-server").into()),
            ..StackOptions::default()
        },
        |c| c,
    )
    .await
    .expect("stack");
    let kmw = stack
        .start_reference()
        .await
        .expect("keystonemiddleware reference");
    let pair = Pair {
        stack: &stack,
        kmw: &kmw,
    };
    let authz = &stack.authz;

    // PARITY: a real token of the method's client -> 200, project scope with admin.
    let token = authz.token_for(method).await.expect("token");
    let identity = pair.parity_ok("valid token", &bearer(&token)).await;
    assert_eq!(identity["X-Project-Id"], PROJECT_ID);
    assert_eq!(identity["X-User-Id"], USER_ID);
    assert_eq!(identity["X-Is-Admin-Project"], "true");

    // PARITY: 401 cases.
    pair.parity_error("no Authorization header", &[]).await;
    pair.parity_error(
        "wrong scheme",
        &[("Authorization", format!("Basic {token}"))],
    )
    .await;
    pair.parity_error(
        "lower-case bearer",
        &[("Authorization", format!("bearer {token}"))],
    )
    .await;
    pair.parity_error(
        "Bearer without token",
        &[("Authorization", "Bearer".into())],
    )
    .await;
    pair.parity_error("X-Auth-Token only", &[("X-Auth-Token", token.clone())])
        .await;
    // The token is the rest of the value, untrimmed: " <token>" is not a token of the realm.
    pair.parity_error(
        "two spaces after Bearer",
        &[("Authorization", format!("Bearer  {token}"))],
    )
    .await;
    pair.parity_error("unknown token", &bearer("not-a-token-the-realm-issued"))
        .await;
    let revoked = authz.token_for(method).await.expect("token");
    authz.revoke(&revoked).await.expect("revoke");
    pair.parity_error("revoked token", &bearer(&revoked)).await;

    // PARITY: 403 for an active token without the mapped claims.
    let bare = authz.token(RealmClient::NO_CLAIMS).await.expect("token");
    pair.parity_error("token without project/user claims", &bearer(&bare))
        .await;

    // PARITY: spoofed identity headers are dropped; a member token stays non-admin.
    let member = authz.token(RealmClient::MEMBER).await.expect("token");
    let mut spoofed = bearer(&member);
    spoofed.extend([
        ("X-Roles", "admin,superuser".to_owned()),
        ("X-Is-Admin-Project", "true".to_owned()),
        ("X-Project-Id", "spoofed".to_owned()),
        ("X-User-Id", "spoofed".to_owned()),
    ]);
    let identity = pair.parity_ok("spoofed identity headers", &spoofed).await;
    assert_eq!(identity["X-Roles"], "member,reader");
    assert_eq!(identity["X-Project-Id"], PROJECT_ID);
    assert!(identity.get("X-Is-Admin-Project").is_none());

    // FIX (issue 3 item 5): roles as a JSON list (Keycloak role mappers) are accepted.
    // Reference: 403 (roles must be a string); ours: 200.
    let listed = authz.token(RealmClient::ROLES_LIST).await.expect("token");
    let (ours, theirs) = pair.both(&bearer(&listed)).await;
    assert_eq!(
        theirs.status,
        StatusCode::FORBIDDEN,
        "reference: {}",
        theirs.body
    );
    assert_eq!(theirs.body, upstream::FORBIDDEN_BODY);
    assert_eq!(
        ours.status,
        StatusCode::OK,
        "ours: {}\n{}",
        ours.body,
        stack.tacker.log()
    );

    // FIX (issue 3 item 7): 401 also carries an RFC 6750 Bearer challenge.
    let (ours, theirs) = pair.both(&[]).await;
    assert_eq!(theirs.headers.get_all("www-authenticate").iter().count(), 1);
    assert!(ours
        .headers
        .get_all("www-authenticate")
        .iter()
        .any(|v| v.to_str().unwrap_or("").starts_with("Bearer")));

    // FIX (issue 3 item 7): authorization server unreachable -> 503 with Retry-After;
    // reference: 500 ServiceError.
    let fresh = authz.token_for(method).await.expect("token");
    stack.authz.stop();
    let ours = send(stack.tacker.base_url(), &bearer(&fresh)).await;
    let theirs = send(kmw.base_url(), &bearer(&fresh)).await;
    assert_eq!(
        theirs.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "reference: {}",
        theirs.body
    );
    assert_eq!(theirs.body, upstream::SERVICE_ERROR_BODY);
    assert_eq!(
        ours.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "ours: {}",
        ours.body
    );
    assert_eq!(ours.body, upstream::SERVICE_UNAVAILABLE_BODY);
    assert!(ours.headers.contains_key("retry-after"));
    stack.authz.restart().await.expect("restart");
}

#[tokio::test]
async fn differential_client_secret_basic() {
    differential(AuthMethod::ClientSecretBasic).await;
}

#[tokio::test]
async fn differential_client_secret_post() {
    differential(AuthMethod::ClientSecretPost).await;
}

#[tokio::test]
async fn differential_private_key_jwt() {
    differential(AuthMethod::PrivateKeyJwt).await;
}

#[tokio::test]
async fn differential_client_secret_jwt() {
    differential(AuthMethod::ClientSecretJwt).await;
}

#[tokio::test]
async fn differential_tls_client_auth() {
    differential(AuthMethod::TlsClientAuth).await;
}

/// PARITY with `thumbprint_verify = True` on a plain-HTTP listener: no client certificate can
/// reach either filter, so a certificate-bound token is refused by both with the same 401.
#[tokio::test]
async fn differential_thumbprint_without_client_certificate() {
    let stack = OAuth2Stack::start(
        AuthMethod::TlsClientAuth,
        StackOptions {
            binary: Some(env!("CARGO_BIN_EXE_tacker-server").into()),
            ..StackOptions::default()
        },
        |c| c.set("thumbprint_verify", "True"),
    )
    .await
    .expect("stack");
    let kmw = stack
        .start_reference()
        .await
        .expect("keystonemiddleware reference");
    let pair = Pair {
        stack: &stack,
        kmw: &kmw,
    };
    let token = stack
        .authz
        .token_for(AuthMethod::TlsClientAuth)
        .await
        .expect("token");
    pair.parity_error("bound token, no client certificate", &bearer(&token))
        .await;
}

/// PARITY for claim-mapping configurations that only fail per request upstream (the mapping
/// options are not checked at construction): a required claim missing or a non-object in the
/// middle of a path -> 403; an empty path segment or an unset required mapping -> 500 with the
/// configuration body.
#[tokio::test]
async fn differential_mapping_configurations() {
    type Tweak = fn(tacker_test_support::ExtOAuth2Conf) -> tacker_test_support::ExtOAuth2Conf;
    let cases: [(&str, Tweak, StatusCode); 4] = [
        (
            "required claim missing (mapping_user_id = user_id)",
            |c| c.set("mapping_user_id", "user_id"),
            StatusCode::FORBIDDEN,
        ),
        (
            "string in the middle of the path (mapping_user_id = project.name.id)",
            |c| c.set("mapping_user_id", "project.name.id"),
            StatusCode::FORBIDDEN,
        ),
        (
            "empty path segment (mapping_project_id = ..id)",
            |c| c.set("mapping_project_id", "..id"),
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        (
            "mapping_roles unset",
            |c| c.remove("mapping_roles"),
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
    ];
    for (case, tweak, expected) in cases {
        let stack = OAuth2Stack::start(
            AuthMethod::ClientSecretBasic,
            StackOptions {
                binary: Some(env!("CARGO_BIN_EXE_tacker-server").into()),
                ..StackOptions::default()
            },
            tweak,
        )
        .await
        .unwrap_or_else(|e| panic!("{case}: stack: {e:#}"));
        let kmw = stack
            .start_reference()
            .await
            .expect("keystonemiddleware reference");
        let pair = Pair {
            stack: &stack,
            kmw: &kmw,
        };
        let token = stack
            .authz
            .token_for(AuthMethod::ClientSecretBasic)
            .await
            .expect("token");
        let (ours, theirs) = pair.both(&bearer(&token)).await;
        assert_eq!(theirs.status, expected, "{case}: reference {}", theirs.body);
        assert_eq!(ours.status, theirs.status, "{case}: ours {}", ours.body);
        assert_eq!(ours.body, theirs.body, "{case}");
        if expected == StatusCode::INTERNAL_SERVER_ERROR {
            assert_eq!(ours.body, upstream::CONFIGURATION_ERROR_BODY, "{case}");
        }
    }
}

/// PARITY for certificate-bound tokens over mutual TLS (the guide's client_secret_basic and
/// tls_client_auth samples: `thumbprint_verify = True`, Tacker requiring client
/// certificates): the certificate the token is bound to -> 200; another trusted client's
/// certificate, or a token that is not bound -> the same 401 from both.
#[tokio::test]
async fn differential_thumbprint_over_mutual_tls() {
    for (method, bound_client) in [
        (AuthMethod::TlsClientAuth, RealmClient::TLS),
        (AuthMethod::ClientSecretBasic, RealmClient::BOUND_BASIC),
    ] {
        let stack = OAuth2Stack::start(
            method,
            StackOptions {
                binary: Some(env!("CARGO_BIN_EXE_tacker-server").into()),
                mtls: true,
                ..StackOptions::default()
            },
            |c| c.set("thumbprint_verify", "True"),
        )
        .await
        .expect("stack");
        let kmw = stack
            .start_reference()
            .await
            .expect("keystonemiddleware reference");
        let bound = stack.authz.token(bound_client).await.expect("bound token");
        let unbound = stack
            .authz
            .token(RealmClient::POST)
            .await
            .expect("unbound token");
        let same = stack.pki.https_client(Some(&stack.pki.client));
        let other = stack.pki.https_client(Some(&stack.pki.other_client));
        for (case, client, token, expected) in [
            (
                "bound token, its certificate",
                &same,
                &bound,
                StatusCode::OK,
            ),
            (
                "bound token, another client's certificate",
                &other,
                &bound,
                StatusCode::UNAUTHORIZED,
            ),
            (
                "token without cnf",
                &same,
                &unbound,
                StatusCode::UNAUTHORIZED,
            ),
        ] {
            let ours = send_with(client, stack.tacker.base_url(), &bearer(token)).await;
            let theirs = send_with(client, kmw.base_url(), &bearer(token)).await;
            assert_eq!(
                theirs.status,
                expected,
                "{method} {case}: reference {}\n{}",
                theirs.body,
                kmw.log()
            );
            assert_eq!(
                ours.status,
                expected,
                "{method} {case}: ours {}\n{}",
                ours.body,
                stack.tacker.log()
            );
            if expected == StatusCode::UNAUTHORIZED {
                assert_eq!(ours.body, theirs.body, "{method} {case}");
                assert_eq!(ours.body, upstream::INVALID_TOKEN_BODY);
            }
        }
    }
}
