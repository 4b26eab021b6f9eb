//! Tier 3: registering a VIM is not a proxy. The real `tacker-server` binary registers
//! Kubernetes VIMs whose endpoint (a raw HTTP server in this test, on loopback) redirects,
//! answers 403 with a secret in its headers and body, or answers 256 MiB: no redirect is
//! followed, no secret reaches the API client, and the server's peak memory grows by less
//! than 32 MiB. A link-local endpoint is refused before any connection.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "s3cr3t-of-the-internal-service";
const HUGE: u64 = 256 << 20;

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

/// Peak resident set size of a process (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

/// A VIM endpoint behaving badly, by path prefix. Counts requests that reached `/target`.
async fn bad_endpoint(target_hits: Arc<AtomicUsize>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let target_hits = target_hits.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let small = |status: &str, extra: &str, body: &str| {
                    format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                let reply = if path.starts_with("/target") {
                    target_hits.fetch_add(1, Ordering::SeqCst);
                    small("200 OK", "", "{}")
                } else if path.starts_with("/redirect") {
                    small(
                        "302 Found",
                        &format!("Location: http://127.0.0.1:{port}/target/api/\r\n"),
                        "",
                    )
                } else if path.starts_with("/forbidden") || path.starts_with("/token") {
                    small(
                        "403 Forbidden",
                        &format!("X-Internal-Secret: {SECRET}\r\nSet-Cookie: s={SECRET}\r\n"),
                        &format!("{{\"secret\": \"{SECRET}\"}}"),
                    )
                } else if path.starts_with("/huge-error") {
                    // Declared: refused without reading.
                    format!(
                        "HTTP/1.1 403 Forbidden\r\nContent-Length: {HUGE}\r\nConnection: close\r\n\r\n"
                    )
                } else if path.starts_with("/huge/api/v1/namespaces") {
                    // Not declared: read until the limit, then dropped.
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
                        .to_owned()
                } else if path.starts_with("/huge/api/") {
                    small("200 OK", "", "{\"versions\": [\"v1\"]}")
                } else {
                    small("404 Not Found", "", "{}")
                };
                if sock.write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
                if path.starts_with("/huge-error") || path.starts_with("/huge/api/v1/namespaces") {
                    let chunk = vec![b' '; 64 << 10];
                    let mut sent = 0u64;
                    while sent < HUGE {
                        if sock.write_all(&chunk).await.is_err() {
                            return;
                        }
                        sent += chunk.len() as u64;
                    }
                }
                let _ = sock.shutdown().await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vim_endpoint_redirects_secrets_and_huge_answers_stay_out() {
    let hits = Arc::new(AtomicUsize::new(0));
    let endpoint = bad_endpoint(hits.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(
        dir.path().join("override.conf"),
        format!(
            "[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\n\
             [vim_keys]\nopenstack = {}\n[k8s_vim]\nuse_barbican = False\n",
            dir.path().join("keys").display()
        ),
    )
    .unwrap();
    let log_path = dir.path().join("server.log");
    let child = Command::new(env!("CARGO_BIN_EXE_tacker-server"))
        .arg("--config-file")
        .arg(etc("tacker.conf"))
        .arg("--config-file")
        .arg(dir.path().join("override.conf"))
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut server = ServerGuard(child);
    let pid = server.0.id();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(server.0.try_wait().unwrap().is_none(), "server exited");
        match client.get(format!("{base}/")).send().await {
            Ok(_) => break,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("server not ready: {e}"),
        }
    }
    // Warm up the request path once so the baseline includes it.
    client
        .get(format!("{base}/v1.0/vims"))
        .send()
        .await
        .unwrap();
    let baseline = peak_rss_kib(pid);

    let create = |name: &str, auth_url: String, auth_cred: Value| {
        let body = json!({"vim": {"name": name, "type": "kubernetes", "tenant_id": "t1",
            "auth_url": auth_url, "auth_cred": auth_cred, "vim_project": {"name": "default"}}});
        let request = client.post(format!("{base}/v1.0/vims")).json(&body);
        async move {
            let resp = request.send().await.unwrap();
            let status = resp.status().as_u16();
            let headers = format!("{:?}", resp.headers());
            let body = resp.text().await.unwrap();
            (status, headers, body)
        }
    };
    let bearer = json!({"bearer_token": "the-vim-token"});
    let url = |prefix: &str| format!("http://127.0.0.1:{endpoint}/{prefix}");

    // A redirect is not followed (upstream: followed with the bearer token).
    let (status, _, body) = create("r", url("redirect"), bearer.clone()).await;
    assert_eq!(status, 500, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["TackerError"]["type"], "VimUnauthorizedException");
    assert_eq!(error["TackerError"]["message"], "(302)\nReason: Found\n");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the redirect was followed");

    // An error answer's headers and body stay out of the API answer.
    let (status, headers, body) = create("f", url("forbidden"), bearer.clone()).await;
    assert_eq!(status, 500, "{body}");
    assert!(
        !body.contains(SECRET) && !headers.contains(SECRET),
        "{body}"
    );
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["TackerError"]["type"], "VimUnauthorizedException");
    assert_eq!(
        error["TackerError"]["message"],
        "(403)\nReason: Forbidden\n"
    );

    // The OIDC token endpoint's error answer too.
    let oidc = json!({"oidc_token_url": url("token"), "username": "u", "password": "p",
        "client_id": "c"});
    let (status, headers, body) = create("o", url("forbidden"), oidc).await;
    assert_eq!(status, 500, "{body}");
    assert!(
        !body.contains(SECRET) && !headers.contains(SECRET),
        "{body}"
    );
    assert!(
        body.contains("OIDC authentication and authorization failed. Detail: response code: 403"),
        "{body}"
    );

    // 256 MiB, declared and not: neither is read beyond the limit nor echoed.
    let (status, _, body) = create("h1", url("huge-error"), bearer.clone()).await;
    assert_eq!(status, 500);
    assert!(body.len() < 1024, "{} bytes", body.len());
    let (status, _, body) = create("h2", url("huge"), bearer.clone()).await;
    assert_eq!(status, 500);
    assert!(body.len() < 1024, "{} bytes", body.len());
    let grown = peak_rss_kib(pid).saturating_sub(baseline);
    assert!(grown < 32 << 10, "peak RSS grew by {grown} KiB");

    // A link-local endpoint (cloud metadata) is refused before any connection.
    let (status, _, body) = create(
        "m",
        "http://169.254.169.254/latest".to_owned(),
        bearer.clone(),
    )
    .await;
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains("denied to VIM endpoints ([vim_endpoints] denied_networks)"),
        "{body}"
    );

    drop(server);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(!log.contains(SECRET), "{log}");
}
