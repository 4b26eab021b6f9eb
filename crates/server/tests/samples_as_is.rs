//! Issue 10: every `etc/samples/*.conf` runs as is. From the repository root, after
//! `scripts/make-test-pki`, `tacker-server --config-file etc/samples/<method>.conf` starts and
//! answers `GET /` with 200 on the listener the sample configures (HTTP, HTTPS, or HTTPS
//! requiring the test client certificate): its paste file (looked up next to the config file),
//! SQLite database and Fernet key directory (relative to the working directory) and every
//! certificate and key path resolve from the repository. No authorization server is needed to
//! start.
//!
//! Only the listen address is layered on top, as a second `--config-file` (oslo.config's later
//! file wins option by option), so that the test binds a free loopback port instead of the
//! samples' 0.0.0.0:9890.
//!
//! Needs `openssl` (scripts/make-test-pki writes var/pki/ of the repository, git-ignored).

use std::path::Path;
use std::process::Command;

use tacker_test_support::{
    free_port, ini_get, repo_root, wait_ready_http, ChildGuard, DEFAULT_DEADLINE,
};

const SAMPLES: [&str; 5] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "client_secret_jwt",
    "tls_client_auth",
];

fn make_test_pki(root: &Path) {
    let out = Command::new("bash")
        .arg(root.join("scripts/make-test-pki"))
        .output()
        .expect("run scripts/make-test-pki");
    assert!(
        out.status.success(),
        "scripts/make-test-pki: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_true(v: Option<String>) -> bool {
    v.is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on"))
}

/// A client for the sample's listener: the test CA as the only root, and the test client
/// certificate when the sample requires one (`ssl_ca_file`).
fn client_for(root: &Path, conf: &str) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .redirect(reqwest::redirect::Policy::none());
    if is_true(ini_get(conf, "DEFAULT", "use_ssl")) {
        let ca = std::fs::read(root.join("var/pki/ca.pem")).expect("var/pki/ca.pem");
        builder = builder.add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap());
        if ini_get(conf, "DEFAULT", "ssl_ca_file").is_some() {
            let mut pem = std::fs::read(root.join("var/pki/tacker_client.pem")).unwrap();
            pem.extend(std::fs::read(root.join("var/pki/tacker_client.key")).unwrap());
            builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
        }
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn every_sample_starts_as_is_from_the_repository_root() {
    let root = repo_root();
    make_test_pki(&root);

    // One after the other: the samples share the repository's var/tacker.db.
    for method in SAMPLES {
        let sample = format!("etc/samples/{method}.conf");
        let conf = std::fs::read_to_string(root.join(&sample)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let listen = dir.path().join("listen.conf");
        std::fs::write(
            &listen,
            format!("[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\n"),
        )
        .unwrap();

        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tacker-server"));
        cmd.current_dir(&root)
            .arg("--config-file")
            .arg(&sample)
            .arg("--config-file")
            .arg(&listen)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1");
        let mut server = ChildGuard::spawn(method, cmd, &dir.path().join("server.log")).unwrap();

        let scheme = if is_true(ini_get(&conf, "DEFAULT", "use_ssl")) {
            "https"
        } else {
            "http"
        };
        let url = format!("{scheme}://127.0.0.1:{port}/");
        let client = client_for(&root, &conf);
        wait_ready_http(&mut server, &client, &url, DEFAULT_DEADLINE)
            .await
            .unwrap_or_else(|e| panic!("{sample}: {e}"));
        let status = client.get(&url).send().await.unwrap().status();
        assert_eq!(status, 200, "{sample}: GET {url}; log:\n{}", server.log());

        server.stop();
    }

    // The relative database and key directory landed in the repository's (git-ignored) var/.
    assert!(root.join("var/tacker.db").is_file());
    assert!(root.join("var/fernet_keys").is_dir());
}
