//! The API listener: plain HTTP, HTTPS, or HTTPS with required client certificates, as
//! Tacker's `tacker/wsgi.py` `Server` (`[DEFAULT] bind_host`, `bind_port`, `use_ssl`,
//! `ssl_cert_file`, `ssl_key_file`, `ssl_ca_file`), on axum-server with rustls (HTTP/1.1 and
//! h2).
//!
//! - `ssl_ca_file` set: every connection must present a client certificate chaining to it;
//!   the handshake is refused otherwise (Tacker: `cert_reqs = ssl.CERT_REQUIRED`).
//! - The verified client certificate (DER) is attached to every request of its connection as
//!   [`tacker_common::PeerCertificate`]; it is never read from a client-supplied header. Only
//!   when [`ForwardedClientCert`] is configured (off by default) is a PEM header accepted, and
//!   only from the listed proxy addresses.
//! - SIGHUP reloads the certificate, key and CA files (axum-server's `RustlsConfig`);
//!   established connections keep the configuration they were accepted with.
//! - Every connection has a deadline from accept to its first complete request head (TLS
//!   handshake and HTTP/1-vs-2 detection included), an idle timeout, HTTP/2 keep-alive
//!   pings, a request-body deadline, and a slot among at most `max_connections` (kept below
//!   the open-file limit); a declared body over [`MAX_REQUEST_BODY`] is answered `413` before
//!   it is read ([`ConnectionLimits`], `limits.rs`).
//! - Shutdown stops accepting, lets in-flight requests finish for at most
//!   [`ListenerConfig::drain_timeout`] (axum-server's graceful `Handle`), then returns.
//!
//! # Entry points (called by `main.rs`)
//! ```text
//! ListenerConfig::from_options(&ServerConfig.default.listener) -> Result<ListenerConfig, ListenerError>
//! ListenerConfig::plain(SocketAddr) -> ListenerConfig          // plain HTTP, defaults
//! serve(cfg: ListenerConfig, app: Router, shutdown: impl Future<Output = ()> + Send + 'static)
//!     -> Result<(), ListenerError>                               // bind + serve until shutdown
//! shutdown_signal() -> impl Future<Output = ()> + Send + 'static   // SIGTERM or SIGINT
//! ```
//! For tests and callers that need the bound port or the reload hook: [`Listener::bind`],
//! [`Listener::local_addr`], [`Listener::reload_handle`], [`Listener::serve`].
//!
//! Requests also carry [`ConnectionInfo`] (remote/local address, whether the connection is
//! TLS: the root app's version `href` uses `https` then) and axum's `ConnectInfo<SocketAddr>`.

mod config;
mod conn;
mod forwarded;
mod limits;
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum_server::accept::DefaultAcceptor;
use axum_server::tls_rustls::RustlsAcceptor;
use axum_server::{Handle, Server};
use tokio::net::TcpListener;

use limits::{CappedListener, PeerAddr};

pub use crate::config::ConfiguredPath;
pub use config::TlsFiles;
pub use conn::ConnectionInfo;
pub use forwarded::ForwardedClientCert;
pub use limits::{effective_max_connections, open_file_limit, ConnectionLimits, MAX_REQUEST_BODY};
pub use tls::{LoadedCertificate, ReloadHandle};

/// How long a client may take to send a complete HTTP/1 request head (default of
/// [`ListenerConfig::header_read_timeout`]).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long in-flight requests may run after shutdown was asked for (Tacker/oslo.service's
/// `graceful_shutdown_timeout` default is 60 s; 30 s keeps a stuck client from holding a
/// restart for a minute).
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Where and how to listen.
#[derive(Clone, Debug)]
pub struct ListenerConfig {
    /// `[DEFAULT] bind_host` (default `0.0.0.0`) and `bind_port` (default 9890), resolved.
    pub addr: SocketAddr,
    /// `[DEFAULT] use_ssl = True`: certificate, key and client CA files. `None`: plain HTTP.
    pub tls: Option<TlsFiles>,
    /// Client certificate forwarded by a trusted TLS-terminating front end
    /// (`[DEFAULT] ssl_client_cert_header` + `ssl_client_cert_trusted_proxies`); off by default.
    pub forwarded_client_cert: Option<ForwardedClientCert>,
    /// Bound on finishing in-flight requests after shutdown ([`DEFAULT_DRAIN_TIMEOUT`]).
    pub drain_timeout: Duration,
    /// Bound on reading an HTTP/1 request head ([`HEADER_READ_TIMEOUT`]): a client that
    /// never finishes one cannot hold a connection forever.
    pub header_read_timeout: Duration,
    /// Deadlines and counts per connection (`[DEFAULT]` options, [`ConnectionLimits`]).
    pub limits: ConnectionLimits,
}

impl ListenerConfig {
    /// Plain HTTP on `addr`, no forwarded certificates, default drain timeout.
    pub fn plain(addr: SocketAddr) -> Self {
        Self {
            addr,
            tls: None,
            forwarded_client_cert: None,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            header_read_timeout: HEADER_READ_TIMEOUT,
            limits: ConnectionLimits::default(),
        }
    }
}

/// Start-up and serving failures. Start-up messages keep Tacker's wording and add where the
/// value came from (`<file> [DEFAULT] <option> = "<value>"`).
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    /// A configured file does not exist (Tacker: `RuntimeError("Unable to find ssl_cert_file
    /// : <path>")`).
    #[error("Unable to find {option} : {path} ({at})")]
    MissingFile {
        option: &'static str,
        path: String,
        at: String,
    },
    /// A configured file exists but cannot be read or does not hold what it should.
    #[error("{at}: {reason}")]
    BadFile { at: String, reason: String },
    /// rustls refused the certificate/key combination or the client CA set.
    #[error("{at}: TLS configuration refused: {reason}")]
    Tls { at: String, reason: String },
    /// Tacker: "Unable to listen on <host>:<port>" / "Could not bind to ...".
    #[error("Could not bind to {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("listener failed: {0}")]
    Serve(std::io::Error),
}

/// A bound listening socket with its TLS state; [`Listener::serve`] runs it.
pub struct Listener {
    tcp: TcpListener,
    local_addr: SocketAddr,
    tls: Option<ReloadHandle>,
    forwarded: Option<Arc<ForwardedClientCert>>,
    drain_timeout: Duration,
    header_read_timeout: Duration,
    limits: ConnectionLimits,
    #[cfg(unix)]
    sighup: Option<tokio::signal::unix::Signal>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("local_addr", &self.local_addr)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// Load the TLS files (if any), bind the socket and register the SIGHUP handler (from now
    /// on SIGHUP no longer terminates the process).
    pub async fn bind(cfg: ListenerConfig) -> Result<Self, ListenerError> {
        let tls = match &cfg.tls {
            Some(files) => Some(ReloadHandle::load(files.clone())?),
            None => None,
        };
        let tcp = TcpListener::bind(cfg.addr)
            .await
            .map_err(|source| ListenerError::Bind {
                addr: cfg.addr,
                source,
            })?;
        let local_addr = tcp.local_addr().map_err(ListenerError::Serve)?;
        #[cfg(unix)]
        let sighup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "cannot install the SIGHUP handler; certificate reload by signal is off");
                None
            }
        };
        tracing::info!(
            addr = %local_addr,
            scheme = if tls.is_some() { "https" } else { "http" },
            client_cert_required = tls.as_ref().is_some_and(|t| t.files().ca_file.is_some()),
            "listening"
        );
        Ok(Self {
            tcp,
            local_addr,
            tls,
            forwarded: cfg.forwarded_client_cert.map(Arc::new),
            drain_timeout: cfg.drain_timeout,
            header_read_timeout: cfg.header_read_timeout,
            limits: cfg.limits,
            #[cfg(unix)]
            sighup,
        })
    }

    /// The bound address (the real port when `bind_port = 0`).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The hook SIGHUP calls: reload certificate, key and CA files. `None` for plain HTTP.
    pub fn reload_handle(&self) -> Option<ReloadHandle> {
        self.tls.clone()
    }

    /// Accept connections and serve `app` until `shutdown` resolves; then stop accepting, let
    /// in-flight requests finish (at most `drain_timeout`), close what is left and return.
    pub async fn serve(
        self,
        app: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ListenerError> {
        let Listener {
            tcp,
            local_addr: _,
            tls,
            forwarded,
            drain_timeout,
            header_read_timeout,
            limits,
            #[cfg(unix)]
            sighup,
        } = self;

        #[cfg(unix)]
        let reloader = sighup.map(|s| tokio::spawn(reload_on_sighup(s, tls.clone())));

        let open_files = open_file_limit();
        let max_connections = effective_max_connections(limits.max_connections, open_files);
        if max_connections < limits.max_connections {
            tracing::info!(
                max_connections,
                configured = limits.max_connections,
                open_file_limit = open_files,
                "max_connections lowered below the open-file limit"
            );
        }
        let handle: Handle<PeerAddr> = Handle::new();
        let https = tls.is_some();
        let mut server = Server::from_listener(CappedListener::new(tcp, max_connections))
            .handle(handle.clone())
            .accept_error_handler(move |peer: Option<&PeerAddr>, e| {
                log_accept_error(https, peer.map(|p| &p.0), e)
            })
            // From the end of the TLS handshake (bounded by the acceptor with the same
            // deadline) to the first request head: covers hyper's HTTP/1-vs-2 detection and
            // the HTTP/2 preface, which no hyper timeout does.
            .first_request_timeout(limits.handshake_timeout);
        // axum-server installs a timer, so hyper enforces the HTTP/1 header read timeout and
        // the HTTP/2 keep-alive.
        server
            .http_builder()
            .http1()
            .header_read_timeout(header_read_timeout)
            .keep_alive(limits.keep_alive)
            // HTTP/1 header names as Tacker's eventlet server writes them
            // (`Content-Type`, `X-Openstack-Request-Id`); names are case-insensitive anyway.
            .title_case_headers(true);
        server
            .http_builder()
            .http2()
            .keep_alive_interval(Some(limits::HTTP2_KEEP_ALIVE_INTERVAL))
            .keep_alive_timeout(limits::HTTP2_KEEP_ALIVE_TIMEOUT);
        let limits = Arc::new(limits);

        // Graceful shutdown: the accept loop ends and the socket closes, every connection
        // finishes the request it is serving, and after `drain_timeout` axum-server closes
        // whatever is still open.
        let drain = {
            let handle = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                tracing::info!(
                    connections = handle.connection_count(),
                    drain_timeout_s = drain_timeout.as_secs_f64(),
                    "shutting down: no longer accepting, finishing in-flight requests"
                );
                handle.graceful_shutdown(Some(drain_timeout));
            })
        };

        let make_service = app.into_make_service();
        let served = match tls {
            Some(tls) => {
                let rustls = RustlsAcceptor::new(tls.rustls_config())
                    .handshake_timeout(limits.handshake_timeout);
                server
                    .acceptor(conn::ConnAcceptor::new(rustls, true, forwarded, limits))
                    .serve(make_service)
                    .await
            }
            None => {
                server
                    .acceptor(conn::ConnAcceptor::new(
                        DefaultAcceptor,
                        false,
                        forwarded,
                        limits,
                    ))
                    .serve(make_service)
                    .await
            }
        };
        drain.abort();
        #[cfg(unix)]
        if let Some(task) = reloader {
            task.abort();
        }
        served.map_err(ListenerError::Serve)?;
        // A drained server returns once the last connection ended; connections still counted
        // now were cut by the drain timeout.
        if handle.connection_count() > 0 {
            tracing::warn!(
                connections = handle.connection_count(),
                "drain timeout reached; closing the remaining connections"
            );
        }
        tracing::info!("listener stopped");
        Ok(())
    }
}

/// A failed `accept(2)` (no address; axum-server backs off and goes on), or a connection
/// dropped before HTTP: a TLS handshake that failed or timed out is the client's problem (no
/// certificate, untrusted CA, bad protocol), worth a trace for operators rather than an error
/// of the server.
fn log_accept_error(https: bool, peer: Option<&SocketAddr>, e: &std::io::Error) {
    match peer {
        None => tracing::error!(error = %e, "accept failed"),
        Some(peer) if !https => tracing::info!(%peer, error = %e, "connection dropped"),
        Some(peer) if e.kind() == std::io::ErrorKind::TimedOut => {
            tracing::info!(%peer, "TLS handshake timed out")
        }
        Some(peer) => tracing::info!(%peer, error = %e, "TLS handshake refused"),
    }
}

#[cfg(unix)]
async fn reload_on_sighup(mut sighup: tokio::signal::unix::Signal, tls: Option<ReloadHandle>) {
    while sighup.recv().await.is_some() {
        match &tls {
            // The outcome (subject/not-after, or the error and "keeping the previous
            // configuration") is logged by `reload` itself.
            Some(handle) => {
                let _ = handle.reload();
            }
            None => {
                tracing::info!("SIGHUP received: plain HTTP listener, no certificates to reload")
            }
        }
    }
}

/// Bind `cfg.addr` and serve `app` until `shutdown` resolves, then finish in-flight requests
/// (bounded by `cfg.drain_timeout`). SIGHUP reloads the TLS files meanwhile.
pub async fn serve(
    cfg: ListenerConfig,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ListenerError> {
    Listener::bind(cfg).await?.serve(app, shutdown).await
}

/// Resolves on the first SIGTERM or SIGINT (Ctrl-C), the signals oslo.service stops on.
///
/// The handlers are installed when this is called (inside the tokio runtime), not when the
/// future is first polled, so a signal arriving in between is not lost and does not kill the
/// process.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let handlers = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        );
        async move {
            match handlers {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => tracing::info!("SIGTERM received"),
                        _ = int.recv() => tracing::info!("SIGINT received"),
                    }
                }
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "cannot install SIGTERM/SIGINT handlers; waiting for Ctrl-C only");
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
