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
        let method = req.method().clone();
        let prefix = self.prefix.clone();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let resp = fut.await?;
            record(&prefix, &method, resp.status().as_u16(), started.elapsed());
            Ok(resp)
        })
    }
}

/// One label set's handles, as a worker thread keeps them.
struct Handles {
    /// Held, so that no other prefix can be allocated at its address while it is cached.
    prefix: Arc<str>,
    method: http::Method,
    status: u16,
    requests: metrics::Counter,
    duration: metrics::Histogram,
}

/// Label sets a thread keeps handles for; others (a client inventing methods) are looked up
/// in the recorder each time, as every request was before.
const HANDLES_PER_THREAD: usize = 64;

thread_local! {
    static HANDLES: std::cell::RefCell<Vec<Handles>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Counts one request of `prefix`, `method`, `status` and records how long it took. Looking a
/// label set up in the recorder formats, hashes and compares three labels and allocates; the
/// handles it returns stay valid for the process (one recorder, installed once, never
/// replaced), so each worker thread keeps the ones it has used and finds them by pointer and
/// value.
fn record(prefix: &Arc<str>, method: &http::Method, status: u16, took: std::time::Duration) {
    let seconds = took.as_secs_f64();
    HANDLES.with(|handles| {
        let mut handles = handles.borrow_mut();
        if let Some(h) = handles
            .iter()
            .find(|h| h.status == status && Arc::ptr_eq(&h.prefix, prefix) && h.method == *method)
        {
            h.requests.increment(1);
            h.duration.record(seconds);
            return;
        }
        let requests = metrics::counter!(
            "tacker_http_requests_total",
            "prefix" => prefix.to_string(),
            "method" => method.as_str().to_owned(),
            "status" => status.to_string()
        );
        let duration = metrics::histogram!(
            "tacker_http_request_duration_seconds",
            "prefix" => prefix.to_string(),
            "method" => method.as_str().to_owned()
        );
        requests.increment(1);
        duration.record(seconds);
        if handles.len() < HANDLES_PER_THREAD {
            handles.push(Handles {
                prefix: prefix.clone(),
                method: method.clone(),
                status,
                requests,
                duration,
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// `record` on a thread of its own (its handle cache dies with it) under a recorder of
    /// the test's own; returns the rendered exposition.
    fn rendered(f: impl FnOnce() + Send + 'static) -> String {
        std::thread::spawn(move || {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), BUCKETS)
                .unwrap()
                .build_recorder();
            let handle = recorder.handle();
            metrics::with_local_recorder(&recorder, f);
            handle.render()
        })
        .join()
        .unwrap()
    }

    fn count(text: &str, series: &str) -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
    }

    #[test]
    fn cached_handles_count_each_label_set_once_per_request() {
        let text = rendered(|| {
            let v1: Arc<str> = Arc::from("/v1.0");
            let same_text: Arc<str> = Arc::from("/v1.0");
            let root: Arc<str> = Arc::from("/");
            let ms = Duration::from_millis(1);
            for _ in 0..3 {
                record(&v1, &http::Method::GET, 200, ms);
            }
            record(&v1, &http::Method::GET, 404, ms);
            record(&same_text, &http::Method::GET, 200, ms);
            record(&root, &http::Method::GET, 200, ms);
            record(&v1, &http::Method::POST, 201, ms);
        });
        let total = |labels: &str| count(&text, &format!("tacker_http_requests_total{{{labels}}}"));
        assert_eq!(
            total(r#"prefix="/v1.0",method="GET",status="200""#),
            Some(4),
            "{text}"
        );
        assert_eq!(
            total(r#"prefix="/v1.0",method="GET",status="404""#),
            Some(1)
        );
        assert_eq!(total(r#"prefix="/",method="GET",status="200""#), Some(1));
        assert_eq!(
            total(r#"prefix="/v1.0",method="POST",status="201""#),
            Some(1)
        );
        let observed = |labels: &str| {
            count(
                &text,
                &format!("tacker_http_request_duration_seconds_count{{{labels}}}"),
            )
        };
        assert_eq!(observed(r#"prefix="/v1.0",method="GET""#), Some(5));
        assert_eq!(observed(r#"prefix="/v1.0",method="POST""#), Some(1));
    }

    #[test]
    fn label_sets_beyond_the_cache_are_still_counted() {
        let n = HANDLES_PER_THREAD + 6;
        let text = rendered(move || {
            let p: Arc<str> = Arc::from("/v1.0");
            for round in 0..2 {
                for i in 0..n {
                    let method = http::Method::from_bytes(format!("M{i}").as_bytes()).unwrap();
                    record(&p, &method, 200 + round, Duration::from_millis(1));
                }
            }
        });
        for i in [0, HANDLES_PER_THREAD - 1, HANDLES_PER_THREAD, n - 1] {
            for status in [200, 201] {
                let series = format!(
                    r#"tacker_http_requests_total{{prefix="/v1.0",method="M{i}",status="{status}"}}"#
                );
                assert_eq!(count(&text, &series), Some(1), "{series}\n{text}");
            }
        }
    }
}
