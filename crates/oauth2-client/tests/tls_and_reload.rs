//! Client identity files and the SIGHUP reload of the `private_key_jwt` key.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tacker_common::config::Section;
use tacker_oauth2_client::{build_http_client, ClientAuthenticator, ClientOptions, SystemClock};

fn opts(pairs: &[(&str, &str)]) -> ClientOptions {
    let mut s = Section::new("ext_oauth2_auth");
    for (k, v) in pairs {
        s.set(*k, *v, "tacker.conf");
    }
    ClientOptions::from_section(&s).unwrap()
}

#[test]
fn client_identity_from_separate_or_combined_pem_and_cafile() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["client".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    let combined = dir.path().join("combined.pem");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    std::fs::write(&combined, format!("{}{}", cert.pem(), key.serialize_pem())).unwrap();
    let p = |p: &std::path::Path| p.to_str().unwrap().to_owned();

    build_http_client(&opts(&[
        ("certfile", &p(&cert_path)),
        ("keyfile", &p(&key_path)),
    ]))
    .unwrap();
    build_http_client(&opts(&[("certfile", &p(&combined))])).unwrap();
    build_http_client(&opts(&[("cafile", &p(&cert_path))])).unwrap();
    // A certificate without its key is refused at start-up, naming the option.
    let err = build_http_client(&opts(&[("certfile", &p(&cert_path))])).unwrap_err();
    assert!(
        err.to_string().starts_with("[ext_oauth2_auth] certfile = "),
        "{err}"
    );
    let err = build_http_client(&opts(&[("cafile", &p(&key_path))])).unwrap_err();
    assert!(
        err.to_string().starts_with("[ext_oauth2_auth] cafile = "),
        "{err}"
    );
}

fn rsa_key() -> String {
    // Reuse the auth crate's test key (the only RSA key in the repository's fixtures).
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../auth/tests/fixtures/rsa_private_key.pem"
    ))
    .unwrap()
}

#[tokio::test]
async fn sighup_reloads_the_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("jwt.pem");
    let auth = ClientAuthenticator::new(
        &opts(&[
            ("auth_method", "private_key_jwt"),
            ("client_id", "c"),
            ("jwt_key_file", key_path.to_str().unwrap()),
            ("jwt_algorithm", "RS256"),
            ("audience", "https://as"),
        ]),
        Arc::new(SystemClock),
    )
    .unwrap();
    // No key at start-up: every assertion fails, and writing the file changes nothing...
    assert!(auth.form(&[]).is_err());
    std::fs::write(&key_path, rsa_key()).unwrap();
    assert!(auth.form(&[]).is_err());
    // ...until SIGHUP.
    let task = auth.spawn_reload_on_sighup().expect("listener");
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while auth.form(&[]).is_err() {
        assert!(Instant::now() < deadline, "key not reloaded after SIGHUP");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.abort();
}
