//! Shared pieces of the listener tests: a test PKI made with rcgen, a probe app, a listener
//! running in-process on a loopback port, and small TLS / HTTP/1.1 clients.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, ServerName};
use tacker_common::config::Section;
use tacker_common::PeerCertificate;
use tacker_server::config::ListenerOptions;
use tacker_server::listener::{
    ConnectionInfo, Listener, ListenerConfig, ListenerError, ReloadHandle,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Upper bound for any single step of a test (the tests never wait on time otherwise).
pub const STEP: Duration = Duration::from_secs(20);

pub async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: did not finish within {STEP:?}"))
}

// ---------------------------------------------------------------------------------------
// PKI

/// A certificate authority.
pub struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
    pub pem: String,
}

/// A leaf certificate and its key.
#[derive(Clone)]
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: Vec<u8>,
}

impl Ca {
    /// A CA whose subject is `CN=<cn>, O=tacker-test`. Two CAs made with the same `cn` have
    /// the same subject but different keys.
    pub fn new(cn: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "tacker-test");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).unwrap();
        let pem = cert.pem();
        Self { cert, key, pem }
    }

    /// A server certificate for `localhost`, `127.0.0.1` and `::1`.
    pub fn server(&self, cn: &str) -> Leaf {
        let mut params = CertificateParams::new(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ])
        .unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params)
    }

    /// A client certificate with subject `CN=<cn>, O=tacker-test`.
    pub fn client(&self, cn: &str) -> Leaf {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "tacker-test");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params)
    }

    fn issue(&self, params: CertificateParams) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }
}

/// Paths of the listener's files in a temporary directory.
pub struct ServerFiles {
    pub dir: tempfile::TempDir,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

impl ServerFiles {
    pub fn write(server: &Leaf, client_ca: Option<&Ca>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let files = Self {
            cert: dir.path().join("tacker_server.pem"),
            key: dir.path().join("tacker_server.key"),
            ca: dir.path().join("ca.pem"),
            dir,
        };
        files.replace(server, client_ca);
        files
    }

    /// Overwrite the files in place (as an operator renewing certificates would).
    pub fn replace(&self, server: &Leaf, client_ca: Option<&Ca>) {
        write_file(&self.cert, &server.cert_pem);
        write_file(&self.key, &server.key_pem);
        if let Some(ca) = client_ca {
            write_file(&self.ca, &ca.pem);
        }
    }

    /// `TlsFiles` for HTTPS (`mtls` false) or HTTPS with required client certificates.
    pub fn tls_files(&self, mtls: bool) -> tacker_server::listener::TlsFiles {
        tacker_server::listener::TlsFiles::new(
            &self.cert,
            Some(&self.key),
            mtls.then_some(self.ca.as_path()),
        )
    }
}

pub fn write_file(path: &Path, content: &str) {
    std::fs::write(path, content).unwrap();
}

// ---------------------------------------------------------------------------------------
// The probe app

/// Lets a test hold a request inside its handler (`/slow`).
#[derive(Clone)]
pub struct Probe {
    entered: mpsc::UnboundedSender<()>,
    release: Arc<Notify>,
}

pub struct ProbeControl {
    /// One message per request that reached `/slow`.
    pub entered: mpsc::UnboundedReceiver<()>,
    /// `notify_one` lets one held request finish.
    pub release: Arc<Notify>,
}

pub fn probe() -> (Probe, ProbeControl) {
    let (tx, rx) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    (
        Probe {
            entered: tx,
            release: release.clone(),
        },
        ProbeControl {
            entered: rx,
            release,
        },
    )
}

/// `/` → "ok"; `/peer` → the request's `PeerCertificate` DER (404 without one);
/// `/scheme` → "https"/"http" from `ConnectionInfo`; `/header/{name}` → that request header
/// as the app saw it (404 if absent); `/slow` → waits for the test's release.
pub fn probe_app(probe: Probe) -> Router {
    Router::new()
        .route("/", get(|| async { "ok" }))
        .route("/peer", get(peer))
        .route("/scheme", get(scheme))
        .route("/header/{name}", get(header))
        .route("/slow", get(slow))
        .with_state(probe)
}

async fn peer(req: Request) -> impl IntoResponse {
    match req.extensions().get::<PeerCertificate>() {
        Some(PeerCertificate(der)) => (StatusCode::OK, der.as_ref().clone()).into_response(),
        None => (StatusCode::NOT_FOUND, "no peer certificate").into_response(),
    }
}

async fn scheme(req: Request) -> impl IntoResponse {
    let info = req
        .extensions()
        .get::<ConnectionInfo>()
        .expect("ConnectionInfo");
    if info.tls {
        "https"
    } else {
        "http"
    }
}

async fn header(
    axum::extract::Path(name): axum::extract::Path<String>,
    req: Request,
) -> impl IntoResponse {
    match req.headers().get(&name) {
        Some(v) => (StatusCode::OK, v.as_bytes().to_vec()).into_response(),
        None => (StatusCode::NOT_FOUND, Vec::new()).into_response(),
    }
}

async fn slow(State(probe): State<Probe>) -> &'static str {
    let _ = probe.entered.send(());
    probe.release.notified().await;
    "done"
}

// ---------------------------------------------------------------------------------------
// The listener under test

pub struct Running {
    pub addr: SocketAddr,
    pub reload: Option<ReloadHandle>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), ListenerError>>>,
}

impl Running {
    /// Ask for shutdown (as SIGTERM would).
    pub fn trigger_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Trigger shutdown and wait for `serve` to return.
    pub async fn stop(mut self) -> Result<(), ListenerError> {
        self.trigger_shutdown();
        let task = self.task.take().unwrap();
        bounded("listener shutdown", task).await.unwrap()
    }

    /// Wait for `serve` to return after `trigger_shutdown`.
    pub async fn finished(mut self) -> Result<(), ListenerError> {
        let task = self.task.take().unwrap();
        bounded("listener shutdown", task).await.unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

pub async fn start(cfg: ListenerConfig, app: Router) -> Running {
    let listener = Listener::bind(cfg).await.expect("bind");
    let addr = listener.local_addr();
    let reload = listener.reload_handle();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(listener.serve(app, async move {
        let _ = rx.await;
    }));
    Running {
        addr,
        reload,
        shutdown: Some(tx),
        task: Some(task),
    }
}

/// The listener of a `[DEFAULT]` section as the config loader reads it
/// ([`ListenerOptions`], then [`ListenerConfig::from_options`]); either step's error as text.
pub fn listener_config(default: &Section) -> Result<ListenerConfig, String> {
    let options = ListenerOptions::from_default_section(default).map_err(|e| e.to_string())?;
    ListenerConfig::from_options(&options).map_err(|e| e.to_string())
}

pub fn loopback0() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

// ---------------------------------------------------------------------------------------
// Clients

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A rustls client trusting `ca_pem`, presenting `identity` if given, offering `alpn`.
pub fn client_config(
    ca_pem: &str,
    identity: Option<&Leaf>,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match identity {
        Some(leaf) => {
            let certs: Vec<CertificateDer<'static>> =
                rustls_pemfile::certs(&mut leaf.cert_pem.as_bytes())
                    .map(Result::unwrap)
                    .collect();
            let key = rustls_pemfile::private_key(&mut leaf.key_pem.as_bytes())
                .unwrap()
                .unwrap();
            builder.with_client_auth_cert(certs, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

pub const BOTH_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// Connect and complete the client side of the TLS handshake.
pub async fn tls_connect(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::IpAddress(addr.ip().into());
    TlsConnector::from(config).connect(name, tcp).await
}

/// The server certificate (leaf DER) a client connection saw.
pub fn server_cert_of(stream: &TlsStream<TcpStream>) -> Vec<u8> {
    stream.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

/// One HTTP/1.1 keep-alive GET on an open stream: (status, body).
pub async fn http1_get<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await?;
    stream.flush().await?;

    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed before a response",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .expect("content-length");
    while buf.len() < head_end + len {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed inside the body",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok((status, buf[head_end..head_end + len].to_vec()))
}

/// The rustls error inside an I/O error, if any.
pub fn rustls_error(e: &std::io::Error) -> Option<&rustls::Error> {
    e.get_ref()?.downcast_ref::<rustls::Error>()
}

/// Connect with `config` and try one request: Ok((status, body)) if the server served it.
pub async fn try_tls_get(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    path: &str,
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = tls_connect(addr, config).await?;
    http1_get(&mut s, path, &[]).await
}

/// A reqwest client trusting `ca_pem` only, with `identity` if given.
pub fn reqwest_client(ca_pem: &str, identity: Option<&Leaf>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .timeout(STEP);
    if let Some(leaf) = identity {
        let pem = format!("{}{}", leaf.cert_pem, leaf.key_pem);
        b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    b.build().unwrap()
}
