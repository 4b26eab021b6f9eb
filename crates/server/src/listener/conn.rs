//! One accepted connection: the TLS handshake (if any), then HTTP/1.1 or h2 with the
//! connection's identity attached to every request.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use tacker_common::PeerCertificate;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use super::forwarded::{Forwarded, ForwardedClientCert};
use super::HANDSHAKE_TIMEOUT;

/// The connection a request arrived on, in its extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub remote_addr: SocketAddr,
    pub local_addr: SocketAddr,
    /// True for HTTPS (the request's scheme is `https`).
    pub tls: bool,
}

pub(crate) struct Accepted {
    pub stream: TcpStream,
    pub remote_addr: SocketAddr,
    pub local_addr: SocketAddr,
    pub tls: Option<TlsAcceptor>,
    pub forwarded: Option<Arc<ForwardedClientCert>>,
    pub app: Router,
    pub builder: Arc<auto::Builder<TokioExecutor>>,
    pub watcher: Watcher,
}

/// What every request of one connection gets in its extensions.
#[derive(Clone)]
struct ConnIdentity {
    info: ConnectionInfo,
    /// The TLS client certificate the handshake verified.
    tls_peer: Option<PeerCertificate>,
    forwarded: Option<Arc<ForwardedClientCert>>,
}

impl ConnIdentity {
    fn apply(&self, req: &mut http::Request<Incoming>) {
        let peer = match &self.forwarded {
            Some(fwd) => match fwd.take(req.headers_mut(), self.info.remote_addr.ip()) {
                Forwarded::Untrusted => self.tls_peer.clone(),
                // The front end's own TLS client certificate (if it re-encrypts with mTLS)
                // identifies the proxy, not the client: only what it forwards counts.
                Forwarded::Trusted(der) => der.map(|d| PeerCertificate(Arc::new(d))),
            },
            None => self.tls_peer.clone(),
        };
        let ext = req.extensions_mut();
        // A value an earlier layer could have put there never survives: the listener is the
        // only source of the peer certificate.
        ext.remove::<PeerCertificate>();
        if let Some(peer) = peer {
            ext.insert(peer);
        }
        ext.insert(self.info.clone());
        ext.insert(ConnectInfo(self.info.remote_addr));
    }
}

pub(crate) async fn serve_connection(accepted: Accepted) {
    let Accepted {
        stream,
        remote_addr,
        local_addr,
        tls,
        forwarded,
        app,
        builder,
        watcher,
    } = accepted;
    let _ = stream.set_nodelay(true);
    let info = ConnectionInfo {
        remote_addr,
        local_addr,
        tls: tls.is_some(),
    };
    match tls {
        None => {
            let identity = ConnIdentity {
                info,
                tls_peer: None,
                forwarded,
            };
            run_http(TokioIo::new(stream), identity, app, &builder, watcher).await;
        }
        Some(acceptor) => {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
            let tls_stream = match handshake {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    // The client's problem (no certificate, untrusted CA, bad protocol):
                    // worth a trace for operators, not an error of the server.
                    tracing::info!(peer = %remote_addr, error = %e, "TLS handshake refused");
                    return;
                }
                Err(_) => {
                    tracing::info!(peer = %remote_addr, "TLS handshake timed out");
                    return;
                }
            };
            let tls_peer = tls_stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|leaf| PeerCertificate(Arc::new(leaf.to_vec())));
            let identity = ConnIdentity {
                info,
                tls_peer,
                forwarded,
            };
            run_http(TokioIo::new(tls_stream), identity, app, &builder, watcher).await;
        }
    }
}

async fn run_http<I>(
    io: TokioIo<I>,
    identity: ConnIdentity,
    app: Router,
    builder: &auto::Builder<TokioExecutor>,
    watcher: Watcher,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let remote_addr = identity.info.remote_addr;
    let service = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
        identity.apply(&mut req);
        tower::ServiceExt::oneshot(app.clone(), req)
    });
    let conn = builder
        .serve_connection_with_upgrades(io, service)
        .into_owned();
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(peer = %remote_addr, error = %e, "connection ended with an error");
    }
}
