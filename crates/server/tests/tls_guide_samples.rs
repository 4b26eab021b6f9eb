//! Issue 4 acceptance: the operator guide's five sample configurations, end to end.
//!
//! For each `etc/samples/<method>.conf`: point its files and endpoints at the test PKI and the
//! real authorization server (`tests/peers/authz`, oidc-provider shaped like a Keycloak realm),
//! start the `tacker-server` binary with the guide's api-paste.ini change (step 1), get a token
//! with `curl` exactly as the guide's "Verifying Access" section does, then `GET /v1.0/vims`
//! with curl -> 200. Negative variants from the guide's requirements: no client certificate where
//! Tacker requires one -> the TLS handshake is refused; another client's certificate with a
//! certificate-bound token -> 401.
//!
//! Needs: `scripts/setup/authz.sh` (Node.js + oidc-provider), `curl` and `openssl` on PATH.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use tacker_test_support::{
    ini_get, repo_root, rewrite_ini, AuthzOptions, AuthzServer, CertFiles, ClientSpec, IniEdit,
    RealmClient, TackerOptions, TackerServer, TestPki,
};

/// Bound of every curl call (seconds).
const CURL_MAX_TIME: &str = "20";

/// Where the samples reach Keycloak: the ports docker-compose.yml publishes on the host.
const SAMPLE_AUTHZ_HTTPS: &str = "https://127.0.0.1:8443";
const SAMPLE_AUTHZ_HTTP: &str = "http://127.0.0.1:8080";

struct Guide {
    pki: TestPki,
    authz: AuthzServer,
}

impl Guide {
    async fn start() -> Self {
        let pki = TestPki::new().expect("test PKI");
        let authz = AuthzServer::start(&pki, AuthzOptions::default())
            .await
            .expect("authorization server (run scripts/setup/authz.sh)");
        Self { pki, authz }
    }

    fn https(&self) -> String {
        format!("https://127.0.0.1:{}", self.authz.https_port())
    }

    fn http(&self) -> String {
        format!(
            "http://127.0.0.1:{}",
            self.authz
                .http_port()
                .expect("authorization server HTTP listener")
        )
    }

    fn realm_client(&self, id: &str) -> ClientSpec {
        self.authz.client(id).clone()
    }

    /// `etc/samples/<method>.conf` pointed at this test's PKI and authorization server, option
    /// by option; `client` is the realm client Tacker introspects with (the guide's
    /// `tacker_service`). The sample's database, paste file and key directory are dropped so
    /// that `TackerServer` puts its own in a temporary directory.
    fn render(&self, method: &str, client: &ClientSpec) -> String {
        let path = repo_root().join(format!("etc/samples/{method}.conf"));
        let text = std::fs::read_to_string(&path).expect("sample");
        let p = |p: &Path| IniEdit::Set(p.display().to_string());
        // The sample's Keycloak (its published ports) -> this test's authorization server.
        let rebase = |url: &str| {
            for (from, to) in [
                (SAMPLE_AUTHZ_HTTPS, self.https()),
                (SAMPLE_AUTHZ_HTTP, self.http()),
            ] {
                if let Some(rest) = url.strip_prefix(from) {
                    return format!("{to}{rest}");
                }
            }
            panic!("{method}: {url} is neither {SAMPLE_AUTHZ_HTTPS} nor {SAMPLE_AUTHZ_HTTP}");
        };
        // The assertion audience this authorization server accepts: its realm URL on the
        // listener the sample's endpoints use.
        let token_endpoint =
            rebase(&ini_get(&text, "ext_oauth2_auth", "token_endpoint").expect("token_endpoint"));
        let audience = token_endpoint
            .split("/protocol/")
            .next()
            .expect("realm URL")
            .to_owned();
        let text = rewrite_ini(&text, |section, key, value| match (section, key) {
            ("DEFAULT", "ssl_ca_file") => p(&self.pki.ca.cert),
            ("DEFAULT", "ssl_cert_file") => p(&self.pki.server.cert),
            ("DEFAULT", "ssl_key_file") => p(&self.pki.server.key),
            ("DEFAULT", "api_paste_config") | ("database", "connection") | ("vim_keys", _) => {
                IniEdit::Remove
            }
            ("ext_oauth2_auth", "certfile") => p(&self.pki.client.cert),
            ("ext_oauth2_auth", "keyfile") => p(&self.pki.client.key),
            ("ext_oauth2_auth", "cafile") => p(&self.pki.ca.cert),
            ("ext_oauth2_auth", "jwt_key_file") => p(&self.pki.jwt_key),
            ("ext_oauth2_auth", "token_endpoint" | "introspect_endpoint") => {
                IniEdit::Set(rebase(value))
            }
            ("ext_oauth2_auth", "audience") => IniEdit::Set(audience.clone()),
            ("ext_oauth2_auth", "client_id") => IniEdit::Set(client.client_id.clone()),
            ("ext_oauth2_auth", "client_secret") => {
                IniEdit::Set(client.client_secret.clone().unwrap_or_default())
            }
            _ => IniEdit::Keep,
        });
        for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
            assert!(
                !line.contains("var/") && !line.contains(":8443") && !line.contains(":8080"),
                "{method}: option not pointed at the test's PKI or authorization server: {line}"
            );
        }
        text
    }

    async fn tacker(
        &self,
        conf: String,
        ready_identity: Option<&CertFiles>,
        tls: bool,
    ) -> TackerServer {
        let ready_client = tls.then(|| self.pki.https_client(ready_identity));
        TackerServer::start_with(TackerOptions {
            conf,
            paste_text: Some(guide_api_paste()),
            binary: Some(PathBuf::from(env!("CARGO_BIN_EXE_tacker-server"))),
            ready_client,
            ..TackerOptions::default()
        })
        .await
        .expect("tacker-server starts with the sample configuration")
    }

    fn token_endpoint(&self, base: &str) -> String {
        format!("{base}/realms/testrealm/protocol/openid-connect/token")
    }
}

/// Guide step 1: the shipped api-paste.ini with `external_oauth2_token` in place of
/// `authtoken` in every `keystone =` pipeline, and the filter section added.
fn guide_api_paste() -> String {
    let shipped =
        std::fs::read_to_string(repo_root().join("etc/api-paste.ini")).expect("etc/api-paste.ini");
    let mut out = String::new();
    for line in shipped.lines() {
        if line.trim_start().starts_with("keystone") {
            out.push_str(&line.replace(" authtoken ", " external_oauth2_token "));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    if !out.contains("[filter:external_oauth2_token]") {
        out.push_str(
            "\n[filter:external_oauth2_token]\n\
             paste.filter_factory = keystonemiddleware.external_oauth2_token:filter_factory\n",
        );
    }
    out
}

// ---------------------------------------------------------------------------------------
// curl, as in the guide

/// TLS material of one curl call.
#[derive(Default)]
struct CurlTls<'a> {
    cacert: Option<&'a Path>,
    cert: Option<&'a CertFiles>,
}

impl CurlTls<'_> {
    fn args(&self, cmd: &mut Command) {
        if let Some(ca) = self.cacert {
            cmd.arg("--cacert").arg(ca);
        }
        if let Some(c) = self.cert {
            cmd.arg("--key").arg(&c.key).arg("--cert").arg(&c.cert);
        }
    }
}

fn curl() -> Command {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", CURL_MAX_TIME]);
    cmd
}

/// `curl -X POST <token endpoint> <auth args> -d scope=openstack -d grant_type=...`:
/// the access token of the answer.
fn curl_token(url: &str, auth_args: &[String], tls: CurlTls<'_>) -> String {
    let mut cmd = curl();
    cmd.args(["-X", "POST", url]);
    cmd.args(auth_args);
    cmd.args([
        "-d",
        "scope=openstack",
        "-d",
        "grant_type=client_credentials",
    ]);
    tls.args(&mut cmd);
    let out = cmd.output().expect("run curl");
    let body = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "curl token: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("token answer {body:?}: {e}"));
    json["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access_token in {body}"))
        .to_owned()
}

/// What `curl -i -X GET <url> -H "Authorization: Bearer ..."` ended with.
#[derive(Debug)]
enum Answer {
    Http(u16, String),
    /// curl failed before any HTTP answer (exit code, message): e.g. the handshake.
    NoHttp(i32, String),
}

fn curl_get(url: &str, token: &str, tls: CurlTls<'_>) -> Answer {
    let mut cmd = curl();
    cmd.args([
        "-X",
        "GET",
        url,
        "-H",
        &format!("Authorization: Bearer {token}"),
    ]);
    cmd.args(["-w", "\n%{http_code}"]);
    tls.args(&mut cmd);
    let out = cmd.output().expect("run curl");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        return Answer::NoHttp(
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).to_string(),
        );
    }
    let (body, code) = stdout.rsplit_once('\n').expect("status line");
    Answer::Http(code.trim().parse().expect("status"), body.to_owned())
}

/// curl could not complete the TLS handshake with a listener that requires a client
/// certificate: 35 (SSL connect error, TLS 1.2), or with TLS 1.3, where the client has sent
/// its Finished before the server refuses, 55/56 (send/receive failure on the connection the
/// server closed after its alert), or, when curl negotiated HTTP/2 by ALPN, 16/92 (HTTP/2
/// framing / stream error) and 52 (nothing received).
fn assert_handshake_refused(answer: Answer, what: &str) {
    match answer {
        Answer::NoHttp(code, msg) => {
            assert!(
                matches!(code, 16 | 35 | 52 | 55 | 56 | 92),
                "{what}: curl {code}: {msg}"
            )
        }
        other => panic!("{what}: expected a refused handshake, got {other:?}"),
    }
}

fn assert_vims_200(answer: Answer, what: &str) {
    match answer {
        Answer::Http(200, body) => {
            let json: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
            assert!(json["vims"].is_array(), "{what}: {body}");
        }
        other => panic!("{what}: expected 200, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// JWT client assertions (RFC 7523), signed with the OpenSSL CLI as an operator would

fn b64url(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn assertion(
    client_id: &str,
    audience: &str,
    sign: impl Fn(&[u8]) -> Vec<u8>,
    alg: &str,
) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({"alg": alg, "typ": "JWT"});
    let claims = serde_json::json!({
        "iss": client_id, "sub": client_id, "aud": audience,
        "jti": uuid::Uuid::new_v4().to_string(), "iat": now, "exp": now + 300,
    });
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let sig = sign(input.as_bytes());
    format!("{input}.{}", b64url(&sig))
}

fn openssl_sign(args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run openssl");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl {args:?}");
    out.stdout
}

fn assertion_args(client_id: &str, assertion: String) -> Vec<String> {
    vec![
        "-d".into(),
        format!("client_id={client_id}"),
        "-d".into(),
        "client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
        "-d".into(),
        format!("client_assertion={assertion}"),
    ]
}

// ---------------------------------------------------------------------------------------
// The five samples

#[tokio::test]
async fn guide_client_secret_basic_mtls_both_ways_with_thumbprint() {
    let g = Guide::start().await;
    // The guide's tacker_service both introspects and calls the API with bound tokens.
    let client = g.realm_client(RealmClient::BOUND_BASIC);
    let conf = g.render("client_secret_basic", &client);

    let auth = vec![
        "-u".to_string(),
        format!(
            "{}:{}",
            client.client_id,
            client.client_secret.clone().unwrap_or_default()
        ),
    ];
    let with_client = || CurlTls {
        cacert: Some(&g.pki.ca.cert),
        cert: Some(&g.pki.client),
    };
    let token = curl_token(&g.token_endpoint(&g.https()), &auth, with_client());
    let tacker = g.tacker(conf, Some(&g.pki.client), true).await;
    assert_vims_200(
        curl_get(&tacker.url("/v1.0/vims"), &token, with_client()),
        "client_secret_basic",
    );

    // No client certificate: Tacker requires one, the handshake is refused.
    assert_handshake_refused(
        curl_get(
            &tacker.url("/v1.0/vims"),
            &token,
            CurlTls {
                cacert: Some(&g.pki.ca.cert),
                cert: None,
            },
        ),
        "no client certificate",
    );
    // Another (trusted) client's certificate with the bound token: 401.
    match curl_get(
        &tacker.url("/v1.0/vims"),
        &token,
        CurlTls {
            cacert: Some(&g.pki.ca.cert),
            cert: Some(&g.pki.other_client),
        },
    ) {
        Answer::Http(401, _) => {}
        other => panic!("another client's certificate: expected 401, got {other:?}"),
    }
    // A certificate from an untrusted CA with the same subject: handshake refused.
    assert_handshake_refused(
        curl_get(
            &tacker.url("/v1.0/vims"),
            &token,
            CurlTls {
                cacert: Some(&g.pki.ca.cert),
                cert: Some(&g.pki.untrusted_client),
            },
        ),
        "untrusted client certificate",
    );
    // The refusals were the listener's (not, say, a crash of the server).
    assert!(
        tacker.log().contains("TLS handshake refused"),
        "{}",
        tacker.log()
    );
}

#[tokio::test]
async fn guide_client_secret_post_https_api_http_authz() {
    let g = Guide::start().await;
    let client = g.realm_client(RealmClient::POST);
    let conf = g.render("client_secret_post", &client);

    let auth = vec![
        "-d".to_string(),
        format!("client_id={}", client.client_id),
        "-d".to_string(),
        format!(
            "client_secret={}",
            client.client_secret.clone().unwrap_or_default()
        ),
    ];
    let token = curl_token(&g.token_endpoint(&g.http()), &auth, CurlTls::default());
    let tacker = g.tacker(conf, None, true).await;
    assert_vims_200(
        curl_get(
            &tacker.url("/v1.0/vims"),
            &token,
            CurlTls {
                cacert: Some(&g.pki.ca.cert),
                cert: None,
            },
        ),
        "client_secret_post",
    );
}

#[tokio::test]
async fn guide_private_key_jwt_plain_api_https_authz() {
    let g = Guide::start().await;
    let client = g.realm_client(RealmClient::PRIVATE_KEY_JWT);
    let conf = g.render("private_key_jwt", &client);

    let key = g.pki.jwt_key.display().to_string();
    let jwt = assertion(
        &client.client_id,
        &g.authz.issuer(),
        |input| openssl_sign(&["dgst", "-sha256", "-sign", &key], input),
        "RS256",
    );
    let token = curl_token(
        &g.token_endpoint(&g.https()),
        &assertion_args(&client.client_id, jwt),
        CurlTls {
            cacert: Some(&g.pki.ca.cert),
            cert: None,
        },
    );
    let tacker = g.tacker(conf, None, false).await;
    assert!(tacker.url("/").starts_with("http://"));
    assert_vims_200(
        curl_get(&tacker.url("/v1.0/vims"), &token, CurlTls::default()),
        "private_key_jwt",
    );
}

#[tokio::test]
async fn guide_client_secret_jwt_plain_api_mtls_authz() {
    let g = Guide::start().await;
    let client = g.realm_client(RealmClient::SECRET_JWT);
    let conf = g.render("client_secret_jwt", &client);

    let secret = client.client_secret.clone().unwrap_or_default();
    let jwt = assertion(
        &client.client_id,
        &g.authz.issuer(),
        |input| openssl_sign(&["dgst", "-sha512", "-hmac", &secret, "-binary"], input),
        "HS512",
    );
    let token = curl_token(
        &g.token_endpoint(&g.https()),
        &assertion_args(&client.client_id, jwt),
        CurlTls {
            cacert: Some(&g.pki.ca.cert),
            cert: Some(&g.pki.client),
        },
    );
    let tacker = g.tacker(conf, None, false).await;
    assert_vims_200(
        curl_get(&tacker.url("/v1.0/vims"), &token, CurlTls::default()),
        "client_secret_jwt",
    );
}

#[tokio::test]
async fn guide_tls_client_auth_mtls_with_thumbprint() {
    let g = Guide::start().await;
    let client = g.realm_client(RealmClient::TLS);
    let conf = g.render("tls_client_auth", &client);

    let with_client = || CurlTls {
        cacert: Some(&g.pki.ca.cert),
        cert: Some(&g.pki.client),
    };
    let auth = vec!["-d".to_string(), format!("client_id={}", client.client_id)];
    let token = curl_token(&g.token_endpoint(&g.https()), &auth, with_client());
    let tacker = g.tacker(conf, Some(&g.pki.client), true).await;
    assert_vims_200(
        curl_get(&tacker.url("/v1.0/vims"), &token, with_client()),
        "tls_client_auth",
    );

    assert_handshake_refused(
        curl_get(
            &tacker.url("/v1.0/vims"),
            &token,
            CurlTls {
                cacert: Some(&g.pki.ca.cert),
                cert: None,
            },
        ),
        "no client certificate",
    );
    match curl_get(
        &tacker.url("/v1.0/vims"),
        &token,
        CurlTls {
            cacert: Some(&g.pki.ca.cert),
            cert: Some(&g.pki.other_client),
        },
    ) {
        Answer::Http(401, _) => {}
        other => panic!("another client's certificate: expected 401, got {other:?}"),
    }
}
