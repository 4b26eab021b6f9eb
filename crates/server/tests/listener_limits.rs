//! Tier 3: the real `tacker-server` binary (shipped `etc/tacker.conf` plus an override) under
//! clients that hold connections without finishing anything: silent sockets, partial HTTP/2
//! prefaces, a stalled request body, a huge declared body, a full open-file table. Short
//! deadlines are configured so each test takes seconds; every bound below is a generous
//! upper limit on "closed by the deadline", not a speed assertion.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Kills the server by pid when the test ends, also on failure.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

fn etc(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../etc")
        .join(name)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the binary with `default_lines` added to `[DEFAULT]`; with `nofile`, under
/// `ulimit -n <nofile>` (as systemd's default soft limit would leave it).
async fn start(default_lines: &str, nofile: Option<u32>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let override_conf = dir.path().join("override.conf");
    std::fs::write(
        &override_conf,
        format!("[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\n{default_lines}\n"),
    )
    .unwrap();
    let log = dir.path().join("server.log");
    let bin = env!("CARGO_BIN_EXE_tacker-server");
    let mut cmd = match nofile {
        Some(n) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                .arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let child = cmd
        .arg("--config-file")
        .arg(etc("tacker.conf"))
        .arg("--config-file")
        .arg(&override_conf)
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut server = Server {
        child,
        port,
        log,
        _dir: dir,
    };
    let client = client();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!("tacker-server exited early: {status}\n{}", server.log());
        }
        match client
            .get(format!("http://{}/", server.addr()))
            .send()
            .await
        {
            Ok(r) if r.status() == 200 => break,
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            r => panic!(
                "server not ready before the deadline: {r:?}\n{}",
                server.log()
            ),
        }
    }
    server
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// This test process opens a few thousand sockets: raise its soft open-file limit to the
/// hard limit (util-linux `prlimit` on our own pid; unsafe code is forbidden here).
fn raise_own_open_file_limit(needed: u64) {
    let soft = tacker_server::listener::open_file_limit().unwrap_or(u64::MAX);
    if soft >= needed {
        return;
    }
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let hard = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(4))
        .unwrap()
        .to_owned();
    let status = Command::new("prlimit")
        .arg("--pid")
        .arg(std::process::id().to_string())
        .arg(format!("--nofile={hard}:{hard}"))
        .status()
        .expect("prlimit (util-linux) runs");
    assert!(status.success(), "prlimit --nofile={hard}:{hard} failed");
    let now = tacker_server::listener::open_file_limit().unwrap_or(u64::MAX);
    assert!(
        now >= needed,
        "the test needs {needed} open files, the hard limit allows {hard}"
    );
}

/// `n` connections, opened 50 at a time, each having sent `first_bytes`.
async fn connect_many(addr: &str, n: usize, first_bytes: &[u8]) -> Vec<TcpStream> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let batch = (n - out.len()).min(50);
        let opened = futures::future::join_all((0..batch).map(|_| async {
            let mut s = TcpStream::connect(addr).await.unwrap();
            if !first_bytes.is_empty() {
                s.write_all(first_bytes).await.unwrap();
            }
            s
        }))
        .await;
        out.extend(opened);
    }
    out
}

/// Waits (at most `within`) until the server closed every socket: EOF or a reset. Returns
/// how many were closed.
async fn count_closed(sockets: Vec<TcpStream>, within: Duration) -> usize {
    let deadline = tokio::time::Instant::now() + within;
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|mut s| {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                loop {
                    match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
                        Ok(Ok(0)) | Ok(Err(_)) => return true,
                        // An answer to a partial preface (a GOAWAY) is fine; keep reading.
                        Ok(Ok(_)) => continue,
                        Err(_) => return false,
                    }
                }
            })
        })
        .collect();
    let mut closed = 0;
    for t in tasks {
        closed += usize::from(t.await.unwrap());
    }
    closed
}

/// Sends `head` (and the start of a body), then reads what the server answers until it
/// closes the connection (at most `within`).
async fn exchange(addr: &str, head: &str, within: Duration) -> (String, bool) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    let closed = loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&got).into_owned(), closed)
}

/// A partial HTTP/2 connection preface (RFC 9113 §3.4): the client never finishes it.
const PARTIAL_H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nS";

#[tokio::test]
async fn silent_sockets_and_partial_h2_prefaces_are_closed_by_the_handshake_deadline() {
    raise_own_open_file_limit(4000);
    let server = start("client_handshake_timeout = 1\nmax_connections = 3000", None).await;
    let addr = server.addr();

    let silent = connect_many(&addr, 2000, b"").await;
    let partial = connect_many(&addr, 300, PARTIAL_H2_PREFACE).await;
    let within = Duration::from_secs(60);
    let (silent_closed, partial_closed) =
        tokio::join!(count_closed(silent, within), count_closed(partial, within));
    assert_eq!(silent_closed, 2000, "silent sockets closed by the server");
    assert_eq!(partial_closed, 300, "partial HTTP/2 prefaces closed");

    // The server is still there for a client that speaks.
    let r = client()
        .get(format!("http://{addr}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn with_1024_open_files_1100_silent_sockets_do_not_lock_a_client_out() {
    raise_own_open_file_limit(3000);
    let server = start("client_handshake_timeout = 8", Some(1024)).await;
    let addr = server.addr();
    assert!(
        server
            .log()
            .contains("max_connections lowered below the open-file limit"),
        "{}",
        server.log()
    );

    let silent = connect_many(&addr, 1100, b"").await;
    // Every slot the open-file limit allows is taken; the client waits in the backlog until
    // the handshake deadline frees slots, then is served.
    let r = client()
        .get(format!("http://{addr}/"))
        .send()
        .await
        .expect("a new client is served while 1,100 silent sockets are open");
    assert_eq!(r.status(), 200);
    // Still open on our side, so the server really had them all.
    assert_eq!(silent.len(), 1100);
    drop(silent);

    let log = server.log();
    // The connection cap keeps accept(2) from ever failing with EMFILE ...
    assert!(!log.contains("accept failed"), "{log}");
    // ... and the full table is reported at most once per 10 s interval.
    let reports = log.matches("connection limit reached").count();
    assert!((1..=3).contains(&reports), "{reports} reports: {log}");
}

#[tokio::test]
async fn stalled_body_times_out_and_oversized_declared_body_is_refused_at_once() {
    let server = start(
        "request_body_timeout = 1\nmax_header_line = 1024\nclient_socket_timeout = 2",
        None,
    )
    .await;
    let addr = server.addr();
    let within = Duration::from_secs(30);

    // A body that stops arriving: 408, then the connection is closed.
    let (answer, closed) = exchange(
        &addr,
        "POST /v1.0/vims HTTP/1.1\r\nHost: tacker\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{\"vim\": {",
        within,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(closed, "the connection with the stalled body is closed");

    // 1 GB declared, nothing sent: refused before any body byte arrives.
    let (answer, closed) = exchange(
        &addr,
        "POST /v1.0/vims HTTP/1.1\r\nHost: tacker\r\nContent-Type: application/json\r\n\
         Content-Length: 1073741824\r\n\r\n",
        within,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(
        answer.contains("Request Entity Too Large"),
        "WebOb's page: {answer}"
    );
    assert!(closed);

    // A header line longer than max_header_line: 400 as eventlet answers it.
    let long = "a".repeat(1100);
    let (answer, _) = exchange(
        &addr,
        &format!("GET / HTTP/1.1\r\nHost: tacker\r\nX-Long: {long}\r\n\r\n"),
        within,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");

    // A keep-alive connection with nothing in progress is closed after
    // client_socket_timeout.
    let (answer, closed) = exchange(&addr, "GET / HTTP/1.1\r\nHost: tacker\r\n\r\n", within).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(closed, "idle keep-alive connection closed");

    // An HTTP/2 connection whose only stream has ended is closed after
    // client_socket_timeout too (GOAWAY, then EOF). Raw frames: the preface, an empty
    // SETTINGS, and one HEADERS frame (END_STREAM | END_HEADERS, stream 1) for `GET /` in
    // HPACK static-table form (RFC 7541 Appendix A: 2 = GET, 6 = http, 4 = /, 1 = :authority).
    let mut h2_bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    h2_bytes.extend_from_slice(&[0, 0, 0, 0x4, 0, 0, 0, 0, 0]);
    let block = [&[0x82u8, 0x86, 0x84, 0x41, 6][..], b"tacker"].concat();
    h2_bytes.extend_from_slice(&[0, 0, block.len() as u8, 0x1, 0x5, 0, 0, 0, 1]);
    h2_bytes.extend_from_slice(&block);
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(&h2_bytes).await.unwrap();
    // Read frames until EOF, answering PINGs as a client must (the graceful GOAWAY is
    // confirmed with one, RFC 9113 §6.8).
    let mut pending = Vec::new();
    let mut types = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    let closed = loop {
        while pending.len() >= 9 {
            let len = usize::from(pending[0]) << 16
                | usize::from(pending[1]) << 8
                | usize::from(pending[2]);
            if pending.len() < 9 + len {
                break;
            }
            let frame: Vec<u8> = pending.drain(..9 + len).collect();
            types.push(frame[3]);
            if frame[3] == 0x6 && frame[4] & 0x1 == 0 {
                let mut ack = frame.clone();
                ack[4] = 0x1;
                let _ = s.write_all(&ack).await;
            }
        }
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => pending.extend_from_slice(&buf[..n]),
            Err(_) => break false,
        }
    };
    assert!(closed, "idle HTTP/2 connection closed: frames {types:?}");
    // Frame types seen: a HEADERS answer (0x1) and a GOAWAY (0x7).
    assert!(types.contains(&0x1), "{types:?}");
    assert!(types.contains(&0x7), "{types:?}");

    // HTTP/2 (prior knowledge) is served with the keep-alive settings.
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .timeout(within)
        .build()
        .unwrap();
    let r = h2.get(format!("http://{addr}/")).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), 200);
}

/// `accept(2)` failing with `EMFILE` (the open-file limit lowered under the running server,
/// below what its connection cap was computed from): the server backs off, logs the failure
/// at most once per 10 s, and serves again once the handshake deadline has freed descriptors.
#[tokio::test]
async fn accept_failures_back_off_and_are_logged_once_per_interval() {
    raise_own_open_file_limit(2000);
    let server = start("client_handshake_timeout = 1", None).await;
    let addr = server.addr();
    let pid = server.child.id().to_string();
    // Room for 20 more descriptors than the server holds now.
    let open_now = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    let status = Command::new("prlimit")
        .args(["--pid", &pid, &format!("--nofile={}:", open_now + 20)])
        .status()
        .expect("prlimit (util-linux) runs");
    assert!(status.success());

    // Far more connections than 20 descriptors allow: the kernel completes them, accept(2)
    // fails for most until the deadline closes the accepted ones.
    let started = Instant::now();
    let silent = connect_many(&addr, 100, b"").await;
    let r = client()
        .get(format!("http://{addr}/"))
        .send()
        .await
        .expect("served again after the accept failures");
    assert_eq!(r.status(), 200);
    let elapsed = started.elapsed();
    drop(silent);

    let log = server.log();
    let failures = log.matches("accept failed").count();
    // Many failing accepts (one per back-off step), at most one line per 10 s interval.
    let allowed = elapsed.as_secs() / 10 + 1;
    assert!(
        (1..=allowed as usize).contains(&failures),
        "{failures} lines in {elapsed:?}: {log}"
    );
    assert!(log.contains("Too many open files"), "{log}");
}

/// oslo.service's `wsgi_keep_alive = False`: every HTTP/1 connection is closed after one
/// response (the idle timeout is left at its 900 s default, so only this can close it).
#[tokio::test]
async fn wsgi_keep_alive_false_closes_after_one_response() {
    let server = start("wsgi_keep_alive = False", None).await;
    let (answer, closed) = exchange(
        &server.addr(),
        "GET / HTTP/1.1\r\nHost: tacker\r\n\r\n",
        Duration::from_secs(30),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(closed, "closed after one response");
}
