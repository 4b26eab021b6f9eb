//! The listener half of the operator guide's five sample configurations (`etc/samples/*.conf`):
//! each file, with its listener files pointed at a test PKI, is read as oslo.config reads `tacker.conf`,
//! turned into the listener configuration and served; the listener must then be plain HTTP,
//! HTTPS, or HTTPS with required client certificates exactly as the guide says.
//! (The token round trips against the real authorization server are in `tls_guide_samples.rs`.)

mod tls_support;

use std::path::{Path, PathBuf};

use tacker_common::ini::IniDocument;
use tacker_test_support::{rewrite_ini, IniEdit};
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

/// The sample with its listener files pointed at this test's PKI.
fn render(name: &str, ca: &Path, cert: &Path, key: &Path) -> String {
    let path = samples_dir().join(format!("{name}.conf"));
    let text = std::fs::read_to_string(&path).unwrap();
    let p = |p: &Path| IniEdit::Set(p.display().to_string());
    rewrite_ini(&text, |section, option, _| match (section, option) {
        ("DEFAULT", "ssl_ca_file") => p(ca),
        ("DEFAULT", "ssl_cert_file") => p(cert),
        ("DEFAULT", "ssl_key_file") => p(key),
        _ => IniEdit::Keep,
    })
}

#[tokio::test]
async fn guide_samples_listener_modes() {
    let ca = Ca::new("tacker test CA");
    let server = ca.server("tacker.host");
    let files = ServerFiles::write(&server, Some(&ca));
    let client = ca.client("tacker_client");
    let stranger = Ca::new("tacker test CA").client("tacker_client");
    for (name, mode) in SAMPLES {
        let text = render(name, &files.ca, &files.cert, &files.key);
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
