//! What one client may hold: deadlines and counts that keep silent or slow connections from
//! locking other clients out.
//!
//! - [`CappedListener`]: the accept loop takes a slot before it calls `accept(2)`, so at most
//!   [`ConnectionLimits::max_connections`] connections (clamped below the process's open-file
//!   limit) are open; the rest wait in the kernel's listen backlog instead of failing with
//!   `EMFILE`. Accept errors back off (10 ms doubling to 1 s) and are logged at most once per
//!   [`LOG_INTERVAL`].
//! - The handshake deadline (TLS handshake, HTTP/1-vs-2 detection, first request head), the
//!   HTTP/2 keep-alive pings, and the HTTP/1 options are set on axum-server/hyper in
//!   `mod.rs`; the idle timeout, the request-body deadline, `max_header_line` and the early
//!   `413` are applied per request in `conn.rs`.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum_server::{AddrListener, Address};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The largest request body any API reads: axum's `DefaultBodyLimit` (2 MiB), which the
/// `/v1.0` handlers' `Bytes` extractors apply (the SOL apps read at most 1 MiB). A request
/// that declares more in `Content-Length` is answered `413` before its body is read.
pub const MAX_REQUEST_BODY: u64 = 2 * 1024 * 1024;

/// Default of `[DEFAULT] client_handshake_timeout`.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of `[DEFAULT] client_socket_timeout` (oslo.service: 900 s).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(900);
/// Default of `[DEFAULT] request_body_timeout`.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// Default of `[DEFAULT] max_header_line` (oslo.service: 16384).
pub const DEFAULT_MAX_HEADER_LINE: usize = 16384;
/// Default of `[DEFAULT] max_connections`. Each open connection holds about 25 KiB (hyper's
/// read and write buffers, its task): 1,024 keep a burst of new clients under about 25 MiB,
/// and are still ten times what upstream serves at once (eventlet's `wsgi_default_pool_size`
/// of 100 green threads per worker). Clients beyond it wait in the listen backlog.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// HTTP/2 PING interval on an open connection, and how long the client has to answer one.
pub const HTTP2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);
pub const HTTP2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// A repeated warning (accept failing, connection limit reached) is logged at most once per
/// this interval, with the number of occurrences left out.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Connection deadlines and counts (`[DEFAULT]` options; see `etc/tacker.conf`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// `client_handshake_timeout` (int seconds, default 10; ours): from accept to a complete
    /// first request head, TLS handshake and protocol detection included.
    pub handshake_timeout: Duration,
    /// `client_socket_timeout` (int seconds, default 900, 0 = never; oslo.service): a
    /// connection with no request in progress for this long is closed (HTTP/1 keep-alive,
    /// HTTP/2 with no open stream; HTTP/2 PING answers do not count as activity).
    pub idle_timeout: Option<Duration>,
    /// `request_body_timeout` (int seconds, default 60, 0 = never; ours): the whole request
    /// body must arrive within this time of the request head, else `408` and the connection
    /// closes.
    pub body_timeout: Option<Duration>,
    /// `max_header_line` (int, default 16384; oslo.service): a request with a longer header
    /// line (`name: value`) gets `400`.
    pub max_header_line: usize,
    /// `wsgi_keep_alive` (bool, default true; oslo.service): false closes every HTTP/1
    /// connection after one response.
    pub keep_alive: bool,
    /// `max_connections` (int, default 1024; ours): open client connections at most; further
    /// clients wait in the listen backlog. Clamped at start-up below the open-file limit
    /// ([`effective_max_connections`]).
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            body_timeout: Some(DEFAULT_BODY_TIMEOUT),
            max_header_line: DEFAULT_MAX_HEADER_LINE,
            keep_alive: true,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// The soft `RLIMIT_NOFILE` of this process, from `/proc/self/limits` (Linux); `None` where
/// it cannot be read or is unlimited.
pub fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_file_limit(&limits)
}

fn parse_open_file_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `configured`, clamped so that the database pool, outbound clients, key files and logs
/// keep file descriptors when every connection slot is taken: an eighth of the open-file
/// limit, at least 64, stays free.
pub fn effective_max_connections(configured: usize, open_files: Option<u64>) -> usize {
    let Some(limit) = open_files else {
        return configured.max(1);
    };
    let reserve = (limit / 8).max(64);
    let usable = usize::try_from(limit.saturating_sub(reserve)).unwrap_or(usize::MAX);
    configured.min(usable).max(1)
}

/// Logs a repeated event at most once per interval; says how many were left out.
#[derive(Debug)]
pub(crate) struct RateLimited {
    interval: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl RateLimited {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            state: Mutex::new((None, 0)),
        }
    }

    /// `Some(left_out)` when the event should be logged now (`left_out` events since the
    /// last logged one were not), `None` when it falls inside the interval.
    pub(crate) fn check(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match state.0 {
            Some(last) if now.duration_since(last) < self.interval => {
                state.1 += 1;
                None
            }
            _ => {
                let left_out = state.1;
                *state = (Some(now), 0);
                Some(left_out)
            }
        }
    }
}

/// The peer address of a connection accepted by [`CappedListener`] (axum-server's
/// [`Address`] for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

impl Address for PeerAddr {
    type Stream = CappedStream;
    type Listener = CappedListener;
}

/// A TCP listener that holds one slot per open connection.
#[derive(Debug)]
pub struct CappedListener {
    tcp: TcpListener,
    slots: Arc<Semaphore>,
    max: usize,
    full_log: RateLimited,
    error_log: RateLimited,
}

impl CappedListener {
    pub(crate) fn new(tcp: TcpListener, max: usize) -> Self {
        Self {
            tcp,
            slots: Arc::new(Semaphore::new(max)),
            max,
            full_log: RateLimited::new(LOG_INTERVAL),
            error_log: RateLimited::new(LOG_INTERVAL),
        }
    }
}

/// Errors of one connection that was already gone when accepted: retried at once.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

impl AddrListener<CappedStream, PeerAddr> for CappedListener {
    async fn bind_to(_addr: PeerAddr) -> io::Result<Self> {
        // `Listener::bind` binds the socket itself; axum-server is always given a listener.
        Err(io::Error::other(
            "CappedListener is created from a bound socket",
        ))
    }

    async fn accept_stream(&self) -> io::Result<(CappedStream, PeerAddr)> {
        let slot = match self.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if let Some(left_out) = self.full_log.check(Instant::now()) {
                    tracing::warn!(
                        max_connections = self.max,
                        repeated = left_out,
                        "connection limit reached; new clients wait in the listen backlog"
                    );
                }
                self.slots
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| io::Error::other("connection slots closed"))?
            }
        };
        let mut backoff = Duration::from_millis(10);
        loop {
            match self.tcp.accept().await {
                Ok((stream, peer)) => {
                    return Ok((
                        CappedStream {
                            inner: stream,
                            _slot: slot,
                        },
                        PeerAddr(peer),
                    ))
                }
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // EMFILE/ENFILE/ENOBUFS: nothing improves by retrying at once.
                    if let Some(left_out) = self.error_log.check(Instant::now()) {
                        tracing::error!(
                            error = %e,
                            repeated = left_out,
                            retry_in_ms = backoff.as_millis() as u64,
                            "accept failed"
                        );
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    fn get_local_addr(&self) -> io::Result<PeerAddr> {
        self.tcp.local_addr().map(PeerAddr)
    }
}

/// An accepted connection and its slot, given back when the connection is dropped.
#[derive(Debug)]
pub struct CappedStream {
    inner: TcpStream,
    _slot: OwnedSemaphorePermit,
}

impl CappedStream {
    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.inner
    }
}

impl AsyncRead for CappedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CappedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_soft_open_file_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max processes             63483                63483                processes \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(parse_open_file_limit(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_open_file_limit(unlimited), None);
        assert!(open_file_limit().is_some_and(|n| n > 0));
    }

    #[test]
    fn connection_cap_stays_below_the_open_file_limit() {
        // systemd's default soft limit: 128 descriptors stay for everything else.
        assert_eq!(effective_max_connections(4096, Some(1024)), 896);
        assert_eq!(effective_max_connections(100, Some(1024)), 100);
        // Small limits keep at least 64 free, and the cap never reaches 0.
        assert_eq!(effective_max_connections(4096, Some(256)), 192);
        assert_eq!(effective_max_connections(4096, Some(10)), 1);
        assert_eq!(effective_max_connections(4096, None), 4096);
    }

    #[test]
    fn repeated_events_are_logged_once_per_interval() {
        let log = RateLimited::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(log.check(t0), Some(0));
        for ms in [100, 200, 9_999] {
            assert_eq!(log.check(t0 + Duration::from_millis(ms)), None);
        }
        assert_eq!(log.check(t0 + Duration::from_secs(10)), Some(3));
        assert_eq!(log.check(t0 + Duration::from_secs(11)), None);
        assert_eq!(log.check(t0 + Duration::from_secs(25)), Some(1));
    }
}
