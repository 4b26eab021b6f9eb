//! The 41 upstream tests of `keystonemiddleware/tests/unit/test_external_oauth2_token_middleware.py`
//! (one module per upstream test class), plus this port's deliberate fixes, the single-flight
//! and cache tests. wiremock stands in for the authorization server (fault injection tier).

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::routing::any;
use axum::Router;
use base64::Engine as _;
use http::{HeaderMap, Request, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tacker_auth::{CacheLimits, Clock, ExternalOAuth2Layer};
use tacker_common::config::Section;
use tacker_common::{PeerCertificate, RequestContext};
use tower::ServiceExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const INTROSPECT_PATH: &str = "/realms/x509/protocol/openid-connect/token/introspect";
const AUDIENCE: &str = "https://localhost:8443/realms/x509";
const CLIENT_ID: &str = "test_client_id";
const CLIENT_SECRET: &str = "test_client_secret";
const TOKEN: &str = "ntCm9h8xR0lkJ1yiB7bMZqIb5cXaWAvWw3M1WfCCqCA";
const TOKEN_B: &str = "another-token-value-000";

const BODY_401: &str = r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made is denied, because the token is invalid."}}"#;
const BODY_403: &str = r#"{"error": {"code": 403, "title": "Forbidden", "message": "The request you have made is denied, because the necessary information could not be parsed."}}"#;
const BODY_500_CONFIG: &str = r#"{"error": {"code": 500, "title": "Internal Server Error", "message": "The request you have made is denied, because the configuration parameters are incorrect and the token can not be verified."}}"#;
const BODY_500_SERVICE: &str = r#"{"error": {"code": 500, "title": "Internal Server Error", "message": "The request you have made is denied, because an exception occurred while accessing the external authentication server for token validation."}}"#;
const BODY_503: &str = r#"{"error": {"code": 503, "title": "Service Unavailable", "message": "The request you have made is denied, because an exception occurred while accessing the external authentication server for token validation."}}"#;

// ---------------------------------------------------------------------------------------
// support

#[derive(Debug)]
struct TestClock(Mutex<f64>);

impl TestClock {
    fn new() -> Arc<Self> {
        Arc::new(Self(Mutex::new(1_800_000_000.0)))
    }
    fn advance(&self, secs: f64) {
        *self.0.lock().unwrap() += secs;
    }
    fn now(&self) -> f64 {
        *self.0.lock().unwrap()
    }
}

impl Clock for TestClock {
    fn now_unix(&self) -> f64 {
        *self.0.lock().unwrap()
    }
}

fn section(name: &str, pairs: &[(&str, &str)]) -> Section {
    let mut s = Section::new(name);
    for (k, v) in pairs {
        s.set(*k, *v, "tacker.conf");
    }
    s
}

const NESTED_MAPPING: &[(&str, &str)] = &[
    ("mapping_project_id", "access_project.id"),
    ("mapping_project_name", "access_project.name"),
    ("mapping_project_domain_id", "access_project.domain.id"),
    ("mapping_project_domain_name", "access_project.domain.name"),
    ("mapping_user_id", "client_id"),
    ("mapping_user_name", "username"),
    ("mapping_user_domain_id", "user_domain.id"),
    ("mapping_user_domain_name", "user_domain.name"),
    ("mapping_roles", "roles"),
];

const FLAT_MAPPING: &[(&str, &str)] = &[
    ("mapping_project_id", "project_id"),
    ("mapping_project_name", "project_name"),
    ("mapping_project_domain_id", "domain_id"),
    ("mapping_project_domain_name", "domain_name"),
    ("mapping_user_id", "user"),
    ("mapping_user_name", "username"),
    ("mapping_user_domain_id", "user_domain.id"),
    ("mapping_user_domain_name", "user_domain.name"),
    ("mapping_roles", "roles"),
];

struct Fx {
    server: MockServer,
    clock: Arc<TestClock>,
    conf: Section,
}

impl Fx {
    async fn new(auth_method: &str, mapping: &[(&str, &str)], extra: &[(&str, &str)]) -> Self {
        let server = MockServer::start().await;
        let endpoint = format!("{}{INTROSPECT_PATH}", server.uri());
        let mut pairs: Vec<(&str, &str)> = vec![
            ("introspect_endpoint", &endpoint),
            ("audience", AUDIENCE),
            ("auth_method", auth_method),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("http_connect_timeout", "5"),
        ];
        pairs.extend_from_slice(mapping);
        let mut conf = section("ext_oauth2_auth", &pairs);
        for (k, v) in extra {
            if v.is_empty() {
                conf.options.shift_remove(*k);
            } else {
                conf.set(*k, *v, "tacker.conf");
            }
        }
        Self {
            server,
            clock: TestClock::new(),
            conf,
        }
    }

    fn layer(&self) -> ExternalOAuth2Layer {
        self.layer_with(CacheLimits::default())
    }

    fn layer_with(&self, limits: CacheLimits) -> ExternalOAuth2Layer {
        ExternalOAuth2Layer::from_sections_with(
            &self.conf,
            &Section::new("filter:external_oauth2_token"),
            self.clock.clone(),
            limits,
        )
        .unwrap()
    }

    /// Upstream's stub response: standard claims, then `extra`, then `active`.
    fn metadata(&self, extra: Value) -> Value {
        let now = self.clock.now();
        let mut m = json!({
            "iat": now, "jti": "b2a6d5b8", "iss": AUDIENCE, "aud": "account",
            "sub": "5e1a", "typ": "Bearer", "azp": CLIENT_ID, "acr": "1",
            "scope": "default", "exp": now + 3600.0,
        });
        for (k, v) in extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        if m.get("active").is_none() {
            m["active"] = json!(true);
        }
        m
    }

    async fn mount(
        &self,
        matcher: impl wiremock::Match + 'static,
        status: u16,
        body: Value,
        times: u64,
    ) {
        Mock::given(method("POST"))
            .and(path(INTROSPECT_PATH))
            .and(matcher)
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .expect(times)
            .mount(&self.server)
            .await;
    }
}

fn nested_claims(roles: &str) -> Value {
    json!({
        "access_project": {"id": "p-id", "name": "p-name", "domain": {"id": "pd-id", "name": "pd-name"}},
        "client_id": CLIENT_ID, "username": "user-name",
        "user_domain": {"id": "ud-id", "name": "ud-name"},
        "roles": roles,
    })
}

fn flat_claims() -> Value {
    json!({
        "project_id": "p-id", "project_name": "p-name", "domain_id": "pd-id", "domain_name": "pd-name",
        "user": CLIENT_ID, "username": "user-name",
        "user_domain": {"id": "ud-id", "name": "ud-name"},
        "roles": "admin,member,reader",
    })
}

fn body_is(expected: String) -> impl wiremock::Match {
    move |r: &wiremock::Request| r.body == expected.as_bytes()
}

fn any_body() -> impl wiremock::Match {
    |_: &wiremock::Request| true
}

fn req(token: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().uri("/v1.0/vims");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(Body::empty()).unwrap()
}

/// The app echoes the identity headers it receives and checks the typed context is there.
async fn echo(ctx: RequestContext, headers: HeaderMap) -> axum::Json<Value> {
    let mut out = serde_json::Map::new();
    for (name, value) in &headers {
        let n = name.as_str();
        if n.starts_with("x-") || n == "openstack-system-scope" {
            out.insert(n.to_owned(), json!(value.to_str().unwrap()));
        }
    }
    out.insert("ctx.user_id".into(), json!(ctx.user_id));
    axum::Json(Value::Object(out))
}

async fn app_401() -> axum::response::Response {
    axum::response::Response::builder()
        .status(401)
        .header("www-authenticate", "Keystone uri=\"app\"")
        .body(Body::empty())
        .unwrap()
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
    fn www_authenticate(&self) -> Vec<String> {
        self.headers
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }
}

async fn call(layer: &ExternalOAuth2Layer, request: Request<Body>) -> Answer {
    let app = Router::new()
        .route("/v1.0/vims", any(echo))
        .route("/app401", any(app_401))
        .layer(layer.clone());
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// The app answers 401: the filter adds its challenge after the app's own.
async fn assert_app_401_is_challenged(layer: &ExternalOAuth2Layer) {
    let r = Request::builder()
        .uri("/app401")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let a = call(layer, r).await;
    assert_eq!(a.status, 401);
    assert_eq!(
        a.www_authenticate(),
        vec![
            "Keystone uri=\"app\"".to_owned(),
            format!("Authorization OAuth 2.0 uri=\"{AUDIENCE}\"")
        ]
    );
}

fn assert_401(a: &Answer, audience: &str) {
    assert_eq!(a.status, 401, "{}", a.body);
    assert_eq!(a.body, BODY_401);
    assert_eq!(a.headers["content-type"], "application/json");
    assert_eq!(
        a.www_authenticate(),
        vec![
            format!("Authorization OAuth 2.0 uri=\"{audience}\""),
            "Bearer error=\"invalid_token\"".to_owned()
        ]
    );
}

fn assert_error(a: &Answer, status: u16, body: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.body, body);
    assert_eq!(a.headers["content-type"], "application/json");
    assert_eq!(a.headers["content-length"], body.len().to_string().as_str());
}

/// §2.9 for project scope.
fn assert_project_headers(a: &Answer, admin: bool) {
    assert_eq!(a.status, 200, "{}", a.body);
    let h = a.json();
    assert_eq!(h["x-identity-status"], "Confirmed");
    assert_eq!(h["x-project-id"], "p-id");
    assert_eq!(h["x-project-name"], "p-name");
    assert_eq!(h["x-project-domain-id"], "pd-id");
    assert_eq!(h["x-project-domain-name"], "pd-name");
    assert_eq!(h["x-tenant-id"], "p-id");
    assert_eq!(h["x-tenant-name"], "p-name");
    assert_eq!(h["x-tenant"], "p-id");
    assert_eq!(h["x-user-id"], CLIENT_ID);
    assert_eq!(h["x-user-name"], "user-name");
    assert_eq!(h["x-user"], "user-name");
    assert_eq!(h["x-user-domain-id"], "ud-id");
    assert_eq!(h["x-user-domain-name"], "ud-name");
    assert_eq!(h["ctx.user_id"], CLIENT_ID);
    assert!(h.get("x-domain-id").is_none() && h.get("x-domain-name").is_none());
    assert!(h.get("openstack-system-scope").is_none());
    if admin {
        assert_eq!(h["x-is-admin-project"], "true");
        assert_eq!(h["x-roles"], "admin,member,reader");
    } else {
        assert!(h.get("x-is-admin-project").is_none());
    }
}

fn cert() -> (Vec<u8>, String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["client".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let der = cert.der().to_vec();
    let thumb = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(&der));
    (der, cert.pem(), thumb)
}

fn with_cert(mut r: Request<Body>, der: Vec<u8>) -> Request<Body> {
    r.extensions_mut().insert(PeerCertificate(Arc::new(der)));
    r
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn form_field(body: &[u8], key: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

// ---------------------------------------------------------------------------------------

/// `ExternalOauth2TokenMiddlewareTlsClientAuthTest`.
mod tls_client_auth {
    use super::*;

    async fn fx(thumbprint_verify: &str) -> Fx {
        Fx::new(
            "tls_client_auth",
            NESTED_MAPPING,
            &[("thumbprint_verify", thumbprint_verify)],
        )
        .await
    }

    fn tls_body() -> String {
        format!("client_id={CLIENT_ID}&token={TOKEN}&token_type_hint=access_token")
    }

    #[tokio::test]
    async fn test_basic_200() {
        let f = fx("true").await;
        let (der, _, thumb) = cert();
        let mut claims = nested_claims("admin,member,reader");
        claims["cnf"] = json!({"x5t#S256": thumb});
        f.mount(body_is(tls_body()), 200, f.metadata(claims), 1)
            .await;
        let a = call(&f.layer(), with_cert(req(Some(TOKEN)), der)).await;
        assert_project_headers(&a, true);
    }

    #[tokio::test]
    async fn test_thumbprint_verify_is_false_200() {
        let f = fx("false").await;
        let mut claims = nested_claims("reader");
        claims["cnf"] = json!({"x5t#S256": "NotMatchThumbprint"});
        claims["access_project"]
            .as_object_mut()
            .unwrap()
            .remove("id");
        f.mount(body_is(tls_body()), 200, f.metadata(claims), 1)
            .await;
        let a = call(&f.layer(), req(Some(TOKEN))).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let h = a.json();
        assert_eq!(h["x-domain-id"], "pd-id");
        assert_eq!(h["x-domain-name"], "pd-name");
        assert!(h.get("x-project-id").is_none() && h.get("x-tenant").is_none());
        assert!(h.get("x-is-admin-project").is_none());
        assert_eq!(h["x-roles"], "reader");
    }

    /// The peer certificate is missing from the request (no TLS client certificate).
    async fn without_certificate_is_401(cert_ext: Option<PeerCertificate>) {
        let f = fx("true").await;
        let (_, _, thumb) = cert();
        let mut claims = nested_claims("admin,member,reader");
        claims["cnf"] = json!({"x5t#S256": thumb});
        f.mount(body_is(tls_body()), 200, f.metadata(claims), 1)
            .await;
        let mut r = req(Some(TOKEN));
        if let Some(c) = cert_ext {
            r.extensions_mut().insert(c);
        }
        let a = call(&f.layer(), r).await;
        assert_401(&a, AUDIENCE);
    }

    /// Upstream: `wsgi.input` has no `get_socket`. Here: no `PeerCertificate` extension.
    #[tokio::test]
    async fn test_confirm_certificate_thumbprint_get_socket_except_401() {
        without_certificate_is_401(None).await;
    }

    /// Upstream: `get_socket()` returns None. Here: no `PeerCertificate` extension.
    #[tokio::test]
    async fn test_confirm_certificate_thumbprint_socket_is_none_401() {
        without_certificate_is_401(None).await;
    }

    /// Upstream: the peer certificate is None. Here: an empty certificate.
    #[tokio::test]
    async fn test_confirm_certificate_thumbprint_peercert_is_none_401() {
        without_certificate_is_401(Some(PeerCertificate(Arc::new(Vec::new())))).await;
    }

    /// Upstream: the certificate is not bytes. Here: a PEM that does not parse gives no
    /// certificate at all.
    #[tokio::test]
    async fn test_confirm_certificate_thumbprint_peercert_error_format_401() {
        assert!(PeerCertificate::from_pem("not a certificate").is_none());
        assert!(PeerCertificate::from_pem(
            " -----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"
        )
        .is_none());
        without_certificate_is_401(PeerCertificate::from_pem("not a certificate")).await;
    }

    /// Upstream: `wsgi.input` is None. Here: no `PeerCertificate` extension.
    #[tokio::test]
    async fn test_confirm_certificate_thumbprint_wsgi_input_is_none_401() {
        without_certificate_is_401(None).await;
    }

    #[tokio::test]
    async fn test_confirm_certificate_thumbprint_is_not_match_401() {
        let f = fx("true").await;
        let (der, _, _) = cert();
        let mut claims = nested_claims("admin,member,reader");
        claims["cnf"] = json!({"x5t#S256": "NotMatchThumbprint"});
        f.mount(body_is(tls_body()), 200, f.metadata(claims), 1)
            .await;
        let a = call(&f.layer(), with_cert(req(Some(TOKEN)), der)).await;
        assert_401(&a, AUDIENCE);
    }

    /// The certificate binding is checked on every request, also when the token is served
    /// from the per-thread memo: the bound certificate again 200, none or another 401.
    #[tokio::test]
    async fn binding_is_checked_on_memo_served_requests() {
        let f = fx("true").await;
        let (der, _, thumb) = cert();
        let mut claims = nested_claims("admin,member,reader");
        claims["cnf"] = json!({"x5t#S256": thumb});
        f.mount(body_is(tls_body()), 200, f.metadata(claims), 1)
            .await;
        let layer = f.layer();
        let a = call(&layer, with_cert(req(Some(TOKEN)), der.clone())).await;
        assert_project_headers(&a, true);
        let a = call(&layer, with_cert(req(Some(TOKEN)), der.clone())).await;
        assert_project_headers(&a, true);
        assert_401(&call(&layer, req(Some(TOKEN))).await, AUDIENCE);
        let mut other = der.clone();
        let last = other.len() - 1;
        other[last] ^= 1;
        assert_401(
            &call(&layer, with_cert(req(Some(TOKEN)), other)).await,
            AUDIENCE,
        );
        let a = call(&layer, with_cert(req(Some(TOKEN)), der)).await;
        assert_project_headers(&a, true);
    }

    /// Upstream: PEM in `SSL_CLIENT_CERT` (Apache). Here: `PeerCertificate::from_pem`, which a
    /// trusted TLS-terminating front end integration would use.
    #[tokio::test]
    async fn test_confirm_certificate_thumbprint_apache_default_200() {
        let f = fx("true").await;
        let (_, pem, thumb) = cert();
        let mut claims = nested_claims("admin,member,reader");
        claims["cnf"] = json!({"x5t#S256": thumb});
        f.mount(body_is(tls_body()), 200, f.metadata(claims), 1)
            .await;
        let mut r = req(Some(TOKEN));
        r.extensions_mut()
            .insert(PeerCertificate::from_pem(&pem).unwrap());
        let a = call(&f.layer(), r).await;
        assert_project_headers(&a, true);
    }

    #[tokio::test]
    async fn test_confirm_certificate_thumbprint_pem_der_none_401() {
        without_certificate_is_401(None).await;
    }

    /// Deliberate fix: upstream crashes (plain 500) when `cnf` is not an object.
    #[tokio::test]
    async fn cnf_not_an_object_is_401_fix() {
        let f = fx("true").await;
        let (der, _, _) = cert();
        let mut claims = nested_claims("admin,member,reader");
        claims["cnf"] = json!("x5t");
        f.mount(body_is(tls_body()), 200, f.metadata(claims), 1)
            .await;
        let a = call(&f.layer(), with_cert(req(Some(TOKEN)), der)).await;
        assert_401(&a, AUDIENCE);
    }
}

/// `ExternalOauth2TokenMiddlewarePrivateJwtKeyTest`.
mod private_key_jwt {
    use super::*;

    async fn fx(key_file: &str, alg: &str) -> Fx {
        Fx::new(
            "private_key_jwt",
            NESTED_MAPPING,
            &[
                ("jwt_key_file", key_file),
                ("jwt_algorithm", alg),
                ("jwt_bearer_time_out", "2800"),
                ("client_secret", ""),
            ],
        )
        .await
    }

    #[tokio::test]
    async fn test_basic_200() {
        let f = fx(&fixture("rsa_private_key.pem"), "RS256").await;
        let matcher = |r: &wiremock::Request| {
            let body = String::from_utf8_lossy(&r.body);
            body.starts_with(&format!(
                "client_id={CLIENT_ID}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion="
            )) && body.ends_with(&format!("&token={TOKEN}&token_type_hint=access_token"))
        };
        f.mount(
            matcher,
            200,
            f.metadata(nested_claims("admin,member,reader")),
            1,
        )
        .await;
        let a = call(&f.layer(), req(Some(TOKEN))).await;
        assert_project_headers(&a, true);

        // The assertion verifies with the public key; iat/exp are numbers (deliberate fix).
        let received = f.server.received_requests().await.unwrap();
        let assertion = form_field(&received[0].body, "client_assertion").unwrap();
        let public = std::fs::read(fixture("rsa_public_key.pem")).unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.set_audience(&[AUDIENCE]);
        v.validate_exp = false;
        let claims = jsonwebtoken::decode::<Value>(
            &assertion,
            &jsonwebtoken::DecodingKey::from_rsa_pem(&public).unwrap(),
            &v,
        )
        .unwrap()
        .claims;
        assert_eq!(claims["iat"], json!(f.clock.now() as i64));
        assert_eq!(claims["exp"], json!(f.clock.now() as i64 + 2800));
        assert_eq!(claims["iss"], CLIENT_ID);
        assert_eq!(claims["sub"], CLIENT_ID);
        assert!(claims["jti"].is_string());
    }

    async fn is_500_without_introspection(f: Fx) {
        f.mount(any_body(), 200, f.metadata(nested_claims("admin")), 0)
            .await;
        let a = call(&f.layer(), req(Some(TOKEN))).await;
        assert_error(&a, 500, BODY_500_CONFIG);
    }

    #[tokio::test]
    async fn test_introspect_by_private_key_jwt_error_alg_500() {
        is_500_without_introspection(fx(&fixture("rsa_private_key.pem"), "HS256").await).await;
    }

    #[tokio::test]
    async fn test_introspect_by_private_key_jwt_error_file_no_content_500() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("empty.pem");
        std::fs::write(&p, "").unwrap();
        is_500_without_introspection(fx(p.to_str().unwrap(), "RS256").await).await;
    }

    /// Upstream mocks `open()` to fail on an existing path; here the path is a directory,
    /// which exists but cannot be read as a key file (tests may run as root, which reads
    /// mode-000 files).
    #[tokio::test]
    async fn test_introspect_by_private_key_jwt_error_file_can_not_read_500() {
        let dir = tempfile::tempdir().unwrap();
        is_500_without_introspection(fx(dir.path().to_str().unwrap(), "RS256").await).await;
    }

    #[tokio::test]
    async fn test_introspect_by_private_key_jwt_error_file_not_exist_500() {
        is_500_without_introspection(fx("/nonexistent/dir/key.pem", "RS256").await).await;
    }

    /// The key is read at construction and on reload (SIGHUP), not per request.
    #[tokio::test]
    async fn key_is_read_once_and_on_reload() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("key.pem");
        let f = fx(p.to_str().unwrap(), "RS256").await;
        f.mount(
            any_body(),
            200,
            f.metadata(nested_claims("admin,member,reader")),
            2,
        )
        .await;
        let layer = f.layer();
        // Missing at start-up: requests fail even after the file appears...
        std::fs::copy(fixture("rsa_private_key.pem"), &p).unwrap();
        assert_error(&call(&layer, req(Some(TOKEN))).await, 500, BODY_500_CONFIG);
        // ...until a reload.
        layer.authenticator().reload().unwrap();
        assert_eq!(call(&layer, req(Some(TOKEN))).await.status, 200);
        // Removing the file later does not matter: the key is in memory; a failed reload
        // keeps the previous key.
        std::fs::remove_file(&p).unwrap();
        assert!(layer.authenticator().reload().is_err());
        assert_eq!(call(&layer, req(Some(TOKEN_B))).await.status, 200);
    }
}

/// `ExternalOauth2TokenMiddlewareClientSecretJwtTest`.
mod client_secret_jwt {
    use super::*;

    async fn fx(alg: &str) -> Fx {
        Fx::new(
            "client_secret_jwt",
            NESTED_MAPPING,
            &[("jwt_algorithm", alg), ("jwt_bearer_time_out", "2800")],
        )
        .await
    }

    fn jwt_body() -> impl wiremock::Match {
        |r: &wiremock::Request| {
            let body = String::from_utf8_lossy(&r.body);
            body.starts_with(&format!(
                "client_id={CLIENT_ID}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion="
            )) && body.ends_with(&format!("&token={TOKEN}&token_type_hint=access_token"))
                && !body.contains("client_secret")
        }
    }

    #[tokio::test]
    async fn test_basic_200() {
        let f = fx("HS256").await;
        f.mount(
            jwt_body(),
            200,
            f.metadata(nested_claims("admin,member,reader")),
            1,
        )
        .await;
        let a = call(&f.layer(), req(Some(TOKEN))).await;
        assert_project_headers(&a, true);
        let received = f.server.received_requests().await.unwrap();
        let assertion = form_field(&received[0].body, "client_assertion").unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        v.set_audience(&[AUDIENCE]);
        v.validate_exp = false;
        let claims = jsonwebtoken::decode::<Value>(
            &assertion,
            &jsonwebtoken::DecodingKey::from_secret(CLIENT_SECRET.as_bytes()),
            &v,
        )
        .unwrap()
        .claims;
        assert!(claims["iat"].is_i64() && claims["exp"].is_i64());
    }

    #[tokio::test]
    async fn test_introspect_by_client_secret_jwt_error_alg_500() {
        let f = fx("RS256").await;
        f.mount(any_body(), 200, f.metadata(nested_claims("admin")), 0)
            .await;
        assert_error(
            &call(&f.layer(), req(Some(TOKEN))).await,
            500,
            BODY_500_CONFIG,
        );
    }

    #[tokio::test]
    async fn test_fetch_token_introspect_response_201_500() {
        let f = fx("HS256").await;
        f.mount(
            jwt_body(),
            201,
            f.metadata(nested_claims("admin,member,reader")),
            1,
        )
        .await;
        assert_error(
            &call(&f.layer(), req(Some(TOKEN))).await,
            500,
            BODY_500_SERVICE,
        );
    }

    #[tokio::test]
    async fn test_fetch_token_introspect_response_active_is_false_401() {
        let f = fx("HS256").await;
        let mut claims = nested_claims("admin,member,reader");
        claims["active"] = json!(false);
        f.mount(jwt_body(), 200, f.metadata(claims), 1).await;
        assert_401(&call(&f.layer(), req(Some(TOKEN))).await, AUDIENCE);
    }

    #[tokio::test]
    async fn test_fetch_token_introspect_response_500() {
        let f = fx("HS256").await;
        f.mount(jwt_body(), 500, json!({}), 1).await;
        assert_error(
            &call(&f.layer(), req(Some(TOKEN))).await,
            500,
            BODY_500_SERVICE,
        );
    }

    /// Deliberate difference: upstream answers 500 when the AS times out; here 503 with
    /// Retry-After and the service-error message.
    #[tokio::test]
    async fn test_fetch_token_introspect_timeout_500() {
        let f = Fx::new(
            "client_secret_jwt",
            NESTED_MAPPING,
            &[("jwt_algorithm", "HS256"), ("http_connect_timeout", "1")],
        )
        .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(10)))
            .mount(&f.server)
            .await;
        let a = call(&f.layer(), req(Some(TOKEN))).await;
        assert_error(&a, 503, BODY_503);
        assert!(a.headers.get("retry-after").is_some());
    }

    /// Deliberate difference (api-ref/compat.md): with `http_connect_timeout` unset,
    /// upstream waits for a stalled authorization server forever; here the call gives up
    /// after `DEFAULT_INTROSPECTION_TIMEOUT` (30 s) with the same 503.
    #[tokio::test]
    async fn introspection_without_http_connect_timeout_is_bounded_by_the_default() {
        let f = Fx::new(
            "client_secret_jwt",
            NESTED_MAPPING,
            &[("jwt_algorithm", "HS256"), ("http_connect_timeout", "")],
        )
        .await;
        assert!(f.conf.get("http_connect_timeout").is_none());
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(600)))
            .mount(&f.server)
            .await;
        let bound = tacker_auth::DEFAULT_INTROSPECTION_TIMEOUT * 4;
        let a = tokio::time::timeout(bound, call(&f.layer(), req(Some(TOKEN))))
            .await
            .expect("the introspection call ends without http_connect_timeout");
        assert_error(&a, 503, BODY_503);
    }
}

/// `ExternalOauth2TokenMiddlewareClientSecretPostTest`.
mod client_secret_post {
    use super::*;

    fn post_body() -> String {
        format!("client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&token={TOKEN}&token_type_hint=access_token")
    }

    async fn status_with(extra: &[(&str, &str)], claims: Value, times: u64) -> Answer {
        let f = Fx::new("client_secret_post", FLAT_MAPPING, extra).await;
        f.mount(body_is(post_body()), 200, f.metadata(claims), times)
            .await;
        call(&f.layer(), req(Some(TOKEN))).await
    }

    #[tokio::test]
    async fn test_basic_200() {
        assert_project_headers(&status_with(&[], flat_claims(), 1).await, true);
    }

    #[tokio::test]
    async fn test_process_request_no_access_token_in_header_401() {
        let f = Fx::new(
            "client_secret_post",
            FLAT_MAPPING,
            &[("audience", "https://test_audience")],
        )
        .await;
        f.mount(any_body(), 200, json!({}), 0).await;
        assert_401(&call(&f.layer(), req(None)).await, "https://test_audience");
    }

    #[tokio::test]
    async fn test_read_data_from_token_key_type_not_dict_403() {
        let mut claims = flat_claims();
        claims["user"] = json!("a-string");
        assert_error(
            &status_with(&[("mapping_user_id", "user.id")], claims, 1).await,
            403,
            BODY_403,
        );
    }

    #[tokio::test]
    async fn test_read_data_from_token_key_not_fount_in_metadata_403() {
        assert_error(
            &status_with(&[("mapping_user_id", "user_id")], flat_claims(), 1).await,
            403,
            BODY_403,
        );
    }

    #[tokio::test]
    async fn test_read_data_from_token_key_value_type_is_not_match_403() {
        let mut claims = flat_claims();
        claims["user"] = json!({"id": "x"});
        assert_error(&status_with(&[], claims, 1).await, 403, BODY_403);
    }

    #[tokio::test]
    async fn test_read_data_from_token_key_config_error_is_not_dict_500() {
        assert_error(
            &status_with(&[("mapping_project_id", "..project_id")], flat_claims(), 1).await,
            500,
            BODY_500_CONFIG,
        );
    }

    #[tokio::test]
    async fn test_read_data_from_token_key_config_error_is_not_set_500() {
        assert_error(
            &status_with(&[("mapping_roles", "")], flat_claims(), 1).await,
            500,
            BODY_500_CONFIG,
        );
    }
}

/// `ExternalOauth2TokenMiddlewareClientSecretBasicTest`.
mod client_secret_basic {
    use super::*;

    fn basic_matcher() -> impl wiremock::Match {
        let expected_auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
        );
        let expected_body = format!("token={TOKEN}&token_type_hint=access_token");
        move |r: &wiremock::Request| {
            r.body == expected_body.as_bytes()
                && r.headers
                    .get("authorization")
                    .is_some_and(|v| v.to_str().ok() == Some(expected_auth.as_str()))
        }
    }

    async fn fx(extra: &[(&str, &str)]) -> Fx {
        Fx::new("client_secret_basic", NESTED_MAPPING, extra).await
    }

    #[tokio::test]
    async fn test_basic_200() {
        let f = fx(&[]).await;
        f.mount(
            basic_matcher(),
            200,
            f.metadata(nested_claims("admin,member,reader")),
            1,
        )
        .await;
        assert_project_headers(&call(&f.layer(), req(Some(TOKEN))).await, true);
    }

    #[tokio::test]
    async fn test_domain_scope_200() {
        let f = fx(&[("mapping_project_id", "")]).await;
        f.mount(
            basic_matcher(),
            200,
            f.metadata(nested_claims("admin,member,reader")),
            1,
        )
        .await;
        let a = call(&f.layer(), req(Some(TOKEN))).await;
        assert_eq!(a.status, 200);
        let h = a.json();
        assert_eq!(h["x-domain-id"], "pd-id");
        assert_eq!(h["x-domain-name"], "pd-name");
        for absent in [
            "x-project-id",
            "x-project-name",
            "x-tenant",
            "x-tenant-id",
            "x-tenant-name",
            "openstack-system-scope",
        ] {
            assert!(h.get(absent).is_none(), "{absent}");
        }
    }

    #[tokio::test]
    async fn test_system_scope_200() {
        let f = fx(&[
            ("mapping_project_id", ""),
            ("mapping_system_scope", "system.all"),
        ])
        .await;
        let mut claims = nested_claims("admin,member,reader");
        claims["system"] = json!({"all": true});
        f.mount(basic_matcher(), 200, f.metadata(claims), 1).await;
        let a = call(&f.layer(), req(Some(TOKEN))).await;
        assert_eq!(a.status, 200);
        let h = a.json();
        assert_eq!(h["openstack-system-scope"], "all");
        for absent in [
            "x-project-id",
            "x-domain-id",
            "x-domain-name",
            "x-tenant",
            "x-tenant-id",
        ] {
            assert!(h.get(absent).is_none(), "{absent}");
        }
    }

    #[tokio::test]
    async fn test_process_response_401() {
        let f = fx(&[]).await;
        f.mount(
            basic_matcher(),
            200,
            f.metadata(nested_claims("admin,member,reader")),
            1,
        )
        .await;
        assert_app_401_is_challenged(&f.layer()).await;
    }

    #[tokio::test]
    async fn test_spoofed_headers_are_sanitized() {
        let f = fx(&[]).await;
        f.mount(
            basic_matcher(),
            200,
            f.metadata(nested_claims("member,reader")),
            1,
        )
        .await;
        let mut r = req(Some(TOKEN));
        for (k, v) in [
            ("X-Identity-Status", "Spoofed"),
            ("X-Is-Admin-Project", "true"),
            ("X-User-Id", "spoofed-user"),
            ("X-User-Name", "spoofed-name"),
            ("X-Roles", "admin,superuser"),
            ("X-Project-Id", "spoofed-project"),
            ("X-User-Domain-Id", "spoofed-ud"),
            ("X-User-Domain-Name", "spoofed-udn"),
            // Deliberate fix: upstream lets this one through.
            ("OpenStack-System-Scope", "all"),
        ] {
            r.headers_mut().insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let a = call(&f.layer(), r).await;
        assert_eq!(a.status, 200);
        let h = a.json();
        assert_eq!(h["x-identity-status"], "Confirmed");
        assert_eq!(h["x-user-id"], CLIENT_ID);
        assert_eq!(h["x-user-name"], "user-name");
        assert_eq!(h["x-roles"], "member,reader");
        assert_eq!(h["x-project-id"], "p-id");
        assert_eq!(h["x-user-domain-id"], "ud-id");
        assert_eq!(h["x-user-domain-name"], "ud-name");
        assert!(h.get("x-is-admin-project").is_none());
        assert!(h.get("openstack-system-scope").is_none());
    }

    /// A request whose token this thread already let through is served from the per-thread
    /// memo: the same identity headers and context as the first (cache/introspection) pass,
    /// spoofed headers still removed, the app's 401 still challenged; one introspection.
    #[tokio::test]
    async fn memo_served_requests_equal_the_first_and_stay_sanitized() {
        let f = fx(&[]).await;
        f.mount(
            basic_matcher(),
            200,
            f.metadata(nested_claims("member,reader")),
            1,
        )
        .await;
        let layer = f.layer();
        let first = call(&layer, req(Some(TOKEN))).await;
        assert_eq!(first.status, 200, "{}", first.body);
        for _ in 0..3 {
            let mut r = req(Some(TOKEN));
            r.headers_mut()
                .insert("x-user-id", "spoofed-user".parse().unwrap());
            r.headers_mut().insert("x-roles", "admin".parse().unwrap());
            r.headers_mut()
                .insert("openstack-system-scope", "all".parse().unwrap());
            r.headers_mut()
                .insert("x-custom-kept", "kept".parse().unwrap());
            let again = call(&layer, r).await;
            assert_eq!(again.status, 200, "{}", again.body);
            let mut seen = again.json();
            assert_eq!(seen["x-custom-kept"], "kept");
            seen.as_object_mut().unwrap().remove("x-custom-kept");
            assert_eq!(seen, first.json());
        }
        assert_app_401_is_challenged(&layer).await;
        // Mounted with expect(1): verified when the mock server drops.
    }

    /// Deliberate fix: `active` must be the JSON `true`; upstream accepts the string "false".
    #[tokio::test]
    async fn active_string_false_is_401_fix() {
        let f = fx(&[]).await;
        let mut claims = nested_claims("admin");
        claims["active"] = json!("false");
        f.mount(basic_matcher(), 200, f.metadata(claims), 1).await;
        assert_401(&call(&f.layer(), req(Some(TOKEN))).await, AUDIENCE);
    }

    /// Deliberate extension: roles as a JSON list of strings (Keycloak role mappers).
    #[tokio::test]
    async fn roles_as_json_list_200() {
        let f = fx(&[]).await;
        let mut claims = nested_claims("");
        claims["roles"] = json!(["member", "admin"]);
        f.mount(basic_matcher(), 200, f.metadata(claims), 1).await;
        let a = call(&f.layer(), req(Some(TOKEN))).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.json()["x-roles"], "member,admin");
        assert_eq!(a.json()["x-is-admin-project"], "true");
    }

    /// Deliberate fix: no root fallback for dotted paths (upstream would read a top-level `id`).
    #[tokio::test]
    async fn dotted_path_has_no_root_fallback_fix() {
        let f = fx(&[]).await;
        let mut claims = nested_claims("admin");
        claims["access_project"] = json!({});
        claims["id"] = json!("top-level-id");
        claims["name"] = json!("top-level-name");
        f.mount(basic_matcher(), 200, f.metadata(claims), 1).await;
        // access_project.domain.* is then absent as well → required for domain scope → 403.
        assert_error(&call(&f.layer(), req(Some(TOKEN))).await, 403, BODY_403);
    }

    /// The AS refuses connections: 503 with Retry-After (upstream: 500), and 200 again once
    /// it is back.
    #[tokio::test]
    async fn unreachable_as_is_503_then_recovers() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let f = fx(&[(
            "introspect_endpoint",
            &format!("http://{addr}{INTROSPECT_PATH}"),
        )])
        .await;
        let layer = f.layer();
        let a = call(&layer, req(Some(TOKEN))).await;
        assert_error(&a, 503, BODY_503);
        assert_eq!(a.headers["retry-after"], "5");
        // Not cached: once the AS answers, the same token works.
        let listener = std::net::TcpListener::bind(addr).unwrap();
        let server = MockServer::builder().listener(listener).start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(f.metadata(nested_claims("admin,member,reader"))),
            )
            .expect(1)
            .mount(&server)
            .await;
        assert_project_headers(&call(&layer, req(Some(TOKEN))).await, true);
    }

    #[tokio::test]
    async fn head_keeps_content_length() {
        let f = fx(&[]).await;
        let r = Request::builder()
            .method("HEAD")
            .uri("/v1.0/vims")
            .body(Body::empty())
            .unwrap();
        let a = call(&f.layer(), r).await;
        assert_eq!(a.status, 401);
        assert_eq!(a.headers["content-length"], "130");
    }
}

/// `ExternalAuth2ProtocolTest` (cache behaviour; basic auth, `mapping_system_scope=system.all`,
/// `mapping_expires_at=exp`, integer `exp`).
mod protocol {
    use super::*;

    async fn fx(extra: &[(&str, &str)]) -> Fx {
        let mut e: Vec<(&str, &str)> = vec![
            ("mapping_system_scope", "system.all"),
            ("mapping_expires_at", "exp"),
        ];
        e.extend_from_slice(extra);
        Fx::new("client_secret_basic", NESTED_MAPPING, &e).await
    }

    fn claims(f: &Fx, exp_offset: f64) -> Value {
        let mut c = nested_claims("admin,member,reader");
        c["exp"] = json!((f.clock.now() + exp_offset) as i64);
        f.metadata(c)
    }

    #[tokio::test]
    async fn test_token_cache_factory_insecure() {
        let f = fx(&[]).await;
        let opts = tacker_auth::ExtOAuth2Options::load(&f.conf, &Section::new("p")).unwrap();
        assert_eq!(opts.memcache_security_strategy, None);
        f.mount(any_body(), 200, claims(&f, 3600.0), 1).await;
        let layer = f.layer();
        assert_eq!(call(&layer, req(Some(TOKEN))).await.status, 200);
        assert!(layer.is_cached(TOKEN).await);
        // Plain-mode key, as Python nodes use: never the token itself.
        let key = tacker_auth::memcache_key(TOKEN);
        assert_eq!(key.len(), 7 + 64);
        assert!(key.starts_with("tokens/") && !key.contains(TOKEN));
    }

    /// The options are accepted with a secret key and refused without one, as upstream; only
    /// the exact text `ENCRYPT` encrypts (`_memcache_crypt.protect_data`). The secure
    /// memcached layout itself is checked against keystonemiddleware in `upstream_vectors`.
    #[tokio::test]
    async fn test_token_cache_factory_secure() {
        for (strategy, expected) in [
            ("MAC", tacker_auth::SecurityStrategy::Mac),
            ("ENCRYPT", tacker_auth::SecurityStrategy::Encrypt),
            ("encrypt", tacker_auth::SecurityStrategy::Mac),
        ] {
            let f = fx(&[
                ("memcache_security_strategy", strategy),
                ("memcache_secret_key", "mysecret"),
            ])
            .await;
            let opts = tacker_auth::ExtOAuth2Options::load(&f.conf, &Section::new("p")).unwrap();
            assert_eq!(opts.memcache_security_strategy, Some(expected));
            assert_eq!(
                opts.memcache_security_strategy_as_typed.as_deref(),
                Some(strategy)
            );
            f.layer();
            let f = fx(&[("memcache_security_strategy", strategy)]).await;
            let err = ExternalOAuth2Layer::from_sections(&f.conf, &Section::new("p")).unwrap_err();
            assert_eq!(
                err.to_string(),
                "memcache_secret_key must be defined when a memcache_security_strategy is defined"
            );
        }
    }

    #[tokio::test]
    async fn test_caching_token_on_verify() {
        let f = fx(&[]).await;
        f.mount(any_body(), 200, claims(&f, 3600.0), 1).await;
        let layer = f.layer();
        assert_eq!(call(&layer, req(Some(TOKEN))).await.status, 200);
        assert_eq!(call(&layer, req(Some(TOKEN))).await.status, 200);
        assert_eq!(layer.cached_entries().await, 1);
    }

    /// Deliberate fix: upstream accepts a past `exp` on first sight (200) and rejects it only
    /// on the cache hit; here both requests are 401, with one introspection.
    #[tokio::test]
    async fn test_caching_token_timeout() {
        let f = fx(&[]).await;
        f.mount(any_body(), 200, claims(&f, -3600.0), 1).await;
        let layer = f.layer();
        assert_401(&call(&layer, req(Some(TOKEN))).await, AUDIENCE);
        assert_401(&call(&layer, req(Some(TOKEN))).await, AUDIENCE);
    }

    /// Upstream: the cache returns a non-object. The in-process cache is typed and cannot hold
    /// one; what it can hold besides a valid token is a negative entry, and a hit on it is a
    /// 401 without calling the AS (the entry here comes from a non-boolean `active`).
    #[tokio::test]
    async fn test_caching_token_type_invalid() {
        let f = fx(&[]).await;
        let mut c = claims(&f, 3600.0);
        c["active"] = json!("test");
        f.mount(any_body(), 200, c, 1).await;
        let layer = f.layer();
        assert_401(&call(&layer, req(Some(TOKEN))).await, AUDIENCE);
        assert!(layer.is_cached(TOKEN).await);
        assert_401(&call(&layer, req(Some(TOKEN))).await, AUDIENCE);
    }

    #[tokio::test]
    async fn test_caching_token_not_active() {
        let f = fx(&[]).await;
        let mut c = claims(&f, 3600.0);
        c["active"] = json!(false);
        f.mount(any_body(), 200, c, 1).await;
        let layer = f.layer();
        assert_401(&call(&layer, req(Some(TOKEN))).await, AUDIENCE);
        assert_401(&call(&layer, req(Some(TOKEN))).await, AUDIENCE);
        assert_eq!(layer.cached_entries().await, 1);
    }

    /// The cache is per token; the AS failing for another token is a 500 (upstream's stub
    /// raises for any other token; here the AS answers 404 for it).
    #[tokio::test]
    async fn test_caching_token_invalid() {
        let f = fx(&[]).await;
        f.mount(
            body_is(format!("token={TOKEN}&token_type_hint=access_token")),
            200,
            claims(&f, 3600.0),
            1,
        )
        .await;
        let layer = f.layer();
        assert_eq!(call(&layer, req(Some(TOKEN))).await.status, 200);
        assert_error(
            &call(&layer, req(Some(TOKEN_B))).await,
            500,
            BODY_500_SERVICE,
        );
        assert_eq!(call(&layer, req(Some(TOKEN))).await.status, 200);
    }

    #[tokio::test]
    async fn token_cache_time_bounds_the_entry() {
        let f = fx(&[("token_cache_time", "300")]).await;
        f.mount(any_body(), 200, claims(&f, 3600.0), 2).await;
        let layer = f.layer();
        assert_eq!(call(&layer, req(Some(TOKEN))).await.status, 200);
        f.clock.advance(299.0);
        assert!(layer.is_cached(TOKEN).await);
        assert_eq!(call(&layer, req(Some(TOKEN))).await.status, 200);
        f.clock.advance(2.0);
        assert!(!layer.is_cached(TOKEN).await);
        assert_eq!(call(&layer, req(Some(TOKEN))).await.status, 200);
    }

    #[tokio::test]
    async fn cache_never_outlives_token_exp() {
        let f = fx(&[("token_cache_time", "300")]).await;
        f.mount(any_body(), 200, claims(&f, 100.0), 1).await;
        let layer = f.layer();
        assert_eq!(call(&layer, req(Some(TOKEN))).await.status, 200);
        f.clock.advance(101.0);
        assert!(!layer.is_cached(TOKEN).await);
        // Re-introspection would say the same token (exp now in the past): 401, and the
        // AS was called once only because the fresh answer is now expired → negative entry.
        let f2 = fx(&[("token_cache_time", "0")]).await;
        f2.mount(any_body(), 200, claims(&f2, 100.0), 1).await;
        let layer2 = f2.layer();
        assert_eq!(call(&layer2, req(Some(TOKEN))).await.status, 200);
        f2.clock.advance(99.0);
        assert!(
            layer2.is_cached(TOKEN).await,
            "0 caches up to the token's exp"
        );
        assert_eq!(call(&layer2, req(Some(TOKEN))).await.status, 200);
        f2.clock.advance(2.0);
        assert!(!layer2.is_cached(TOKEN).await);
    }

    #[tokio::test]
    async fn token_cache_time_minus_one_disables_the_cache() {
        let f = fx(&[("token_cache_time", "-1")]).await;
        f.mount(any_body(), 200, claims(&f, 3600.0), 2).await;
        let layer = f.layer();
        assert_eq!(call(&layer, req(Some(TOKEN))).await.status, 200);
        assert_eq!(call(&layer, req(Some(TOKEN))).await.status, 200);
        assert_eq!(layer.cached_entries().await, 0);
    }

    #[tokio::test]
    async fn cache_is_bounded_in_entries() {
        let f = fx(&[]).await;
        f.mount(any_body(), 200, claims(&f, 3600.0), 50).await;
        let layer = f.layer_with(CacheLimits {
            max_entries: 10,
            max_bytes: 10 * 4096,
        });
        for i in 0..50 {
            assert_eq!(
                call(&layer, req(Some(&format!("token-{i}")))).await.status,
                200
            );
        }
        assert!(layer.cached_entries().await <= 10);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_thousand_concurrent_requests_one_introspection() {
        let f = fx(&[]).await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(claims(&f, 3600.0))
                    .set_delay(std::time::Duration::from_millis(200)),
            )
            .expect(1)
            .mount(&f.server)
            .await;
        let layer = f.layer();
        let calls = (0..1000).map(|_| {
            let layer = layer.clone();
            tokio::spawn(async move { call(&layer, req(Some(TOKEN))).await.status })
        });
        for status in futures::future::join_all(calls).await {
            assert_eq!(status.unwrap(), 200);
        }
        // MockServer's Drop verifies expect(1).
    }
}

/// `FilterFactoryTest`.
mod filter_factory {
    use super::*;

    #[tokio::test]
    async fn test_filter_factory() {
        let conf = Section::new("ext_oauth2_auth");
        let pairs = [
            ("certfile", "/etc/tacker/cert.pem"),
            ("keyfile", "/etc/tacker/key.pem"),
            ("cafile", "/etc/tacker/ca.pem"),
            ("insecure", "True"),
            ("http_connect_timeout", "30"),
            (
                "introspect_endpoint",
                "https://localhost:8443/realms/x509/protocol/openid-connect/token/introspect",
            ),
            ("audience", AUDIENCE),
            ("auth_method", "private_key_jwt"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("thumbprint_verify", "True"),
            ("jwt_key_file", "/nonexistent/private_key.pem"),
            ("jwt_algorithm", "RS256"),
            ("jwt_bearer_time_out", "3000"),
            ("mapping_project_id", "access_project.id"),
            ("mapping_project_name", "access_project.name"),
            ("mapping_project_domain_id", "access_project.domain.id"),
            ("mapping_project_domain_name", "access_project.domain.name"),
            ("mapping_user_id", "client_id"),
            ("mapping_user_name", "username"),
            ("mapping_user_domain_id", "user_domain.id"),
            ("mapping_user_domain_name", "user_domain.name"),
            ("mapping_roles", "roles"),
            ("mapping_system_scope", "system.all"),
            ("mapping_expires_at", "exp"),
            ("memcached_servers", "localhost:11211"),
            ("token_cache_time", "300"),
            ("memcache_security_strategy", "None"),
            ("memcache_pool_dead_retry", "300"),
            ("memcache_pool_maxsize", "10"),
            ("memcache_pool_socket_timeout", "3"),
            ("memcache_pool_unused_timeout", "60"),
            ("memcache_pool_conn_get_timeout", "10"),
            ("memcache_use_advanced_pool", "True"),
        ];
        let paste = section("filter:external_oauth2_token", &pairs);
        let o = tacker_auth::ExtOAuth2Options::load(&conf, &paste).unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(
            o.client.certfile.as_deref(),
            Some(std::path::Path::new("/etc/tacker/cert.pem"))
        );
        assert_eq!(
            o.client.keyfile.as_deref(),
            Some(std::path::Path::new("/etc/tacker/key.pem"))
        );
        assert_eq!(
            o.client.cafile.as_deref(),
            Some(std::path::Path::new("/etc/tacker/ca.pem"))
        );
        assert!(o.client.insecure);
        assert_eq!(
            o.client.http_connect_timeout,
            Some(std::time::Duration::from_secs(30))
        );
        assert_eq!(o.introspect_endpoint.as_deref(), Some(pairs[5].1));
        assert_eq!(o.client.audience.as_deref(), Some(AUDIENCE));
        assert_eq!(
            o.client.auth_method,
            tacker_oauth2_client::AuthMethod::PrivateKeyJwt
        );
        assert_eq!(o.client.client_id.as_deref(), Some(CLIENT_ID));
        assert_eq!(
            o.client.client_secret.as_ref().unwrap().expose_secret(),
            CLIENT_SECRET
        );
        assert!(o.thumbprint_verify);
        assert_eq!(
            o.client.jwt_key_file.as_deref(),
            Some(std::path::Path::new("/nonexistent/private_key.pem"))
        );
        assert_eq!(o.client.jwt_algorithm.as_deref(), Some("RS256"));
        assert_eq!(o.client.jwt_bearer_time_out, Some(3000));
        assert_eq!(o.mapping.project_id.as_deref(), Some("access_project.id"));
        assert_eq!(
            o.mapping.project_name.as_deref(),
            Some("access_project.name")
        );
        assert_eq!(
            o.mapping.project_domain_id.as_deref(),
            Some("access_project.domain.id")
        );
        assert_eq!(
            o.mapping.project_domain_name.as_deref(),
            Some("access_project.domain.name")
        );
        assert_eq!(o.mapping.user_id.as_deref(), Some("client_id"));
        assert_eq!(o.mapping.user_name.as_deref(), Some("username"));
        assert_eq!(o.mapping.user_domain_id.as_deref(), Some("user_domain.id"));
        assert_eq!(
            o.mapping.user_domain_name.as_deref(),
            Some("user_domain.name")
        );
        assert_eq!(o.mapping.roles.as_deref(), Some("roles"));
        assert_eq!(o.mapping.system_scope.as_deref(), Some("system.all"));
        assert_eq!(o.mapping.expires_at.as_deref(), Some("exp"));
        assert_eq!(o.memcached_servers, vec!["localhost:11211"]);
        assert_eq!(o.token_cache_time, 300);
        assert_eq!(o.memcache_security_strategy, None);
        assert_eq!(o.memcache_pool_dead_retry, Some(300));
        assert_eq!(o.memcache_pool_maxsize, Some(10));
        assert_eq!(o.memcache_pool_socket_timeout, Some(3));
        assert_eq!(o.memcache_pool_unused_timeout, Some(60));
        assert_eq!(o.memcache_pool_conn_get_timeout, Some(10));
        assert!(o.memcache_use_advanced_pool);

        // The key file does not exist: construction still succeeds (checked per request).
        let mut paste = paste;
        paste.options.shift_remove("certfile");
        paste.options.shift_remove("keyfile");
        paste.options.shift_remove("cafile");
        ExternalOAuth2Layer::from_sections(&conf, &paste).unwrap();
    }

    fn err(conf: &[(&str, &str)], paste: &[(&str, &str)]) -> String {
        ExternalOAuth2Layer::from_sections(
            &section("ext_oauth2_auth", conf),
            &section("filter:external_oauth2_token", paste),
        )
        .unwrap_err()
        .to_string()
    }

    #[tokio::test]
    async fn construction_errors_in_upstream_order() {
        assert_eq!(err(&[], &[]), "Configuration error. The parameter is not set for \"audience\" in group [ext_oauth2_auth].");
        assert_eq!(
            err(&[("audience", AUDIENCE)], &[]),
            "Configuration error. The parameter is not set for \"introspect_endpoint\" in group [ext_oauth2_auth]."
        );
        let base = [
            ("audience", AUDIENCE),
            ("introspect_endpoint", "https://as/introspect"),
        ];
        assert_eq!(err(&base, &[]), "Configuration error. The parameter is not set for \"client_id\" in group [ext_oauth2_auth].");
        assert!(err(&base, &[("auth_method", "client_secret_jwtt")])
            .starts_with("tacker.conf [filter:external_oauth2_token] auth_method = \"client_secret_jwtt\": Unable to convert the value of option \"auth_method\" into correct type"));
        assert!(err(&base, &[("auth_method", "")])
            .contains("Unable to convert the value of option \"auth_method\""));
        assert_eq!(
            err(&base, &[("client_id", "c")]),
            "Configuration error. The parameter is not set for \"client_secret\" in group [ext_oauth2_auth]."
        );
        // Paste wins over tacker.conf.
        let with_secret = [
            ("audience", AUDIENCE),
            ("introspect_endpoint", "https://as/introspect"),
            ("client_id", "c"),
            ("client_secret", "s"),
        ];
        assert!(ExternalOAuth2Layer::from_sections(
            &section("ext_oauth2_auth", &with_secret),
            &Section::new("p")
        )
        .is_ok());
        assert!(err(&with_secret, &[("client_secret", "")]).contains("\"client_secret\""));
        assert!(err(&with_secret, &[("token_cache_time", "often")]).contains("token_cache_time"));
    }
}

/// Logs at TRACE over construction and a full flow for every method contain neither the
/// access token, nor the client secret, nor the client assertion.
mod logs {
    use super::*;

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn unknown_paste_keys_are_warned_not_fatal() {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let f = Fx::new("client_secret_basic", NESTED_MAPPING, &[]).await;
        let paste = section(
            "filter:external_oauth2_token",
            &[
                (
                    "paste.filter_factory",
                    "keystonemiddleware.external_oauth2_token:filter_factory",
                ),
                ("bogus_key", "1"),
            ],
        );
        ExternalOAuth2Layer::from_sections(&f.conf, &paste).unwrap();
        let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        assert!(
            logs.contains("The option \"bogus_key\" is not known to keystonemiddleware"),
            "{logs}"
        );
        assert!(!logs.contains("paste.filter_factory"), "{logs}");
    }

    const MEMCACHE_SECRET: &str = "memcache-secret-never-logged";

    #[tokio::test]
    async fn trace_logs_contain_no_token_secret_or_assertion() {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let mut assertions = Vec::new();
        for method_name in [
            "client_secret_basic",
            "client_secret_post",
            "tls_client_auth",
            "client_secret_jwt",
            "private_key_jwt",
        ] {
            let key = fixture("rsa_private_key.pem");
            let alg = if method_name == "private_key_jwt" {
                "RS256"
            } else {
                "HS256"
            };
            let f = Fx::new(
                method_name,
                NESTED_MAPPING,
                &[
                    ("jwt_key_file", &key),
                    ("jwt_algorithm", alg),
                    ("memcached_servers", "127.0.0.1:11211"),
                    ("memcache_security_strategy", "ENCRYPT"),
                    ("memcache_secret_key", MEMCACHE_SECRET),
                ],
            )
            .await;
            f.mount(
                any_body(),
                200,
                f.metadata(nested_claims("admin,member,reader")),
                1,
            )
            .await;
            let layer = f.layer();
            tracing::debug!(?layer, "constructed");
            assert_eq!(call(&layer, req(Some(TOKEN))).await.status, 200);
            for r in f.server.received_requests().await.unwrap() {
                if let Some(a) = form_field(&r.body, "client_assertion") {
                    assertions.push(a);
                }
            }
        }
        assert_eq!(assertions.len(), 2);
        let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        assert!(
            logs.contains("The introspect API response"),
            "DEBUG response log expected"
        );
        assert!(logs.contains("Using memcached for the token cache"));
        assert!(!logs.contains(TOKEN), "token in logs");
        assert!(
            !logs.contains(MEMCACHE_SECRET),
            "memcache_secret_key in logs"
        );
        assert!(!logs.contains(CLIENT_SECRET), "secret in logs");
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
        assert!(!logs.contains(&basic), "basic credentials in logs");
        for a in assertions {
            assert!(!logs.contains(&a), "assertion in logs");
            // Not even its signature part.
            assert!(!logs.contains(a.rsplit('.').next().unwrap()));
        }
    }
}
