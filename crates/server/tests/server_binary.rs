//! Tier 3: the real `tacker-server` binary started with the shipped `etc/tacker.conf` (plus an
//! override file for a free port) on loopback, as the README tells a newcomer to run it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the server by pid when the test ends, also on failure.
struct ServerGuard(Child);

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn etc(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../etc")
        .join(name)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn sample_config_serves_root_and_vim_list() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let override_conf = dir.path().join("override.conf");
    // Debug logging on, and a secret in a section the server only passes on: the secret
    // must never reach the log.
    std::fs::write(
        &override_conf,
        format!(
            "[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\ndebug = True\n\
             [ext_oauth2_auth]\nclient_id = tacker_service\nclient_secret = {SECRET}\n"
        ),
    )
    .unwrap();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();

    // Run in the temporary directory: the sample's relative database and key directory land there.
    let child = Command::new(env!("CARGO_BIN_EXE_tacker-server"))
        .arg("--config-file")
        .arg(etc("tacker.conf"))
        .arg("--config-file")
        .arg(&override_conf)
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut guard = ServerGuard(child);

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let root = loop {
        if let Some(status) = guard.0.try_wait().unwrap() {
            panic!("tacker-server exited early: {status}");
        }
        match client.get(format!("{base}/")).send().await {
            Ok(r) => break r,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("server not ready before the deadline: {e}"),
        }
    };
    assert_eq!(root.status(), 200);
    assert!(root.headers().get("x-openstack-request-id").is_none());
    assert_eq!(
        root.text().await.unwrap(),
        format!(
            r#"{{"versions": [{{"id": "v1.0", "status": "CURRENT", "links": [{{"rel": "self", "href": "http://127.0.0.1:{port}/v1.0"}}]}}]}}"#
        )
    );

    let vims = client
        .get(format!("{base}/v1.0/vims"))
        .send()
        .await
        .unwrap();
    assert_eq!(vims.status(), 200);
    let rid = vims.headers()["x-openstack-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(rid.starts_with("req-"), "{rid}");
    assert_eq!(vims.text().await.unwrap(), r#"{"vims": []}"#);
    assert!(
        dir.path().join("tacker.db").exists(),
        "sqlite:///tacker.db is relative to the working directory"
    );

    drop(guard);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("configuration loaded"), "{log}");
    assert!(
        log.contains(&rid),
        "requests are logged with their id: {log}"
    );
    assert!(!log.contains(SECRET), "{log}");
}

const SECRET: &str = "sPocbjFjQCmrPPAXY9IUOVNJ9Cw3rDw5";

/// oslo.config substitution reaches the listener: `bind_host = $my_ip` is parsed once, with
/// the rest of `[DEFAULT]`, and the server listens on the substituted address.
#[tokio::test]
async fn bind_host_with_a_substitution_listens_there() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let override_conf = dir.path().join("override.conf");
    std::fs::write(
        &override_conf,
        format!("[DEFAULT]\nmy_ip = 127.0.0.1\nbind_host = $my_ip\nbind_port = {port}\n"),
    )
    .unwrap();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tacker-server"))
        .arg("--config-file")
        .arg(etc("tacker.conf"))
        .arg("--config-file")
        .arg(&override_conf)
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut guard = ServerGuard(child);

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let root = loop {
        if let Some(status) = guard.0.try_wait().unwrap() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("tacker-server exited early: {status}\n{log}");
        }
        match client.get(format!("http://127.0.0.1:{port}/")).send().await {
            Ok(r) => break r,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("server not ready before the deadline: {e}"),
        }
    };
    assert_eq!(root.status(), 200);
    drop(guard);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("listening") && l.contains(&format!("127.0.0.1:{port}"))),
        "listening on the substituted address: {log}"
    );
}

#[test]
fn bad_config_value_exits_with_a_message_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("bad.conf");
    std::fs::write(&conf, "[DEFAULT]\nauth_strategy = oauth2\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tacker-server"))
        .arg("--config-file")
        .arg(etc("tacker.conf"))
        .arg("--config-file")
        .arg(&conf)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{} [DEFAULT] auth_strategy = \"oauth2\"",
            conf.display()
        )),
        "{stderr}"
    );
    assert!(
        !dir.path().join("tacker.db").exists(),
        "nothing is created before the config is valid"
    );
}

/// A database that cannot be reached stops start-up naming the URL, with its password hidden
/// in every form it can take (one with `/` in it, one as a query option).
#[test]
fn database_errors_never_show_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    for url in [
        format!("postgresql://tacker:pa/ss-W0rd@127.0.0.1:{port}/tacker"),
        format!("postgresql://127.0.0.1:{port}/tacker?user=tacker&password=pa/ss-W0rd"),
    ] {
        let conf = dir.path().join("db.conf");
        std::fs::write(&conf, format!("[database]\nconnection = {url}\n")).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_tacker-server"))
            .arg("--config-file")
            .arg(etc("tacker.conf"))
            .arg("--config-file")
            .arg(&conf)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
        assert!(!stderr.contains("W0rd"), "{stderr}");
    }
}
