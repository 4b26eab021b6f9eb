//! The API listener: plain HTTP, HTTPS, or HTTPS with required client certificates
//! (`[DEFAULT] use_ssl`, `ssl_cert_file`, `ssl_key_file`, `ssl_ca_file`), graceful shutdown.
//! (Plain HTTP only until the TLS work lands.)

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;

/// Where and how to listen.
#[derive(Clone, Debug)]
pub struct ListenerConfig {
    pub addr: SocketAddr,
}

#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("listener failed: {0}")]
    Serve(std::io::Error),
}

/// Serve `app` until `shutdown` resolves, then finish in-flight requests.
pub async fn serve(
    cfg: ListenerConfig,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ListenerError> {
    let listener = tokio::net::TcpListener::bind(cfg.addr)
        .await
        .map_err(|source| ListenerError::Bind {
            addr: cfg.addr,
            source,
        })?;
    tracing::info!(addr = %cfg.addr, "listening (http)");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ListenerError::Serve)
}
