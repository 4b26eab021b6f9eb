//! Prometheus metrics on a listener of their own (`[metrics] bind_host`, `bind_port`; off
//! without a port): `GET /metrics` in the text exposition format.
//!
//! Every crate emits through the `metrics` facade (a no-op until a recorder is installed);
//! this module installs `metrics-exporter-prometheus`'s recorder and renders it. The names:
//!
//! | Metric | Labels | Emitted by |
//! |---|---|---|
//! | `tacker_http_requests_total` | `prefix` (urlmap prefix), `method`, `status` | [`RequestMetricsLayer`] |
//! | `tacker_http_request_duration_seconds` (histogram) | `prefix`, `method` | [`RequestMetricsLayer`] |
//! | `tacker_introspection_requests_total` | `outcome` (`active`, `inactive`, `unavailable`, `error`) | `tacker-auth` |
//! | `tacker_introspection_duration_seconds` (histogram) | `outcome` | `tacker-auth` |
//! | `tacker_token_cache_requests_total` | `cache` (`local`, `shared`), `result` (`hit`, `miss`) | `tacker-auth` |
//! | `tacker_outbound_token_requests_total` | `outcome` (`ok`, `unavailable`, `error`) | `tacker-outbound` |
//! | `tacker_barbican_requests_total` | `outcome` (`ok`, `client_error`, `server_error`, `transport_error`) | `tacker-outbound` |
//! | `tacker_db_connections_in_use` (gauge) | | the store's pool, read at each scrape |

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use http::Request;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tacker_vim::store::VimStore;
use tower::{Layer, Service};

/// `[metrics]`: where the metrics listener binds; no port, no listener (and no recording).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsOptions {
    /// `bind_host` (IP address, default `127.0.0.1`).
    pub bind_host: std::net::IpAddr,
    /// `bind_port` (port, default unset = metrics off).
    pub bind_port: Option<u16>,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        Self {
            bind_host: std::net::IpAddr::from([127, 0, 0, 1]),
            bind_port: None,
        }
    }
}

impl MetricsOptions {
    pub fn addr(&self) -> Option<SocketAddr> {
        self.bind_port.map(|p| SocketAddr::new(self.bind_host, p))
    }
}

/// Latency buckets in seconds, for every `*_duration_seconds` histogram.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Whether a recorder is installed: without one, [`RequestMetricsLayer`] skips even the
/// label formatting.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Install the process-wide recorder. Call once, before the app is built.
pub fn install() -> Result<PrometheusHandle, String> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), BUCKETS)
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| e.to_string())?;
    ENABLED.store(true, Ordering::Relaxed);
    Ok(handle)
}

/// How often histogram samples are folded into their buckets (see [`upkeep`]).
const UPKEEP_PERIOD: std::time::Duration = std::time::Duration::from_secs(5);

/// The recorder keeps every histogram sample until something folds them into the buckets:
/// a scrape does, and so does `run_upkeep`, which `install_recorder` leaves to the caller.
/// Without it, a server that nobody scrapes grows by 8 bytes per sample, two samples a
/// request (about 5 MiB a minute at 20,000 requests a second), and gets slower as it grows.
async fn upkeep(handle: PrometheusHandle) {
    let mut tick = tokio::time::interval(UPKEEP_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        handle.run_upkeep();
    }
}

/// Bind the metrics listener (a start-up error when the address is taken) and serve
/// `GET /metrics` until the process ends.
pub async fn serve(
    addr: SocketAddr,
    handle: PrometheusHandle,
    store: Arc<dyn VimStore>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let handle_for_upkeep = handle.clone();
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            let store = store.clone();
            async move {
                if let Some(n) = store.connections_in_use() {
                    metrics::gauge!("tacker_db_connections_in_use").set(n as f64);
                }
                (
                    [(
                        http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    handle.render(),
                )
                    .into_response()
            }
        }),
    );
    tracing::info!(%addr, "metrics listener on http://{addr}/metrics");
    tokio::spawn(upkeep(handle_for_upkeep));
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("metrics listener stopped: {e}");
        }
    }))
}

/// Counts and times every request of one urlmap prefix.
#[derive(Clone, Debug)]
pub struct RequestMetricsLayer {
    prefix: Arc<str>,
}

impl RequestMetricsLayer {
    /// `prefix` as the urlmap has it (`""` for `/`).
    pub fn new(prefix: &str) -> Self {
        let shown = if prefix.is_empty() { "/" } else { prefix };
        Self {
            prefix: Arc::from(shown),
        }
    }
}

impl<S> Layer<S> for RequestMetricsLayer {
    type Service = RequestMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestMetricsService {
            inner,
            prefix: self.prefix.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct RequestMetricsService<S> {
    inner: S,
    prefix: Arc<str>,
}

impl<S> Service<Request<Body>> for RequestMetricsService<S>
where
    S: Service<Request<Body>, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        if !ENABLED.load(Ordering::Relaxed) {
            return Box::pin(self.inner.call(req));
        }
        let started = Instant::now();
        let method = req.method().as_str().to_owned();
        let prefix = self.prefix.clone();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let resp = fut.await?;
            let status = resp.status().as_u16().to_string();
            metrics::counter!(
                "tacker_http_requests_total",
                "prefix" => prefix.to_string(),
                "method" => method.clone(),
                "status" => status
            )
            .increment(1);
            metrics::histogram!(
                "tacker_http_request_duration_seconds",
                "prefix" => prefix.to_string(),
                "method" => method
            )
            .record(started.elapsed().as_secs_f64());
            Ok(resp)
        })
    }
}
