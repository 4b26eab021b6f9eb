//! One accepted connection's identity on every request: an axum-server [`Accept`] wrapped
//! around the plain or rustls acceptor, and the service wrapper that writes the identity into
//! each request's extensions and applies the per-request limits of [`ConnectionLimits`]
//! (header line length, declared body size, body deadline, idle timeout).

use std::future::{ready, Future, Ready};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::response::Response;
use axum_server::accept::Accept;
use axum_server::tls::TlsInfo;
use axum_server::ConnectionShutdown;
use futures::future::{BoxFuture, Either};
use http::{header, HeaderValue, StatusCode};
use tacker_common::PeerCertificate;
use tokio::sync::oneshot;
use tokio::time::{Instant, Sleep};

use super::forwarded::{Forwarded, ForwardedClientCert};
use super::limits::{CappedStream, ConnectionLimits, MAX_REQUEST_BODY};

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
    limits: Arc<ConnectionLimits>,
}

impl<A> ConnAcceptor<A> {
    pub(crate) fn new(
        inner: A,
        tls: bool,
        forwarded: Option<Arc<ForwardedClientCert>>,
        limits: Arc<ConnectionLimits>,
    ) -> Self {
        Self {
            inner,
            tls,
            forwarded,
            limits,
        }
    }
}

impl<A, S> Accept<CappedStream, S> for ConnAcceptor<A>
where
    A: Accept<CappedStream, ConnService<S>>,
{
    type Stream = A::Stream;
    type Service = A::Service;
    type Future = Either<A::Future, Ready<io::Result<(A::Stream, A::Service)>>>;

    fn accept(&self, stream: CappedStream, service: S) -> Self::Future {
        let tcp = stream.tcp();
        let addrs = tcp
            .peer_addr()
            .and_then(|remote| Ok((remote, tcp.local_addr()?)));
        let (remote_addr, local_addr) = match addrs {
            Ok(addrs) => addrs,
            // The client is gone already.
            Err(e) => return Either::Right(ready(Err(e))),
        };
        let _ = tcp.set_nodelay(true);
        let service = ConnService {
            inner: service,
            limits: self.limits.clone(),
            activity: Arc::new(Activity::new()),
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
    limits: Arc<ConnectionLimits>,
    activity: Arc<Activity>,
}

impl<S, B> tower::Service<http::Request<B>> for ConnService<S>
where
    S: tower::Service<http::Request<Body>, Response = Response>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let shutdown = req.extensions().get::<ConnectionShutdown>().cloned();
        if let Some(refused) = refuse(&req, &self.limits) {
            if let Some(shutdown) = &shutdown {
                shutdown.graceful_shutdown();
            }
            return Box::pin(ready(Ok(refused)));
        }
        self.identity.apply(&mut req);
        if let (Some(idle), Some(shutdown)) = (self.limits.idle_timeout, &shutdown) {
            self.activity.watch_idle(idle, shutdown);
        }
        let in_flight = InFlight::new(self.activity.clone());
        let timed_out = Arc::new(AtomicBool::new(false));
        let req = req.map(|body| match self.limits.body_timeout {
            Some(limit) if !body.is_end_stream() => Body::from_stream(DeadlineStream {
                inner: Body::new(body).into_data_stream(),
                deadline: Box::pin(tokio::time::sleep(limit)),
                timed_out: timed_out.clone(),
                done: false,
            }),
            _ => Body::new(body),
        });
        let version = req.version();
        let method = req.method().clone();
        // Only what WebOb's page negotiation reads, should the body time out.
        let mut headers = http::HeaderMap::new();
        if let Some(accept) = req.headers().get(header::ACCEPT) {
            headers.insert(header::ACCEPT, accept.clone());
        }
        let call = self.inner.call(req);
        Box::pin(async move {
            let resp = call.await?;
            drop(in_flight);
            if !timed_out.load(Ordering::Relaxed) {
                return Ok(resp);
            }
            // The handler saw a failed body read; what it made of it does not matter: the
            // client gets a timeout and the connection (with the rest of the body) is closed.
            if let Some(shutdown) = &shutdown {
                shutdown.graceful_shutdown();
            }
            tracing::info!("request body not received within request_body_timeout; closing");
            Ok(close_after(
                tacker_common::WebObError::new(StatusCode::REQUEST_TIMEOUT)
                    .render(&method, &headers),
                version,
            ))
        })
    }
}

/// A request refused before the app sees it: a header line longer than `max_header_line`
/// (eventlet: `400 Header Line Too Long`), or a declared body larger than any API reads
/// (`413` at once, the body is never read).
fn refuse<B>(req: &http::Request<B>, limits: &ConnectionLimits) -> Option<Response> {
    let long_line = req
        .headers()
        .iter()
        .any(|(name, value)| name.as_str().len() + 2 + value.len() > limits.max_header_line);
    if long_line {
        let page = tacker_common::WebObError::new(StatusCode::BAD_REQUEST)
            .with_detail("Header Line Too Long")
            .render(req.method(), req.headers());
        return Some(close_after(page, req.version()));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_REQUEST_BODY) {
        let page = tacker_common::WebObError::new(StatusCode::PAYLOAD_TOO_LARGE)
            .render(req.method(), req.headers());
        return Some(close_after(page, req.version()));
    }
    None
}

/// `Connection: close` on an HTTP/1 answer whose request body stays unread (HTTP/2 has no
/// such header; the stream is reset and the connection shut down gracefully instead).
fn close_after(mut resp: Response, version: http::Version) -> Response {
    if version < http::Version::HTTP_2 {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

/// A request body that must end before its deadline.
struct DeadlineStream {
    inner: axum::body::BodyDataStream,
    deadline: Pin<Box<Sleep>>,
    timed_out: Arc<AtomicBool>,
    done: bool,
}

impl futures::Stream for DeadlineStream {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Pending => {
                if self.deadline.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.done = true;
                self.timed_out.store(true, Ordering::Relaxed);
                Poll::Ready(Some(Err(axum::Error::new(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "request body not received within request_body_timeout",
                )))))
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            ready => ready,
        }
    }
}

/// Requests in progress on one connection and when the last one ended: the idle timeout
/// (`client_socket_timeout`) counts from there. HTTP/2 PINGs are not requests, so a client
/// that only answers pings is still idle.
struct Activity {
    in_flight: AtomicUsize,
    last_end: Mutex<Instant>,
    watching: OnceLock<()>,
    /// Dropped with the connection's last service clone: ends the idle watcher.
    _closed: Mutex<Option<oneshot::Sender<()>>>,
    closed_rx: Mutex<Option<oneshot::Receiver<()>>>,
}

impl Activity {
    fn new() -> Self {
        let (tx, rx) = oneshot::channel();
        Self {
            in_flight: AtomicUsize::new(0),
            last_end: Mutex::new(Instant::now()),
            watching: OnceLock::new(),
            _closed: Mutex::new(Some(tx)),
            closed_rx: Mutex::new(Some(rx)),
        }
    }

    fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(
            self.last_end
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .elapsed(),
        )
    }

    /// Once per connection, on its first request (before it, the handshake deadline
    /// applies): a task that closes the connection gracefully once it has been idle for
    /// `idle`, and ends with the connection.
    fn watch_idle(self: &Arc<Self>, idle: Duration, shutdown: &ConnectionShutdown) {
        if self.watching.set(()).is_err() {
            return;
        }
        let Some(mut closed) = self
            .closed_rx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return;
        };
        let activity = Arc::downgrade(self);
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let mut wait = idle;
            loop {
                tokio::select! {
                    _ = &mut closed => return,
                    _ = tokio::time::sleep(wait) => {}
                }
                let Some(activity) = activity.upgrade() else {
                    return;
                };
                wait = match activity.idle_for() {
                    Some(for_) if for_ >= idle => {
                        shutdown.graceful_shutdown();
                        return;
                    }
                    Some(for_) => idle - for_,
                    None => idle,
                };
            }
        });
    }
}

/// One request in progress; its end is the connection's latest activity.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        *self.0.last_end.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}
