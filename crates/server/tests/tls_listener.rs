//! The listener end to end in-process: a real TCP socket on loopback, real TLS clients.
//! Issue 4: plain HTTP / HTTPS / required client certificates, the peer certificate attached
//! to requests (never from a header), reload, IPv6, graceful shutdown.

mod tls_support;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use tacker_common::config::Section;
use tacker_server::listener::{ForwardedClientCert, ListenerConfig, ListenerError, TlsFiles};
use tls_support::*;

fn https_cfg(files: &ServerFiles, mtls: bool) -> ListenerConfig {
    ListenerConfig {
        tls: Some(files.tls_files(mtls)),
        ..ListenerConfig::plain(loopback0())
    }
}

// ---------------------------------------------------------------------------------------
// Plain HTTP, HTTPS, protocols

#[tokio::test]
async fn plain_http_serves_the_router_without_peer_certificate() {
    let (p, _ctl) = probe();
    let srv = start(ListenerConfig::plain(loopback0()), probe_app(p)).await;
    let client = reqwest::Client::builder().timeout(STEP).build().unwrap();
    let base = format!("http://{}", srv.addr);

    let r = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ok");
    let r = client.get(format!("{base}/scheme")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "http");
    let r = client.get(format!("{base}/peer")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn https_serves_h2_and_http11_by_alpn() {
    let ca = Ca::new("tacker test CA");
    let files = ServerFiles::write(&ca.server("tacker.host"), None);
    let (p, _ctl) = probe();
    let srv = start(https_cfg(&files, false), probe_app(p)).await;

    // reqwest offers h2 first: the listener's ALPN picks it.
    let client = reqwest_client(&ca.pem, None);
    let r = client
        .get(format!("https://{}/scheme", srv.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.text().await.unwrap(), "https");

    // A client offering only http/1.1 gets HTTP/1.1.
    let cfg = client_config(&ca.pem, None, BOTH_VERSIONS, &[b"http/1.1"]);
    let mut s = bounded("connect", tls_connect(srv.addr, cfg))
        .await
        .unwrap();
    assert_eq!(s.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let (status, body) = bounded("get", http1_get(&mut s, "/", &[])).await.unwrap();
    assert_eq!((status, body.as_slice()), (200, &b"ok"[..]));

    // No client certificate is asked for without ssl_ca_file.
    let (status, _) = bounded("get", http1_get(&mut s, "/peer", &[]))
        .await
        .unwrap();
    assert_eq!(status, 404);
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn tls12_and_tls13_accepted_with_modern_suites() {
    let ca = Ca::new("tacker test CA");
    let files = ServerFiles::write(&ca.server("tacker.host"), None);
    let (p, _ctl) = probe();
    let srv = start(https_cfg(&files, false), probe_app(p)).await;

    for (version, expected) in [
        (&rustls::version::TLS12, rustls::ProtocolVersion::TLSv1_2),
        (&rustls::version::TLS13, rustls::ProtocolVersion::TLSv1_3),
    ] {
        let cfg = client_config(&ca.pem, None, &[version], &[b"http/1.1"]);
        let mut s = bounded("connect", tls_connect(srv.addr, cfg))
            .await
            .unwrap();
        let conn = s.get_ref().1;
        assert_eq!(conn.protocol_version(), Some(expected));
        let suite = conn.negotiated_cipher_suite().unwrap().suite();
        assert!(
            rustls::crypto::aws_lc_rs::DEFAULT_CIPHER_SUITES
                .iter()
                .any(|s| s.suite() == suite),
            "{suite:?}"
        );
        let (status, _) = bounded("get", http1_get(&mut s, "/", &[])).await.unwrap();
        assert_eq!(status, 200);
    }
    srv.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------
// Required client certificates

#[tokio::test]
async fn mtls_without_client_certificate_handshake_refused() {
    let ca = Ca::new("tacker test CA");
    let files = ServerFiles::write(&ca.server("tacker.host"), Some(&ca));
    let (p, _ctl) = probe();
    let srv = start(https_cfg(&files, true), probe_app(p)).await;

    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let cfg = client_config(&ca.pem, None, &[version], &[b"http/1.1"]);
        // TLS 1.2 fails inside the handshake; TLS 1.3 clients finish first and read the
        // server's alert: either way no request is served.
        let err = bounded("request", try_tls_get(srv.addr, cfg, "/"))
            .await
            .expect_err("served without a client certificate");
        assert!(
            matches!(rustls_error(&err), Some(rustls::Error::AlertReceived(_))),
            "{version:?}: {err}"
        );
    }

    let client = reqwest_client(&ca.pem, None);
    assert!(client
        .get(format!("https://{}/", srv.addr))
        .send()
        .await
        .is_err());
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn mtls_client_cert_from_untrusted_ca_with_same_subject_refused() {
    let trusted = Ca::new("tacker test CA");
    // Same subject DN as the trusted CA, different key; its client certificate has the same
    // subject as the legitimate one.
    let impostor = Ca::new("tacker test CA");
    let files = ServerFiles::write(&trusted.server("tacker.host"), Some(&trusted));
    let (p, _ctl) = probe();
    let srv = start(https_cfg(&files, true), probe_app(p)).await;

    let good = trusted.client("tacker_service");
    let forged = impostor.client("tacker_service");
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let cfg = client_config(&trusted.pem, Some(&forged), &[version], &[b"http/1.1"]);
        let err = bounded("request", try_tls_get(srv.addr, cfg, "/"))
            .await
            .expect_err("served with an untrusted client certificate");
        assert!(
            matches!(rustls_error(&err), Some(rustls::Error::AlertReceived(_))),
            "{version:?}: {err}"
        );

        let cfg = client_config(&trusted.pem, Some(&good), &[version], &[b"http/1.1"]);
        let (status, body) = bounded("request", try_tls_get(srv.addr, cfg, "/peer"))
            .await
            .unwrap();
        assert_eq!(status, 200);
        assert_eq!(body, good.der);
    }
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn mtls_handler_sees_peer_certificate_der_over_h1_and_h2() {
    let ca = Ca::new("tacker test CA");
    let files = ServerFiles::write(&ca.server("tacker.host"), Some(&ca));
    let (p, _ctl) = probe();
    let srv = start(https_cfg(&files, true), probe_app(p)).await;
    let alice = ca.client("alice");
    let bob = ca.client("bob");

    let client = reqwest_client(&ca.pem, Some(&alice));
    let r = client
        .get(format!("https://{}/peer", srv.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), alice.der.as_slice());

    // Two connections, two certificates: each request carries its own connection's.
    let mut a = tls_connect(
        srv.addr,
        client_config(&ca.pem, Some(&alice), BOTH_VERSIONS, &[b"http/1.1"]),
    )
    .await
    .unwrap();
    let mut b = tls_connect(
        srv.addr,
        client_config(&ca.pem, Some(&bob), BOTH_VERSIONS, &[b"http/1.1"]),
    )
    .await
    .unwrap();
    for _ in 0..2 {
        let (_, body) = bounded("a", http1_get(&mut a, "/peer", &[])).await.unwrap();
        assert_eq!(body, alice.der);
        let (_, body) = bounded("b", http1_get(&mut b, "/peer", &[])).await.unwrap();
        assert_eq!(body, bob.der);
    }
    srv.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------
// Certificates in headers

/// Header names front ends commonly use for a forwarded client certificate.
const CERT_HEADERS: &[&str] = &[
    "X-SSL-Client-Cert",
    "SSL-Client-Cert",
    "SSL_CLIENT_CERT",
    "X-Client-Cert",
    "X-Forwarded-Client-Cert",
];

#[tokio::test]
async fn client_supplied_certificate_header_is_never_taken() {
    let ca = Ca::new("tacker test CA");
    let mallory = ca.client("mallory");
    let header_value = mallory.cert_pem.replace('\n', " ");
    let headers: Vec<(&str, &str)> = CERT_HEADERS
        .iter()
        .map(|h| (*h, header_value.as_str()))
        .collect();

    // Plain HTTP: a header never turns into a peer certificate.
    let (p, _ctl) = probe();
    let srv = start(ListenerConfig::plain(loopback0()), probe_app(p)).await;
    let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let (status, _) = bounded("get", http1_get(&mut s, "/peer", &headers))
        .await
        .unwrap();
    assert_eq!(status, 404);
    srv.stop().await.unwrap();

    // mTLS: the connection's certificate wins over any header.
    let files = ServerFiles::write(&ca.server("tacker.host"), Some(&ca));
    let alice = ca.client("alice");
    let (p, _ctl) = probe();
    let srv = start(https_cfg(&files, true), probe_app(p)).await;
    let mut s = tls_connect(
        srv.addr,
        client_config(&ca.pem, Some(&alice), BOTH_VERSIONS, &[b"http/1.1"]),
    )
    .await
    .unwrap();
    let (status, body) = bounded("get", http1_get(&mut s, "/peer", &headers))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(body, alice.der);
    srv.stop().await.unwrap();
}

fn forwarding(trusted: &str) -> ForwardedClientCert {
    ForwardedClientCert::new(
        http::HeaderName::from_static("x-ssl-client-cert"),
        vec![trusted.parse().unwrap()],
    )
}

#[tokio::test]
async fn forwarded_certificate_header_only_from_trusted_proxy() {
    let ca = Ca::new("tacker test CA");
    let client = ca.client("tacker_service");
    let header_value = client.cert_pem.replace('\n', " ");
    let hdr = [("X-SSL-Client-Cert", header_value.as_str())];

    // The front end at 127.0.0.1 is trusted: its header is the client's certificate, and the
    // header itself does not reach the app.
    let (p, _ctl) = probe();
    let srv = start(
        ListenerConfig {
            forwarded_client_cert: Some(forwarding("127.0.0.1")),
            ..ListenerConfig::plain(loopback0())
        },
        probe_app(p),
    )
    .await;
    let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let (status, body) = bounded("get", http1_get(&mut s, "/peer", &hdr))
        .await
        .unwrap();
    assert_eq!((status, body), (200, client.der.clone()));
    let (status, _) = bounded("get", http1_get(&mut s, "/header/x-ssl-client-cert", &hdr))
        .await
        .unwrap();
    assert_eq!(status, 404);
    // Without the header: no certificate (the front end saw none).
    let (status, _) = bounded("get", http1_get(&mut s, "/peer", &[]))
        .await
        .unwrap();
    assert_eq!(status, 404);
    srv.stop().await.unwrap();

    // Only 10.9.9.9 is trusted: the same header from 127.0.0.1 is dropped and stripped.
    let (p, _ctl) = probe();
    let srv = start(
        ListenerConfig {
            forwarded_client_cert: Some(forwarding("10.9.9.9")),
            ..ListenerConfig::plain(loopback0())
        },
        probe_app(p),
    )
    .await;
    let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let (status, _) = bounded("get", http1_get(&mut s, "/peer", &hdr))
        .await
        .unwrap();
    assert_eq!(status, 404);
    let (status, _) = bounded("get", http1_get(&mut s, "/header/x-ssl-client-cert", &hdr))
        .await
        .unwrap();
    assert_eq!(status, 404);
    srv.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------
// Reload

#[tokio::test]
async fn reload_new_connections_see_new_certificate_open_connection_keeps_working() {
    let ca = Ca::new("tacker test CA");
    let old_server = ca.server("tacker-old.host");
    let new_server = ca.server("tacker-new.host");
    let client = ca.client("tacker_service");
    let files = ServerFiles::write(&old_server, Some(&ca));
    let (p, _ctl) = probe();
    let srv = start(https_cfg(&files, true), probe_app(p)).await;
    let cfg = client_config(&ca.pem, Some(&client), BOTH_VERSIONS, &[b"http/1.1"]);

    let mut open = bounded("connect", tls_connect(srv.addr, cfg.clone()))
        .await
        .unwrap();
    assert_eq!(server_cert_of(&open), old_server.der);
    let (status, _) = bounded("get", http1_get(&mut open, "/", &[]))
        .await
        .unwrap();
    assert_eq!(status, 200);

    files.replace(&new_server, Some(&ca));
    let loaded = srv.reload.as_ref().unwrap().reload().unwrap();
    assert_eq!(loaded.der, new_server.der);
    assert!(
        loaded.subject.contains("CN=tacker-new.host"),
        "{}",
        loaded.subject
    );
    assert!(!loaded.not_after.is_empty());

    let mut fresh = bounded("connect", tls_connect(srv.addr, cfg.clone()))
        .await
        .unwrap();
    assert_eq!(server_cert_of(&fresh), new_server.der);
    let (status, body) = bounded("get", http1_get(&mut fresh, "/peer", &[]))
        .await
        .unwrap();
    assert_eq!((status, body), (200, client.der.clone()));

    // The keep-alive connection from before the reload still serves requests.
    let (status, body) = bounded("get", http1_get(&mut open, "/peer", &[]))
        .await
        .unwrap();
    assert_eq!((status, body), (200, client.der.clone()));
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn reload_of_client_ca_applies_to_new_handshakes_only() {
    let old_ca = Ca::new("tacker old CA");
    let new_ca = Ca::new("tacker new CA");
    let server = old_ca.server("tacker.host");
    let old_client = old_ca.client("tacker_service");
    let new_client = new_ca.client("tacker_service");
    let files = ServerFiles::write(&server, Some(&old_ca));
    let (p, _ctl) = probe();
    let srv = start(https_cfg(&files, true), probe_app(p)).await;

    let old_cfg = client_config(
        &old_ca.pem,
        Some(&old_client),
        BOTH_VERSIONS,
        &[b"http/1.1"],
    );
    let new_cfg = client_config(
        &old_ca.pem,
        Some(&new_client),
        BOTH_VERSIONS,
        &[b"http/1.1"],
    );
    let mut open = bounded("connect", tls_connect(srv.addr, old_cfg.clone()))
        .await
        .unwrap();
    assert!(bounded("new", try_tls_get(srv.addr, new_cfg.clone(), "/"))
        .await
        .is_err());

    // Rotate the client CA (the server certificate stays).
    write_file(&files.ca, &new_ca.pem);
    srv.reload.as_ref().unwrap().reload().unwrap();

    let (status, _) = bounded("new", try_tls_get(srv.addr, new_cfg, "/"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(bounded("old", try_tls_get(srv.addr, old_cfg, "/"))
        .await
        .is_err());
    let (status, body) = bounded("open", http1_get(&mut open, "/peer", &[]))
        .await
        .unwrap();
    assert_eq!((status, body), (200, old_client.der.clone()));
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn reload_with_bad_files_keeps_previous_certificates() {
    let ca = Ca::new("tacker test CA");
    let server = ca.server("tacker.host");
    let other = ca.server("other.host");
    let files = ServerFiles::write(&server, None);
    let (p, _ctl) = probe();
    let srv = start(https_cfg(&files, false), probe_app(p)).await;
    let cfg = client_config(&ca.pem, None, BOTH_VERSIONS, &[b"http/1.1"]);
    let reload = srv.reload.clone().unwrap();

    write_file(&files.cert, "not a certificate");
    let err = reload.reload().unwrap_err();
    assert!(matches!(err, ListenerError::BadFile { .. }), "{err}");
    assert!(err.to_string().contains("ssl_cert_file"), "{err}");

    // A certificate with someone else's key is refused too.
    write_file(&files.cert, &other.cert_pem);
    assert!(matches!(
        reload.reload().unwrap_err(),
        ListenerError::Tls { .. }
    ));

    std::fs::remove_file(&files.key).unwrap();
    let err = reload.reload().unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Unable to find ssl_key_file : "),
        "{err}"
    );

    let s = bounded("connect", tls_connect(srv.addr, cfg))
        .await
        .unwrap();
    assert_eq!(server_cert_of(&s), server.der);
    srv.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------
// Addresses, shutdown

#[tokio::test]
async fn ipv6_loopback_bind() {
    let mut sec = Section::new("DEFAULT");
    sec.set("bind_host", "::1", "tacker.conf");
    sec.set("bind_port", "0", "tacker.conf");
    let cfg = listener_config(&sec).unwrap();
    let (p, _ctl) = probe();
    let srv = start(cfg, probe_app(p)).await;
    assert!(srv.addr.is_ipv6());
    let client = reqwest::Client::builder().timeout(STEP).build().unwrap();
    let r = client
        .get(format!("http://[::1]:{}/", srv.addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "ok");
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn ipv6_loopback_https_with_client_certificate() {
    let ca = Ca::new("tacker test CA");
    let files = ServerFiles::write(&ca.server("tacker.host"), Some(&ca));
    let client = ca.client("tacker_service");
    let (p, _ctl) = probe();
    let srv = start(
        ListenerConfig {
            tls: Some(files.tls_files(true)),
            ..ListenerConfig::plain("[::1]:0".parse().unwrap())
        },
        probe_app(p),
    )
    .await;
    let cfg = client_config(&ca.pem, Some(&client), BOTH_VERSIONS, &[b"http/1.1"]);
    let (status, body) = bounded("get", try_tls_get(srv.addr, cfg, "/peer"))
        .await
        .unwrap();
    assert_eq!((status, body), (200, client.der));
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_request() {
    let (p, mut ctl) = probe();
    let mut srv = start(ListenerConfig::plain(loopback0()), probe_app(p)).await;
    let addr = srv.addr;

    let in_flight = tokio::spawn(async move {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        http1_get(&mut s, "/slow", &[]).await
    });
    bounded("request reaches handler", ctl.entered.recv())
        .await
        .unwrap();

    srv.trigger_shutdown();
    // The listening socket closes: new connections are refused while the request runs.
    bounded("listener closes", async {
        while tokio::net::TcpStream::connect(addr).await.is_ok() {
            tokio::task::yield_now().await;
        }
    })
    .await;

    ctl.release.notify_one();
    let (status, body) = bounded("in-flight response", in_flight)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((status, body.as_slice()), (200, &b"done"[..]));
    srv.finished().await.unwrap();
}

#[tokio::test]
async fn graceful_shutdown_is_bounded_by_drain_timeout() {
    let (p, mut ctl) = probe();
    let mut srv = start(
        ListenerConfig {
            drain_timeout: Duration::from_millis(200),
            ..ListenerConfig::plain(loopback0())
        },
        probe_app(p),
    )
    .await;
    let addr = srv.addr;
    let stuck = tokio::spawn(async move {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        http1_get(&mut s, "/slow", &[]).await
    });
    bounded("request reaches handler", ctl.entered.recv())
        .await
        .unwrap();

    // The handler is never released: serve still returns, and the client sees the
    // connection closed without a response.
    srv.trigger_shutdown();
    srv.finished().await.unwrap();
    assert!(bounded("client", stuck).await.unwrap().is_err());
}

#[tokio::test]
async fn http1_response_header_names_are_title_cased() {
    let (p, _ctl) = probe();
    let srv = start(ListenerConfig::plain(loopback0()), probe_app(p)).await;
    let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    bounded("response", s.read_to_end(&mut raw)).await.unwrap();
    let head = String::from_utf8_lossy(&raw);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("\r\nContent-Type: text/plain"), "{head}");
    assert!(head.contains("\r\nContent-Length: 2\r\n"), "{head}");
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn unfinished_http1_request_head_is_dropped_after_the_header_read_timeout() {
    let (p, _ctl) = probe();
    let srv = start(
        ListenerConfig {
            header_read_timeout: Duration::from_millis(200),
            ..ListenerConfig::plain(loopback0())
        },
        probe_app(p),
    )
    .await;
    let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    // hyper answers 408 or just closes; either way the connection ends without the app.
    let mut raw = Vec::new();
    bounded("server closes the connection", s.read_to_end(&mut raw))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(!text.contains("200 OK"), "{text}");
    srv.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------
// Start-up checks on real files

fn ssl_section(pairs: &[(&str, &str)]) -> Section {
    let mut sec = Section::new("DEFAULT");
    sec.set("use_ssl", "True", "/etc/tacker/tacker.conf");
    for (k, v) in pairs {
        sec.set(*k, *v, "/etc/tacker/tacker.conf");
    }
    sec
}

#[tokio::test]
async fn startup_refuses_missing_key_and_ca_files_with_tackers_messages() {
    let ca = Ca::new("tacker test CA");
    let files = ServerFiles::write(&ca.server("tacker.host"), Some(&ca));
    let cert = files.cert.to_str().unwrap();
    let missing = files.dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();

    let err = listener_config(&ssl_section(&[
        ("ssl_cert_file", cert),
        ("ssl_key_file", missing),
    ]))
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        format!(
            "Unable to find ssl_key_file : {missing} \
             (/etc/tacker/tacker.conf [DEFAULT] ssl_key_file = \"{missing}\")"
        )
    );

    let err = listener_config(&ssl_section(&[
        ("ssl_cert_file", cert),
        ("ssl_key_file", files.key.to_str().unwrap()),
        ("ssl_ca_file", missing),
    ]))
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with(&format!("Unable to find ssl_ca_file : {missing} (")),
        "{err}"
    );
}

#[tokio::test]
async fn startup_refuses_unusable_files_naming_the_option() {
    let ca = Ca::new("tacker test CA");
    let files = ServerFiles::write(&ca.server("tacker.host"), Some(&ca));
    let junk = files.dir.path().join("junk.pem");
    write_file(&junk, "junk\n");
    let junk = junk.to_str().unwrap();
    let cert = files.cert.to_str().unwrap();
    let key = files.key.to_str().unwrap();

    for (pairs, option) in [
        (
            vec![("ssl_cert_file", junk), ("ssl_key_file", key)],
            "ssl_cert_file",
        ),
        (
            vec![("ssl_cert_file", cert), ("ssl_key_file", junk)],
            "ssl_key_file",
        ),
        (
            vec![
                ("ssl_cert_file", cert),
                ("ssl_key_file", key),
                ("ssl_ca_file", junk),
            ],
            "ssl_ca_file",
        ),
        // No ssl_key_file and no key inside the certificate file.
        (vec![("ssl_cert_file", cert)], "ssl_cert_file"),
    ] {
        let err = listener_config(&ssl_section(&pairs))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("/etc/tacker/tacker.conf [DEFAULT] {option} = ")),
            "{option}: {err}"
        );
    }
}

#[tokio::test]
async fn key_inside_cert_file_is_accepted() {
    let ca = Ca::new("tacker test CA");
    let server = ca.server("tacker.host");
    let dir = tempfile::tempdir().unwrap();
    let both = dir.path().join("tacker_server.pem");
    write_file(&both, &format!("{}{}", server.cert_pem, server.key_pem));

    let cfg = listener_config(&ssl_section(&[
        ("bind_host", "127.0.0.1"),
        ("bind_port", "0"),
        ("ssl_cert_file", both.to_str().unwrap()),
    ]))
    .unwrap();
    assert_eq!(
        cfg.tls,
        Some(TlsFiles {
            key_file: None,
            ..cfg.tls.clone().unwrap()
        })
    );
    let (p, _ctl) = probe();
    let srv = start(cfg, probe_app(p)).await;
    let s = bounded(
        "connect",
        tls_connect(
            srv.addr,
            client_config(&ca.pem, None, BOTH_VERSIONS, &[b"http/1.1"]),
        ),
    )
    .await
    .unwrap();
    assert_eq!(server_cert_of(&s), server.der);
    srv.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------
// What a reload logs

#[derive(Clone, Default)]
struct LogBuf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuf {
    type Writer = LogBuf;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn reload_logs_subject_and_not_after_or_the_error() {
    let ca = Ca::new("tacker test CA");
    let files = ServerFiles::write(&ca.server("tacker-old.host"), None);
    let (p, _ctl) = probe();
    let srv = start(https_cfg(&files, false), probe_app(p)).await;
    let reload = srv.reload.clone().unwrap();
    files.replace(&ca.server("tacker-new.host"), None);

    let logs = LogBuf::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let loaded = tracing::subscriber::with_default(subscriber, || reload.reload()).unwrap();
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("TLS certificate reloaded"), "{text}");
    assert!(text.contains("CN=tacker-new.host"), "{text}");
    assert!(
        text.contains(&format!("not_after={}", loaded.not_after)),
        "{text}"
    );

    write_file(&files.key, "garbage");
    let logs = LogBuf::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    assert!(tracing::subscriber::with_default(subscriber, || reload.reload()).is_err());
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("ERROR"), "{text}");
    assert!(text.contains("keeping the previous certificates"), "{text}");
    assert!(text.contains("ssl_key_file"), "{text}");
    srv.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------
// Handshake deadline

/// A TLS client that connects and says nothing, or stops inside its ClientHello, is closed by
/// `client_handshake_timeout`; a client that completes the handshake is still served.
#[tokio::test]
async fn silent_and_stalled_tls_handshakes_are_closed_by_the_handshake_deadline() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let ca = Ca::new("tacker test CA");
    let files = ServerFiles::write(&ca.server("tacker.host"), None);
    let mut cfg = https_cfg(&files, false);
    cfg.limits.handshake_timeout = Duration::from_secs(1);
    let (p, _ctl) = probe();
    let srv = start(cfg, probe_app(p)).await;

    let mut silent = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let mut stalled = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    // A TLS record header announcing a 512-byte handshake message, then nothing.
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .await
        .unwrap();
    for s in [&mut silent, &mut stalled] {
        let mut buf = [0u8; 64];
        let n = bounded("closed by the deadline", async {
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return 0,
                    // A TLS alert before the close is fine.
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert_eq!(n, 0);
    }

    let client = client_config(&ca.pem, None, BOTH_VERSIONS, &[b"http/1.1"]);
    let mut tls = bounded("handshake", tls_connect(srv.addr, client))
        .await
        .unwrap();
    let (status, body) = bounded("get", http1_get(&mut tls, "/", &[])).await.unwrap();
    assert_eq!((status, body.as_slice()), (200, &b"ok"[..]));
    srv.stop().await.unwrap();
}
