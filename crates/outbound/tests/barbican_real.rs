//! Tier 3: the Barbican client against real Barbican 23.0.0 (gunicorn, SQLite, simple_crypto)
//! whose `/v1` is guarded by real keystonemiddleware `external_oauth2_token`, introspecting
//! the tokens this crate gets from the project's real authorization server (oidc-provider
//! shaped like a Keycloak realm).
//!
//! Needs `scripts/setup/authz.sh` and `scripts/setup/barbican.sh`.

use std::sync::Arc;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use tacker_common::config::Section;
use tacker_oauth2_client::SystemClock;
use tacker_outbound::{BarbicanClient, KeyManagerOptions, ServiceAuth, TokenSource};
use tacker_test_support::{
    AuthMethod, AuthzOptions, AuthzServer, BarbicanServer, ExtOAuth2Conf, TestPki,
};

fn conf_section(conf: &ExtOAuth2Conf) -> Section {
    let mut s = Section::new("ext_oauth2_auth");
    for (k, v) in conf.entries() {
        s.set(k.as_str(), v.as_str(), "tacker.conf");
    }
    s
}

fn fernet_key() -> SecretString {
    let mut bytes = uuid::Uuid::new_v4().as_bytes().to_vec();
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    SecretString::from(base64::engine::general_purpose::URL_SAFE.encode(bytes))
}

fn key_manager(barbican: &BarbicanServer, source: TokenSource) -> BarbicanClient {
    BarbicanClient::new(
        KeyManagerOptions {
            barbican_endpoint: Some(barbican.endpoint()),
            barbican_version: "v1".into(),
        },
        ServiceAuth::ExtOAuth2(source),
    )
    .unwrap()
}

/// For each of the five client authentication methods: store a VIM key → the secret exists
/// in Barbican and its payload is the key; load returns it; delete removes it; a second
/// delete is tolerated.
#[tokio::test]
async fn real_barbican_store_load_delete_with_each_auth_method() {
    let pki = TestPki::new().unwrap();
    let authz = AuthzServer::start(&pki, AuthzOptions::default())
        .await
        .unwrap();
    let barbican = BarbicanServer::start(&authz, &pki).await.unwrap();
    for method in AuthMethod::ALL {
        let source = TokenSource::new(
            &conf_section(&authz.ext_oauth2_conf(method, &pki)),
            Arc::new(SystemClock),
        )
        .unwrap_or_else(|e| panic!("{method}: {e}"));
        let km = key_manager(&barbican, source);
        let key = fernet_key();
        let uuid = km.store_secret(&key).await.unwrap_or_else(|e| {
            panic!(
                "{method}: store: {e}\nbarbican:\n{}\nauthz:\n{}",
                barbican.log(),
                authz.log()
            )
        });
        let payload = barbican.payload(&authz, &uuid).await.unwrap();
        assert_eq!(
            payload.as_deref(),
            Some(key.expose_secret().as_bytes()),
            "{method}: the secret's payload is the key"
        );
        assert_eq!(
            km.secret_payload(&uuid).await.unwrap().expose_secret(),
            key.expose_secret(),
            "{method}"
        );
        km.delete_secret(&uuid)
            .await
            .unwrap_or_else(|e| panic!("{method}: delete: {e}"));
        assert_eq!(
            barbican.payload(&authz, &uuid).await.unwrap(),
            None,
            "{method}: secret deleted"
        );
        km.delete_secret(&uuid)
            .await
            .unwrap_or_else(|e| panic!("{method}: second delete: {e}"));
    }
}

/// The cache and the refresh path against the real peers: 50 stores → one token request at
/// the authorization server; the token revoked there → Barbican (no introspection cache)
/// answers 401 → one refresh and the store succeeds; Barbican stopped → KeyManagerError,
/// back → the same call succeeds.
#[tokio::test]
async fn real_barbican_token_cache_revocation_and_outage() {
    let pki = TestPki::new().unwrap();
    let authz = AuthzServer::start(&pki, AuthzOptions::default())
        .await
        .unwrap();
    let mut barbican = BarbicanServer::start(&authz, &pki).await.unwrap();
    let conf = authz.ext_oauth2_conf(AuthMethod::ClientSecretBasic, &pki);
    let source = TokenSource::new(&conf_section(&conf), Arc::new(SystemClock)).unwrap();
    let km = key_manager(&barbican, source.clone());

    authz.reset_stats().await.unwrap();
    let mut refs = Vec::new();
    for i in 0..50 {
        let stored = km.store_secret(&fernet_key()).await;
        refs.push(
            stored.unwrap_or_else(|e| panic!("store {i}: {e}\nbarbican:\n{}", barbican.log())),
        );
    }
    assert_eq!(
        authz.stats().await.unwrap().token_requests,
        1,
        "50 stores, one token"
    );

    let token = source.token().await.unwrap();
    authz.revoke(token.expose()).await.unwrap();
    let key = fernet_key();
    let uuid = km.store_secret(&key).await.unwrap();
    assert_eq!(
        authz.stats().await.unwrap().token_requests,
        2,
        "one refresh after the 401"
    );
    assert_ne!(source.token().await.unwrap().expose(), token.expose());
    assert_eq!(
        barbican.payload(&authz, &uuid).await.unwrap().as_deref(),
        Some(key.expose_secret().as_bytes())
    );

    barbican.stop();
    let err = km.store_secret(&key).await.unwrap_err();
    assert!(
        matches!(err, tacker_outbound::BarbicanError::Transport(_)),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("Unable to establish connection to"),
        "{err}"
    );
    barbican.restart().await.unwrap();
    let uuid = km.store_secret(&key).await.unwrap();
    assert_eq!(
        barbican.payload(&authz, &uuid).await.unwrap().as_deref(),
        Some(key.expose_secret().as_bytes())
    );
    for r in refs {
        km.delete_secret(&r).await.unwrap();
    }
}
