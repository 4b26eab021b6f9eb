//! Tier 3: the `tacker-server` binary's listener, driven through `tacker.conf` like an
//! operator would: HTTPS with required client certificates, certificate replacement on disk +
//! a real SIGHUP to the process, and SIGTERM.

mod tls_support;

use std::path::PathBuf;

use tacker_test_support::{CertFiles, TackerOptions, TackerServer, TestPki};
use tls_support::*;

fn leaf(c: &CertFiles) -> Leaf {
    Leaf {
        cert_pem: c.cert_pem.clone(),
        key_pem: c.key_pem.clone(),
        der: c.der.clone(),
    }
}

fn binary() -> Option<PathBuf> {
    Some(PathBuf::from(env!("CARGO_BIN_EXE_tacker-server")))
}

fn paste() -> Option<PathBuf> {
    Some(tacker_test_support::repo_root().join("etc/api-paste.ini"))
}

#[tokio::test]
async fn binary_mtls_listener_reloads_certificates_on_sighup() {
    let pki = TestPki::new().unwrap();
    // The server's files live in their own directory so the test can replace them.
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("tacker_server.pem");
    let key = dir.path().join("tacker_server.key");
    write_file(&cert, &pki.server.cert_pem);
    write_file(&key, &pki.server.key_pem);
    let conf = format!(
        "[DEFAULT]\nauth_strategy = noauth\nuse_ssl = True\nssl_cert_file = {}\n\
         ssl_key_file = {}\nssl_ca_file = {}\n",
        cert.display(),
        key.display(),
        pki.ca.cert.display()
    );
    let tacker = TackerServer::start_with(TackerOptions {
        conf,
        paste_path: paste(),
        binary: binary(),
        ready_client: Some(pki.https_client(Some(&pki.client))),
        ..TackerOptions::default()
    })
    .await
    .unwrap();
    assert!(tacker.base_url().starts_with("https://"));
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", tacker.port()).parse().unwrap();

    // Client certificate required; one from the look-alike CA is refused.
    let ca_pem = &pki.ca.cert_pem;
    let with = |c: &CertFiles| client_config(ca_pem, Some(&leaf(c)), BOTH_VERSIONS, &[b"http/1.1"]);
    let (status, body) = bounded("with cert", try_tls_get(addr, with(&pki.client), "/"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains("\"href\": \"https://"), "{body}");
    let none = client_config(ca_pem, None, BOTH_VERSIONS, &[b"http/1.1"]);
    assert!(bounded("no cert", try_tls_get(addr, none, "/"))
        .await
        .is_err());
    assert!(bounded(
        "untrusted",
        try_tls_get(addr, with(&pki.untrusted_client), "/")
    )
    .await
    .is_err());
    assert!(
        tacker.log().contains("TLS certificate loaded"),
        "{}",
        tacker.log()
    );

    // A keep-alive connection from before the renewal.
    let mut open = bounded("connect", tls_connect(addr, with(&pki.client)))
        .await
        .unwrap();
    assert_eq!(server_cert_of(&open), pki.server.der);

    let renewed = pki
        .issue_server(
            "server_renewed",
            "tacker-renewed",
            &["127.0.0.1", "localhost"],
        )
        .unwrap();
    write_file(&cert, &renewed.cert_pem);
    write_file(&key, &renewed.key_pem);
    tacker.signal("HUP").unwrap();

    bounded("renewed certificate served", async {
        loop {
            let s = tls_connect(addr, with(&pki.client)).await.unwrap();
            if server_cert_of(&s) == renewed.der {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    let log = tacker.log();
    assert!(log.contains("TLS certificate reloaded"), "{log}");
    assert!(log.contains("CN=tacker-renewed"), "{log}");

    let (status, _) = bounded("open connection", http1_get(&mut open, "/", &[]))
        .await
        .unwrap();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn binary_exits_cleanly_on_sigterm() {
    let mut tacker = TackerServer::start_with(TackerOptions {
        conf: "[DEFAULT]\nauth_strategy = noauth\n".into(),
        paste_path: paste(),
        binary: binary(),
        ..TackerOptions::default()
    })
    .await
    .unwrap();
    tacker.signal("TERM").unwrap();
    let status = bounded("exit after SIGTERM", async {
        loop {
            if let Some(status) = tacker.exit_status() {
                break status;
            }
            // Polling interval, not a readiness sleep: the loop is bounded by `bounded`.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(status.success(), "{status}: {}", tacker.log());
}
