//! Shared helpers of the outbound tests: INI sections, a manual clock, wiremock authorization
//! server and Barbican client fixtures.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use tacker_common::config::Section;
use tacker_oauth2_client::{Clock, SystemClock};
use tacker_outbound::{BarbicanClient, KeyManagerOptions, ServiceAuth, TokenSource};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// An `[ext_oauth2_auth]`-named section from pairs (origin `tacker.conf`).
pub fn section(pairs: &[(&str, &str)]) -> Section {
    named_section("ext_oauth2_auth", pairs)
}

pub fn named_section(name: &str, pairs: &[(&str, &str)]) -> Section {
    let mut s = Section::new(name);
    for (k, v) in pairs {
        s.set(*k, *v, "tacker.conf");
    }
    s
}

/// A clock tests move by hand.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<Mutex<f64>>);

impl ManualClock {
    pub fn new(start: f64) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    pub fn advance(&self, seconds: f64) {
        *self.0.lock().unwrap() += seconds;
    }
}

impl Clock for ManualClock {
    fn now_unix(&self) -> f64 {
        *self.0.lock().unwrap()
    }
}

/// A Fernet key and a Barbican secret uuid used as fixtures.
pub const KEY: &str = "Vo2bQ8v1v7N0b1j3S7m5Qyq1hM2pU7yG3cZ9rK4tX0E=";
pub const UUID: &str = "d152fa13-2b41-42ca-a934-6c21566c0f40";

pub async fn authz_issuing(tokens: &[&str]) -> MockServer {
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

pub fn token_source(authz: &MockServer) -> TokenSource {
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

pub fn manager(endpoint: Option<String>, auth: ServiceAuth) -> BarbicanClient {
    let options = KeyManagerOptions::from_section(&named_section(
        "key_manager",
        &[("barbican_endpoint", endpoint.as_deref().unwrap_or(""))],
    ));
    BarbicanClient::new(options, auth).unwrap()
}

pub fn external(barbican: &MockServer, authz: &MockServer) -> BarbicanClient {
    // A trailing '/' on the endpoint is stripped, as upstream.
    manager(
        Some(format!("{}/", barbican.uri())),
        ServiceAuth::ExtOAuth2(token_source(authz)),
    )
}
