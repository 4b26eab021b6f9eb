//! A real SIGHUP sent to this test process reloads the listener's certificates. Kept alone in
//! its own test binary: the listener's tokio handler (installed by `Listener::bind`, before
//! the signal is sent) makes SIGHUP harmless to the process.
#![cfg(unix)]

mod tls_support;

use tacker_server::listener::ListenerConfig;
use tls_support::*;

#[tokio::test]
async fn sighup_reloads_certificates_open_connection_keeps_working() {
    let ca = Ca::new("tacker test CA");
    let old_server = ca.server("tacker-old.host");
    let new_server = ca.server("tacker-new.host");
    let client = ca.client("tacker_service");
    let files = ServerFiles::write(&old_server, Some(&ca));
    let (p, _ctl) = probe();
    let srv = start(
        ListenerConfig {
            tls: Some(files.tls_files(true)),
            ..ListenerConfig::plain(loopback0())
        },
        probe_app(p),
    )
    .await;
    let cfg = client_config(&ca.pem, Some(&client), BOTH_VERSIONS, &[b"http/1.1"]);

    let mut open = bounded("connect", tls_connect(srv.addr, cfg.clone()))
        .await
        .unwrap();
    assert_eq!(server_cert_of(&open), old_server.der);

    files.replace(&new_server, Some(&ca));
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());

    // The reload runs on the listener's signal task: poll new connections until they see the
    // new certificate.
    bounded("new certificate served", async {
        loop {
            let s = tls_connect(srv.addr, cfg.clone()).await.unwrap();
            if server_cert_of(&s) == new_server.der {
                break;
            }
            assert_eq!(server_cert_of(&s), old_server.der);
            tokio::task::yield_now().await;
        }
    })
    .await;

    let (status, body) = bounded("open connection", http1_get(&mut open, "/peer", &[]))
        .await
        .unwrap();
    assert_eq!((status, body), (200, client.der.clone()));
    srv.stop().await.unwrap();
}
