//! Issue 10, logging as oslo.log: the real `tacker-server` with `[DEFAULT] log_file` writes
//! its request lines, each with the request id it answered with, into that file (no escape
//! codes, no secrets); with `use_json = True` every line is one JSON object and request lines
//! carry `request_id` / `global_request_id`; a log file moved away (logrotate) is reopened.

use std::path::{Path, PathBuf};
use std::process::Command;

use tacker_test_support::{free_port, repo_root, wait_ready_http, ChildGuard, DEFAULT_DEADLINE};

const SECRET: &str = "log-test-client-secret-9c1e";
const GLOBAL_ID: &str = "req-11111111-2222-3333-4444-555555555555";

struct Server {
    guard: ChildGuard,
    base: String,
    client: reqwest::Client,
    log_file: PathBuf,
    _dir: tempfile::TempDir,
}

async fn start(extra_default: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let log_file = dir.path().join("logs/tacker-api.log");
    std::fs::create_dir_all(log_file.parent().unwrap()).unwrap();
    let conf = dir.path().join("override.conf");
    std::fs::write(
        &conf,
        format!(
            "[ext_oauth2_auth]\nclient_id = tacker_service\nclient_secret = {SECRET}\n\
             [DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\ndebug = True\n\
             log_dir = {}\nlog_file = tacker-api.log\n{extra_default}\n",
            log_file.parent().unwrap().display()
        ),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tacker-server"));
    cmd.current_dir(dir.path())
        .arg("--config-file")
        .arg(repo_root().join("etc/tacker.conf"))
        .arg("--config-file")
        .arg(&conf)
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR");
    let mut guard =
        ChildGuard::spawn("tacker-server", cmd, &dir.path().join("console.log")).unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    wait_ready_http(&mut guard, &client, &format!("{base}/"), DEFAULT_DEADLINE)
        .await
        .unwrap();
    Server {
        guard,
        base,
        client,
        log_file,
        _dir: dir,
    }
}

impl Server {
    /// `GET /v1.0/vims` (inside the `request_id` filter); returns the request id answered.
    async fn list_vims(&self, global: Option<&str>) -> String {
        let mut req = self.client.get(format!("{}/v1.0/vims", self.base));
        if let Some(g) = global {
            req = req.header("X-Openstack-Request-Id", g);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.headers()["x-openstack-request-id"]
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// The lines of `path` once one of them contains `needle` (the line is written after the
    /// response headers leave).
    async fn lines_with(&self, path: &Path, needle: &str) -> Vec<String> {
        let until = std::time::Instant::now() + DEFAULT_DEADLINE;
        loop {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            if text.contains(needle) {
                return text.lines().map(str::to_owned).collect();
            }
            assert!(
                std::time::Instant::now() < until,
                "{needle} never reached {}:\n{text}\nconsole:\n{}",
                path.display(),
                self.guard.log()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn log_file_gets_request_lines_with_their_ids_without_escape_codes() {
    let mut server = start("").await;
    let first = server.list_vims(None).await;
    let lines = server.lines_with(&server.log_file, &first).await;
    let request_line = lines
        .iter()
        .find(|l| l.contains("request handled") && l.contains(&first))
        .unwrap_or_else(|| panic!("no request line for {first}: {lines:#?}"));
    // oslo's context format: `[<global_request_id> <request_id>]`.
    assert!(
        request_line.contains(&format!("[- {first}]")),
        "{request_line}"
    );
    assert!(request_line.contains("path=/v1.0/vims"), "{request_line}");
    assert!(lines
        .iter()
        .any(|l| l.contains("configuration loaded") && l.contains("[-]")));

    let second = server.list_vims(Some(GLOBAL_ID)).await;
    let lines = server.lines_with(&server.log_file, &second).await;
    assert!(lines
        .iter()
        .any(|l| l.contains(&format!("[{GLOBAL_ID} {second}]"))));

    // logrotate's `create`: the file is moved away; the next line goes to a new file.
    let rotated = server.log_file.with_extension("log.1");
    std::fs::rename(&server.log_file, &rotated).unwrap();
    let third = server.list_vims(None).await;
    let lines = server.lines_with(&server.log_file, &third).await;
    assert!(!lines.iter().any(|l| l.contains(&first)));
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(old.contains(&first) && !old.contains(&third));

    let all = format!("{old}{}", lines.join("\n"));
    assert!(
        !all.contains('\x1b'),
        "escape codes in the log file:\n{all}"
    );
    assert!(!all.contains(SECRET), "secret in the log file");
    // With a log file and without use_stderr, nothing goes to the console.
    assert!(
        !server.guard.log().contains("request handled"),
        "{}",
        server.guard.log()
    );
    server.guard.stop();
}

#[tokio::test]
async fn use_json_writes_one_object_a_line_with_request_ids() {
    let mut server = start("use_json = True\nuse_stderr = True\n").await;
    let id = server.list_vims(Some(GLOBAL_ID)).await;
    let lines = server.lines_with(&server.log_file, &id).await;
    let mut request_lines = 0;
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object: {line}: {e}"));
        for key in ["time", "level", "logger", "message"] {
            assert!(v[key].is_string(), "{key} in {line}");
        }
        assert!(v.get("request_id").is_some() && v.get("global_request_id").is_some());
        if v["message"] == "request handled" {
            request_lines += 1;
            assert_eq!(v["request_id"], id.as_str(), "{line}");
            assert_eq!(v["global_request_id"], GLOBAL_ID, "{line}");
            assert_eq!(v["extra"]["path"], "/v1.0/vims", "{line}");
            assert_eq!(v["level"], "INFO");
        }
    }
    assert_eq!(request_lines, 1, "{lines:#?}");
    let all = lines.join("\n");
    assert!(!all.contains(SECRET) && !all.contains('\x1b'));
    // use_stderr: the same lines on the console as well.
    let console = server.guard.log();
    assert!(console.contains(&id), "{console}");
    assert!(!console.contains(SECRET));
    server.guard.stop();
}

#[test]
fn an_unwritable_log_file_stops_start_up_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("override.conf");
    std::fs::write(
        &conf,
        "[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = 1\nlog_file = /nonexistent-dir/x/tacker.log\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tacker-server"))
        .current_dir(dir.path())
        .arg("--config-file")
        .arg(repo_root().join("etc/tacker.conf"))
        .arg("--config-file")
        .arg(&conf)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("override.conf [DEFAULT] log_file = \"/nonexistent-dir/x/tacker.log\""),
        "{stderr}"
    );
}

/// Every line written while a request is served carries its id: here the token filter's own
/// lines (the introspection answer at DEBUG, "not active" at INFO) next to the request line.
#[tokio::test]
async fn the_token_filter_lines_of_a_request_carry_its_id() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let idp = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/introspect"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"active": false}"#))
        .mount(&idp)
        .await;
    let keystone = format!(
        "auth_strategy = keystone\napi_paste_config = {}\n\
         [ext_oauth2_auth]\nintrospect_endpoint = {}/introspect\naudience = http://idp\n",
        repo_root()
            .join("etc/api-paste-external-oauth2.ini")
            .display(),
        idp.uri()
    );
    let mut server = start(&keystone).await;
    let resp = server
        .client
        .get(format!("{}/v1.0/vims", server.base))
        .bearer_auth("some-opaque-token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let id = resp.headers()["x-openstack-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let lines = server.lines_with(&server.log_file, &id).await;
    let ctx = format!("[- {id}]");
    for needle in [
        "The introspect API response",
        "The access token is not active.",
        "request handled",
    ] {
        let line = lines
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} line: {lines:#?}"));
        assert!(line.contains(&ctx), "{line}");
    }
    let all = lines.join("\n");
    assert!(!all.contains("some-opaque-token"), "token logged: {all}");
    assert!(!all.contains(SECRET));
    server.guard.stop();
}
