//! One accepted connection's identity on every request: an axum-server [`Accept`] wrapped
//! around the plain or rustls acceptor, and the service wrapper that writes the identity into
//! each request's extensions.

use std::future::{ready, Ready};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use axum::extract::ConnectInfo;
use axum_server::accept::Accept;
use axum_server::tls::TlsInfo;
use futures::future::Either;
use tacker_common::PeerCertificate;
use tokio::net::TcpStream;

use super::forwarded::{Forwarded, ForwardedClientCert};

/// The connection a request arrived on, in its extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub remote_addr: SocketAddr,
    pub local_addr: SocketAddr,
    /// True for HTTPS (the request's scheme is `https`).
    pub tls: bool,
}

/// Wraps the acceptor of the listener (`DefaultAcceptor` for plain HTTP, `RustlsAcceptor`
/// for HTTPS): reads the connection's addresses and hands the inner acceptor a service that
/// gives every request the connection's identity.
#[derive(Clone)]
pub(crate) struct ConnAcceptor<A> {
    inner: A,
    tls: bool,
    forwarded: Option<Arc<ForwardedClientCert>>,
}

impl<A> ConnAcceptor<A> {
    pub(crate) fn new(inner: A, tls: bool, forwarded: Option<Arc<ForwardedClientCert>>) -> Self {
        Self {
            inner,
            tls,
            forwarded,
        }
    }
}

impl<A, S> Accept<TcpStream, S> for ConnAcceptor<A>
where
    A: Accept<TcpStream, ConnService<S>>,
{
    type Stream = A::Stream;
    type Service = A::Service;
    type Future = Either<A::Future, Ready<io::Result<(A::Stream, A::Service)>>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let addrs = stream
            .peer_addr()
            .and_then(|remote| Ok((remote, stream.local_addr()?)));
        let (remote_addr, local_addr) = match addrs {
            Ok(addrs) => addrs,
            // The client is gone already.
            Err(e) => return Either::Right(ready(Err(e))),
        };
        let _ = stream.set_nodelay(true);
        let service = ConnService {
            inner: service,
            identity: Arc::new(ConnIdentity {
                info: ConnectionInfo {
                    remote_addr,
                    local_addr,
                    tls: self.tls,
                },
                tls_peer: OnceLock::new(),
                forwarded: self.forwarded.clone(),
            }),
        };
        Either::Left(self.inner.accept(stream, service))
    }
}

/// What every request of one connection gets in its extensions.
struct ConnIdentity {
    info: ConnectionInfo,
    /// The leaf of the client certificate chain the TLS handshake verified, taken from
    /// axum-server's [`TlsInfo`] on the connection's first request.
    tls_peer: OnceLock<Option<PeerCertificate>>,
    forwarded: Option<Arc<ForwardedClientCert>>,
}

impl ConnIdentity {
    fn apply<B>(&self, req: &mut http::Request<B>) {
        let tls_peer = if self.info.tls {
            self.tls_peer
                .get_or_init(|| {
                    // axum-server's `TlsService` puts the handshake's certificates into every
                    // request of the connection just before this service runs; extensions
                    // never come from the wire.
                    req.extensions()
                        .get::<Arc<TlsInfo>>()
                        .and_then(|info| info.peer_certificates.first())
                        .map(|leaf| PeerCertificate(Arc::new(leaf.clone())))
                })
                .clone()
        } else {
            None
        };
        let peer = match &self.forwarded {
            Some(fwd) => match fwd.take(req.headers_mut(), self.info.remote_addr.ip()) {
                Forwarded::Untrusted => tls_peer,
                // The front end's own TLS client certificate (if it re-encrypts with mTLS)
                // identifies the proxy, not the client: only what it forwards counts.
                Forwarded::Trusted(der) => der.map(|d| PeerCertificate(Arc::new(d))),
            },
            None => tls_peer,
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

/// The service every connection's requests go through before the app.
#[derive(Clone)]
pub(crate) struct ConnService<S> {
    inner: S,
    identity: Arc<ConnIdentity>,
}

impl<S, B> tower::Service<http::Request<B>> for ConnService<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        self.identity.apply(&mut req);
        self.inner.call(req)
    }
}
