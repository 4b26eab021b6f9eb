//! Tier 3: the real `tacker-server` binary is killed (SIGKILL) in the middle of a burst of VIM
//! creates and started again: every VIM the clients were told about (201) is there, each with
//! its key file opening its stored credentials, and no staged or orphan key file remains. A
//! key file without a row is removed only once it is older than the grace period: at start-up
//! when it is, later when it is not (another replica may be about to commit its row).

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tacker_vim::vault::fernet;
use tacker_vim::Scope;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CREATES: usize = 200;
/// The server is killed once this many creates have answered 201.
const KILL_AFTER: usize = 60;
/// `[vim_keys] orphan_key_grace_period`: key files this much younger than a start are
/// settled later, not at start-up.
const GRACE_SECS: u64 = 2;

/// Kills the server by pid when the test ends, also on failure.
struct ServerGuard(Arc<Mutex<Child>>);

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let mut child = self.0.lock().unwrap();
        let _ = child.kill();
        let _ = child.wait();
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

/// Start the server in `dir` and wait until it answers.
async fn start(dir: &Path, port: u16, log_name: &str) -> ServerGuard {
    let log = std::fs::File::create(dir.join(log_name)).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tacker-server"))
        .arg("--config-file")
        .arg(etc("tacker.conf"))
        .arg("--config-file")
        .arg(dir.join("override.conf"))
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let guard = ServerGuard(Arc::new(Mutex::new(child)));
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = guard.0.lock().unwrap().try_wait().unwrap() {
            let log = std::fs::read_to_string(dir.join(log_name)).unwrap_or_default();
            panic!("tacker-server exited early: {status}\n{log}");
        }
        match client.get(format!("http://127.0.0.1:{port}/")).send().await {
            Ok(_) => return guard,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("server not ready before the deadline: {e}"),
        }
    }
}

/// A Kubernetes API that accepts the VIMs' bearer tokens.
async fn kubernetes() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"versions": ["v1"]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/namespaces"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"items": [{"metadata": {"name": "default"}}]})),
        )
        .mount(&server)
        .await;
    server
}

fn file_names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_creates_leaves_rows_matching_the_201s_and_no_orphan_keys() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let keys = dir.path().join("keys");
    let db = dir.path().join("tacker.db");
    std::fs::write(
        dir.path().join("override.conf"),
        format!(
            "[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\n\
             [database]\nconnection = sqlite:///{}\n\
             [vim_keys]\nopenstack = {}\norphan_key_grace_period = {GRACE_SECS}\n\
             [k8s_vim]\nuse_barbican = False\n",
            db.display(),
            keys.display()
        ),
    )
    .unwrap();
    let k8s = kubernetes().await;
    let server = start(dir.path(), port, "first.log").await;

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let created = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..CREATES {
        let client = client.clone();
        let created = created.clone();
        let body = json!({"vim": {"name": format!("vim-{i}"), "type": "kubernetes",
            "tenant_id": "tenant-a", "auth_url": k8s.uri(),
            "auth_cred": {"bearer_token": format!("token-{i}")},
            "vim_project": {"name": "default"}}});
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(format!("http://127.0.0.1:{port}/v1.0/vims"))
                .json(&body)
                .send()
                .await
                .ok()?;
            if resp.status() != 201 {
                return None;
            }
            let vim: Value = resp.json().await.ok()?;
            created.fetch_add(1, Ordering::SeqCst);
            Some((vim["vim"]["id"].as_str()?.to_owned(), format!("token-{i}")))
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while created.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(Instant::now() < deadline, "creates did not get going");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // SIGKILL: no chance to finish anything in flight.
    server.0.lock().unwrap().kill().unwrap();
    server.0.lock().unwrap().wait().unwrap();
    let mut answered = std::collections::BTreeMap::new();
    for task in tasks {
        if let Some((id, token)) = task.await.unwrap() {
            answered.insert(id, token);
        }
    }
    let unanswered = CREATES - answered.len();
    assert!(
        unanswered > 0,
        "the kill came after every create had answered"
    );
    drop(server);

    // Started again: the key directory is settled, files younger than the grace period
    // once they are that old.
    let server = start(dir.path(), port, "second.log").await;
    let listed: Value = client
        .get(format!("http://127.0.0.1:{port}/v1.0/vims"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows: BTreeSet<String> = listed["vims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    let told: BTreeSet<String> = answered.keys().cloned().collect();
    assert!(
        told.is_subset(&rows),
        "a VIM answered 201 is missing: {:?}",
        told.difference(&rows).collect::<Vec<_>>()
    );
    // A create whose row committed just before the kill may not have answered.
    assert!(rows.len() - told.len() <= unanswered);

    let deadline = Instant::now() + Duration::from_secs(GRACE_SECS + 20);
    while file_names(&keys) != rows && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        file_names(&keys),
        rows,
        "exactly one key file per VIM, nothing staged or orphaned"
    );
    let store = tacker_vim::connect(&format!("sqlite:///{}", db.display()))
        .await
        .unwrap();
    for vim in store.list(&Scope::All, &[]).await.unwrap() {
        let key = SecretString::from(std::fs::read_to_string(keys.join(&vim.id)).unwrap());
        let token = vim.auth_cred["bearer_token"].as_str().unwrap();
        let plain = fernet::decrypt(&key, token)
            .unwrap_or_else(|e| panic!("VIM {}: stored token does not decrypt: {e}", vim.id));
        let expected = format!("token-{}", vim.name.trim_start_matches("vim-"));
        assert_eq!(plain.expose_secret(), expected);
        if let Some(token) = answered.get(&vim.id) {
            assert_eq!(token, &expected);
        }
    }
    drop(server);
}

/// Another replica sharing the key directory writes a VIM's key before its row commits: a
/// start-up in that moment must not take the key away. An orphan older than the grace
/// period goes at start-up; a younger one stays, and goes once it is that old.
#[tokio::test]
async fn orphan_key_files_younger_than_the_grace_period_outlive_the_start() {
    const GRACE: u64 = 5;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    std::fs::set_permissions(&keys, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let old = uuid::Uuid::new_v4().to_string();
    let young = uuid::Uuid::new_v4().to_string();
    for name in [&old, &young] {
        std::fs::write(keys.join(name), "x".repeat(44)).unwrap();
    }
    std::fs::File::options()
        .write(true)
        .open(keys.join(&old))
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    std::fs::write(
        dir.path().join("override.conf"),
        format!(
            "[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\n\
             [database]\nconnection = sqlite:///{}\n\
             [vim_keys]\nopenstack = {}\norphan_key_grace_period = {GRACE}\n",
            dir.path().join("tacker.db").display(),
            keys.display()
        ),
    )
    .unwrap();
    let started = Instant::now();
    let _server = start(dir.path(), port, "server.log").await;
    let names = file_names(&keys);
    assert!(
        started.elapsed() < Duration::from_secs(GRACE),
        "the server took longer than the grace period to start"
    );
    assert!(
        !names.contains(&old),
        "the old orphan is removed at start-up"
    );
    assert!(names.contains(&young), "the young one stays for now");

    let deadline = Instant::now() + Duration::from_secs(GRACE + 20);
    while file_names(&keys).contains(&young) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        !file_names(&keys).contains(&young),
        "the young orphan is removed once older than the grace period"
    );
}
