//! The listener half of the operator guide's five sample configurations (`etc/samples/*.conf`):
//! each file, with test PKI paths substituted, is read as oslo.config reads `tacker.conf`,
//! turned into the listener configuration and served; the listener must then be plain HTTP,
//! HTTPS, or HTTPS with required client certificates exactly as the guide says.
//! (The token round trips against the real authorization server are in `tls_guide_samples.rs`.)

mod tls_support;

use std::path::PathBuf;

use tacker_common::ini::IniDocument;
use tls_support::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Http,
    Https,
    Mtls,
}

const SAMPLES: &[(&str, Mode)] = &[
    ("client_secret_basic", Mode::Mtls),
    ("client_secret_post", Mode::Https),
    ("private_key_jwt", Mode::Http),
    ("client_secret_jwt", Mode::Http),
    ("tls_client_auth", Mode::Mtls),
];

fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../etc/samples")
}

/// The sample with every placeholder replaced; panics on one left over.
fn render(name: &str, subst: &[(&str, String)]) -> String {
    let path = samples_dir().join(format!("{name}.conf"));
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (k, v) in subst {
        text = text.replace(k, v);
    }
    // Placeholders inside comments are documentation; only option lines must be complete.
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        assert!(
            !line.contains('@'),
            "{name}: unreplaced placeholder in {line:?}"
        );
    }
    text
}

#[tokio::test]
async fn guide_samples_listener_modes() {
    let ca = Ca::new("tacker test CA");
    let server = ca.server("tacker.host");
    let files = ServerFiles::write(&server, Some(&ca));
    let client = ca.client("tacker_client");
    let stranger = Ca::new("tacker test CA").client("tacker_client");
    let jwt_key = files.dir.path().join("private_jwt.key");
    write_file(&jwt_key, &server.key_pem);
    let p = |p: &std::path::Path| p.display().to_string();
    let subst = [
        ("@CA_FILE@", p(&files.ca)),
        ("@SERVER_CERT_FILE@", p(&files.cert)),
        ("@SERVER_KEY_FILE@", p(&files.key)),
        ("@CLIENT_CERT_FILE@", p(&files.cert)),
        ("@CLIENT_KEY_FILE@", p(&files.key)),
        ("@JWT_KEY_FILE@", p(&jwt_key)),
        ("@AUTHZ_HTTPS@", "https://127.0.0.1:8443".to_string()),
        ("@AUTHZ_HTTP@", "http://127.0.0.1:8080".to_string()),
        ("@CLIENT_ID@", "tacker_service".to_string()),
        (
            "@CLIENT_SECRET@",
            "sPocbjFjQCmrPPAXY9IUOVNJ9Cw3rDw5".to_string(),
        ),
    ];

    for (name, mode) in SAMPLES {
        let text = render(name, &subst);
        let doc = IniDocument::parse_oslo(&text, &format!("{name}.conf")).unwrap();
        let mut default = doc.section("DEFAULT").unwrap().clone();
        default.set("bind_host", "127.0.0.1", "test");
        default.set("bind_port", "0", "test");
        let cfg = listener_config(&default).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (pr, _ctl) = probe();
        let srv = start(cfg, probe_app(pr)).await;

        match mode {
            Mode::Http => {
                let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
                let (status, body) = bounded(name, http1_get(&mut s, "/scheme", &[]))
                    .await
                    .unwrap();
                assert_eq!((status, body.as_slice()), (200, &b"http"[..]), "{name}");
            }
            Mode::Https => {
                let cfg = client_config(&ca.pem, None, BOTH_VERSIONS, &[b"http/1.1"]);
                let (status, body) = bounded(name, try_tls_get(srv.addr, cfg, "/scheme"))
                    .await
                    .unwrap();
                assert_eq!((status, body.as_slice()), (200, &b"https"[..]), "{name}");
            }
            Mode::Mtls => {
                let none = client_config(&ca.pem, None, BOTH_VERSIONS, &[b"http/1.1"]);
                assert!(
                    bounded(name, try_tls_get(srv.addr, none, "/"))
                        .await
                        .is_err(),
                    "{name}: served without a client certificate"
                );
                let forged = client_config(&ca.pem, Some(&stranger), BOTH_VERSIONS, &[b"http/1.1"]);
                assert!(
                    bounded(name, try_tls_get(srv.addr, forged, "/"))
                        .await
                        .is_err(),
                    "{name}: served an untrusted client certificate"
                );
                let good = client_config(&ca.pem, Some(&client), BOTH_VERSIONS, &[b"http/1.1"]);
                let (status, body) = bounded(name, try_tls_get(srv.addr, good, "/peer"))
                    .await
                    .unwrap();
                assert_eq!((status, body), (200, client.der.clone()), "{name}");
            }
        }
        srv.stop().await.unwrap();
    }
}
