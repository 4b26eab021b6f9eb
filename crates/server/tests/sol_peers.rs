//! Tier 3: real clients against the running `tacker-server` binary.
//!
//! * schemathesis (PyPI) fuzzes every operation of `api-ref/openapi.yaml`: every answer must
//!   conform to the document (status, content type, headers, body schema) and no 5xx may occur
//!   except the TackerError types Tacker reports with 500 on purpose
//!   (`tests/peers/pytools/st_hooks.py`).
//! * python-tackerclient (PyPI) drives the VIM calls of `openstack vim ...`: register, list,
//!   show by id and by name, update, delete (`tests/peers/pytools/tackerclient_vim.py`).
//!
//! VIM registration reaches an in-test fake Kubernetes API (wiremock) on loopback; generated
//! `auth_url`s are pinned to it. Each scenario runs once with `auth_strategy = noauth` and once
//! with a real access token from the test authorization server through `external_oauth2_token`.
//! Python tools come from `.venv/pytools` (`scripts/setup/pytools.sh`); the authorization
//! server from `scripts/setup/authz.sh`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tacker_test_support::{
    ext_oauth2_section, repo_root, AuthMethod, AuthzOptions, AuthzServer, TackerOptions,
    TackerServer, TestPki,
};
use tokio::process::Command;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
// The guide-shaped api-paste.ini (Tacker's shipped file with `external_oauth2_token` in every
// `keystone =` line); `auth_strategy` picks the `noauth` or `keystone` pipelines.
use tacker_test_support::GUIDE_API_PASTE as API_PASTE;

/// Upper bound of one Python tool run (the schemathesis budget is well inside it).
const TOOL_DEADLINE: Duration = Duration::from_secs(300);
/// schemathesis `--max-time`: the fuzzing budget of one run.
const FUZZ_SECONDS: &str = "90";

/// Kubernetes VIMs keep their Fernet key locally: no Barbican in these runs.
const K8S_NO_BARBICAN: &str = "\n[k8s_vim]\nuse_barbican = False\n";

fn pytool(name: &str) -> PathBuf {
    let bin = repo_root().join(".venv/pytools/bin").join(name);
    assert!(
        bin.is_file(),
        "{} missing: run scripts/setup/pytools.sh",
        bin.display()
    );
    bin
}

/// A Kubernetes API answering what the VIM driver probes: `GET /api/` and
/// `GET /api/v1/namespaces` (namespaces become the VIM's regions).
async fn fake_kubernetes() -> MockServer {
    let k8s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]
        })))
        .mount(&k8s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/namespaces"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "kind": "NamespaceList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": "1"},
            "items": [
                {"metadata": {"name": "default"}, "status": {"phase": "Active"}},
                {"metadata": {"name": "kube-system"}, "status": {"phase": "Active"}}
            ]
        })))
        .mount(&k8s)
        .await;
    k8s
}

/// How the server under test authenticates.
enum Auth {
    NoAuth,
    /// The guide's client_secret_basic sample against the test authorization server.
    Token {
        /// Kept alive for the run (the authorization server is killed on drop).
        _peers: Box<(TestPki, AuthzServer)>,
        token: String,
    },
}

/// Starts `tacker-server` with [`API_PASTE`].
async fn start_server(oauth: bool) -> (TackerServer, Auth) {
    if !oauth {
        let server = TackerServer::start_with(TackerOptions {
            conf: format!("[DEFAULT]\nauth_strategy = noauth\n{K8S_NO_BARBICAN}"),
            paste_text: Some(API_PASTE.to_owned()),
            ..TackerOptions::default()
        })
        .await
        .expect("tacker-server (noauth) starts");
        return (server, Auth::NoAuth);
    }
    let pki = TestPki::new().expect("test PKI");
    let authz = AuthzServer::start(&pki, AuthzOptions::default())
        .await
        .expect("authorization server starts (scripts/setup/authz.sh)");
    let conf = ext_oauth2_section(&authz, AuthMethod::ClientSecretBasic, &pki)
        .to_conf("auth_strategy = keystone")
        + K8S_NO_BARBICAN;
    let server = TackerServer::start_with(TackerOptions {
        conf,
        paste_text: Some(API_PASTE.to_owned()),
        ..TackerOptions::default()
    })
    .await
    .expect("tacker-server (external_oauth2_token) starts");
    let token = authz
        .token_for(AuthMethod::ClientSecretBasic)
        .await
        .expect("access token from the authorization server");
    (
        server,
        Auth::Token {
            _peers: Box::new((pki, authz)),
            token,
        },
    )
}

/// Runs `cmd` to completion within [`TOOL_DEADLINE`] (killed when it overruns or the test
/// fails), returning (success, stdout + stderr).
async fn run_tool(mut cmd: Command) -> (bool, String) {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().expect("python tool starts");
    let out = tokio::time::timeout(TOOL_DEADLINE, child.wait_with_output())
        .await
        .expect("python tool finished within its deadline")
        .expect("python tool output");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn schemathesis_run(oauth: bool) {
    let k8s = fake_kubernetes().await;
    let (server, auth) = start_server(oauth).await;
    let root = repo_root();
    let report = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(pytool("schemathesis"));
    cmd.current_dir(report.path())
        .env("PYTHONPATH", root.join("tests/peers/pytools"))
        .env("SCHEMATHESIS_HOOKS", "st_hooks")
        .env("TACKER_FUZZ_VIM_URL", k8s.uri())
        .arg("run")
        .arg(root.join("api-ref/openapi.yaml"))
        .args(["--url", server.base_url()])
        .args(["--max-time", FUZZ_SECONDS])
        .args(["--max-examples", "40"])
        .args(["--seed", "20261129"])
        // One worker: schemathesis 4.32.5 raises an internal KeyError while generating
        // examples concurrently for the VIM create body.
        .args(["--workers", "1"])
        .args(["--request-timeout", "20"])
        .args(["--generation-database", "none"])
        .args(["--suppress-health-check", "all"])
        .arg("--no-color");
    // Excluded checks and why: not_a_server_error is replaced by the hook's
    // no_unintended_server_error (Tacker's deliberate 500s); positive/negative data checks and
    // unsupported_method/use_after_free/ensure_resource_availability expect REST conventions
    // Tacker's legacy API does not follow (lenient validation, 404 page for other methods,
    // 500 VimNotFoundException after delete), all kept for client compatibility.
    let mut excluded = vec![
        "not_a_server_error",
        "positive_data_acceptance",
        "negative_data_rejection",
        "unsupported_method",
        "use_after_free",
        "ensure_resource_availability",
    ];
    match &auth {
        Auth::Token { token, .. } => {
            cmd.args(["-H", &format!("Authorization: Bearer {token}")]);
        }
        // Without authentication every request is served: nothing to ignore.
        Auth::NoAuth => excluded.push("ignored_auth"),
    }
    cmd.args(["--exclude-checks", &excluded.join(",")]);
    let (ok, output) = run_tool(cmd).await;
    assert!(
        ok,
        "schemathesis found non-conforming answers:\n{output}\n--- server log ---\n{}",
        server.log()
    );
    assert!(
        output.contains("no_unintended_server_error") || output.contains("passed"),
        "schemathesis ran no checks:\n{output}"
    );
}

async fn tackerclient_run(oauth: bool) {
    let k8s = fake_kubernetes().await;
    let (server, auth) = start_server(oauth).await;
    let mut cmd = Command::new(pytool("python"));
    cmd.arg(repo_root().join("tests/peers/pytools/tackerclient_vim.py"))
        .args(["--endpoint", server.base_url()])
        .args(["--k8s-url", &k8s.uri()]);
    if let Auth::Token { token, .. } = &auth {
        cmd.args(["--token", token]);
    }
    let (ok, output) = run_tool(cmd).await;
    assert!(
        ok,
        "python-tackerclient VIM calls failed:\n{output}\n--- server log ---\n{}",
        server.log()
    );
    for step in [
        "create",
        "list",
        "find by id",
        "find by name",
        "show",
        "update",
        "find by new name",
        "delete",
        "show after delete",
    ] {
        assert!(
            output.contains(&format!(r#""step": "{step}", "ok": true"#)),
            "step {step} not passed:\n{output}"
        );
    }
    // The fake VIM was really reached by the driver.
    let probes = k8s.received_requests().await.unwrap_or_default();
    assert!(probes.iter().any(|r| r.url.path() == "/api/v1/namespaces"));
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_fuzz_noauth_no_5xx_and_conformance() {
    schemathesis_run(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_fuzz_with_real_token_no_5xx_and_conformance() {
    schemathesis_run(true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn python_tackerclient_vim_crud_noauth() {
    tackerclient_run(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn python_tackerclient_vim_crud_with_real_token() {
    tackerclient_run(true).await;
}
