//! Self-tests of the tier-3 harness against the real peers: the oidc-provider realm and the
//! keystonemiddleware 13.0.1 reference. They need `scripts/setup/authz.sh` and
//! `scripts/setup/kmw.sh` to have run.

use serde_json::Value;
use tacker_test_support::{
    AuthMethod, AuthzOptions, AuthzServer, KmwOptions, KmwReference, RealmClient, TestPki,
    PROJECT_ID, USER_ID,
};

const INVALID_TOKEN_BODY: &str = r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made is denied, because the token is invalid."}}"#;
const FORBIDDEN_BODY: &str = r#"{"error": {"code": 403, "title": "Forbidden", "message": "The request you have made is denied, because the necessary information could not be parsed."}}"#;

async fn realm() -> (TestPki, AuthzServer) {
    let pki = TestPki::new().expect("pki");
    let authz = AuthzServer::start(&pki, AuthzOptions::default())
        .await
        .expect("authorization server");
    (pki, authz)
}

#[tokio::test]
async fn each_method_gets_a_token_that_the_realm_introspects_with_the_guide_claims() {
    let (pki, authz) = realm().await;
    for method in AuthMethod::ALL {
        let token = authz.token_for(method).await.expect("token");
        // Each client introspects its own token with its own authentication method.
        let info = authz
            .introspect(method.client_id(), &token)
            .await
            .expect("introspect");
        assert_eq!(info["active"], Value::Bool(true), "{method}: {info}");
        assert_eq!(info["scope"], "openstack", "{method}");
        assert_eq!(info["client_id"], method.client_id(), "{method}");
        assert_eq!(info["project"]["id"], PROJECT_ID, "{method}");
        assert_eq!(info["project"]["domain"]["id"], "default", "{method}");
        assert_eq!(info["user"]["id"], USER_ID, "{method}");
        assert_eq!(info["user"]["roles"], "admin", "{method}");
        assert_eq!(info["iss"], authz.issuer().as_str(), "{method}");
        if method == AuthMethod::TlsClientAuth {
            assert_eq!(info["cnf"]["x5t#S256"], pki.client.thumbprint().as_str());
        } else {
            assert!(info.get("cnf").is_none(), "{method}: {info}");
        }
    }
    let stats = authz.stats().await.expect("stats");
    assert_eq!(stats.token_requests, 5);
    assert_eq!(stats.introspections, 5);
}

#[tokio::test]
async fn certificate_bound_tokens_carry_the_presented_certificate_thumbprint() {
    let (pki, authz) = realm().await;
    let token = authz
        .token_with_cert(RealmClient::BOUND_BASIC, Some(&pki.other_client))
        .await
        .expect("token");
    let info = authz
        .introspect(RealmClient::BASIC, &token)
        .await
        .expect("introspect");
    assert_eq!(
        info["cnf"]["x5t#S256"],
        pki.other_client.thumbprint().as_str()
    );
    assert_ne!(pki.other_client.thumbprint(), pki.client.thumbprint());
}

#[tokio::test]
async fn tls_client_auth_refuses_a_certificate_from_the_untrusted_ca_with_the_same_subject() {
    let (pki, authz) = realm().await;
    assert_eq!(
        tacker_test_support::CLIENT_CN,
        "tacker_client",
        "the untrusted certificate has the registered subject"
    );
    let err = authz
        .token_with_cert(RealmClient::TLS, Some(&pki.untrusted_client))
        .await
        .expect_err("untrusted certificate must not authenticate");
    assert!(err.to_string().contains("invalid_client"), "{err:#}");
}

#[tokio::test]
async fn revoked_tokens_and_tokens_without_claims_introspect_as_expected() {
    let (_pki, authz) = realm().await;
    let token = authz.token(RealmClient::BASIC).await.expect("token");
    authz.revoke(&token).await.expect("revoke");
    let info = authz
        .introspect(RealmClient::POST, &token)
        .await
        .expect("introspect");
    assert_eq!(info, serde_json::json!({"active": false}));

    let unknown = authz
        .introspect(RealmClient::POST, "not-a-token-the-realm-issued")
        .await
        .expect("introspect");
    assert_eq!(unknown, serde_json::json!({"active": false}));

    let bare = authz.token(RealmClient::NO_CLAIMS).await.expect("token");
    let info = authz
        .introspect(RealmClient::POST, &bare)
        .await
        .expect("introspect");
    assert_eq!(info["active"], Value::Bool(true));
    assert!(
        info.get("project").is_none() && info.get("user").is_none(),
        "{info}"
    );
}

#[tokio::test]
async fn restart_keeps_port_issuer_and_issued_tokens() {
    let (_pki, mut authz) = realm().await;
    let token = authz.token(RealmClient::BASIC).await.expect("token");
    let issuer = authz.issuer();
    authz.stop();
    assert!(
        authz.token(RealmClient::BASIC).await.is_err(),
        "stopped server answered"
    );
    authz.restart().await.expect("restart");
    assert_eq!(authz.issuer(), issuer);
    let info = authz
        .introspect(RealmClient::BASIC, &token)
        .await
        .expect("introspect");
    assert_eq!(info["active"], Value::Bool(true));
}

/// For the two JWT methods this also proves the realm's numeric-dates hook: keystonemiddleware
/// sends `iat`/`exp` as strings, which oidc-provider alone would reject (peer-notes).
#[tokio::test]
async fn kmw_reference_answers_200_with_identity_for_every_method_and_401_without_token() {
    let (pki, authz) = realm().await;
    for method in AuthMethod::ALL {
        let conf = authz.ext_oauth2_conf(method, &pki).to_conf("");
        let kmw = KmwReference::start(
            &pki,
            KmwOptions {
                conf,
                ..KmwOptions::default()
            },
        )
        .await
        .expect("kmw reference");
        let http = reqwest::Client::new();
        let url = format!("{}/v1.0/vims", kmw.base_url());

        let token = authz.token_for(method).await.expect("token");
        let resp = http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
        let status = resp.status();
        let body: Value = resp.json().await.expect("json");
        assert_eq!(status, 200, "{method}: {body}\n{}", kmw.log());
        let headers = &body["headers"];
        assert_eq!(headers["X-Project-Id"], PROJECT_ID, "{method}");
        assert_eq!(headers["X-User-Id"], USER_ID, "{method}");
        assert_eq!(headers["X-Roles"], "admin", "{method}");
        assert_eq!(headers["X-Is-Admin-Project"], "true", "{method}");
        assert_eq!(headers["X-Identity-Status"], "Confirmed", "{method}");

        let resp = http.get(&url).send().await.expect("request");
        assert_eq!(resp.status(), 401, "{method}");
        assert_eq!(
            resp.headers()["www-authenticate"],
            format!("Authorization OAuth 2.0 uri=\"{}\"", authz.issuer()).as_str()
        );
        assert_eq!(resp.text().await.unwrap(), INVALID_TOKEN_BODY);

        let bare = authz.token(RealmClient::NO_CLAIMS).await.expect("token");
        let resp = http
            .get(&url)
            .bearer_auth(&bare)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 403, "{method}");
        assert_eq!(resp.text().await.unwrap(), FORBIDDEN_BODY);
    }
}

#[tokio::test]
async fn kmw_reference_checks_the_tls_peer_certificate_thumbprint() {
    let (pki, authz) = realm().await;
    let conf = authz
        .ext_oauth2_conf(AuthMethod::TlsClientAuth, &pki)
        .set("thumbprint_verify", "True")
        .to_conf("");
    let kmw = KmwReference::start(
        &pki,
        KmwOptions {
            conf,
            tls: true,
            ..KmwOptions::default()
        },
    )
    .await
    .expect("kmw reference");
    let url = format!("{}/v1.0/vims", kmw.base_url());
    let token = authz
        .token_for(AuthMethod::TlsClientAuth)
        .await
        .expect("token");

    let same = pki.https_client(Some(&pki.client));
    let resp = same
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200, "{}", kmw.log());

    let other = pki.https_client(Some(&pki.other_client));
    let resp = other
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.text().await.unwrap(), INVALID_TOKEN_BODY);

    let none = pki.https_client(None);
    let resp = none
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);
}
