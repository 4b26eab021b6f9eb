//! `memcached_servers` options and faults, in process: start-up errors name the file, section,
//! option and value; a memcached that refuses connections or never answers is a cache miss
//! (introspect, answer 200), each exchange bounded by `memcache_pool_socket_timeout`, and a
//! failed server is left alone for `memcache_pool_dead_retry` seconds; requests queued for a
//! `memcache_pool_maxsize` pool behind a hung server do not add up timeouts, and the pool
//! holds at most that many connections. wiremock stands in for
//! the authorization server and a silent TCP listener for a hung memcached (fault injection).
//! The exchanges with a real memcached, shared with keystonemiddleware, are in the server's
//! `memcache_shared_cache` tests.

use std::time::Duration;

use axum::body::Body;
use axum::routing::any;
use axum::Router;
use http::{Request, StatusCode};
use serde_json::json;
use tacker_auth::ExternalOAuth2Layer;
use tacker_common::config::Section;
use tacker_common::RequestContext;
use tower::ServiceExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const INTROSPECT_PATH: &str = "/introspect";
const TOKEN: &str = "shared-cache-token";
/// Bound on a whole test request: without the socket timeout, a request to the silent
/// listener would never finish. Not a speed check.
const REQUEST_BOUND: Duration = Duration::from_secs(60);

fn conf(endpoint: &str, extra: &[(&str, &str)]) -> Section {
    let mut s = Section::new("ext_oauth2_auth");
    for (k, v) in [
        ("introspect_endpoint", endpoint),
        ("audience", "https://as.example/realm"),
        ("auth_method", "client_secret_basic"),
        ("client_id", "c"),
        ("client_secret", "s"),
        ("mapping_project_id", "project_id"),
        ("mapping_project_name", "project_name"),
        ("mapping_project_domain_id", "domain_id"),
        ("mapping_project_domain_name", "domain_name"),
        ("mapping_user_id", "client_id"),
        ("mapping_user_name", "username"),
        ("mapping_user_domain_id", "domain_id"),
        ("mapping_user_domain_name", "domain_name"),
        ("mapping_roles", "roles"),
    ] {
        s.set(k, v, "/etc/tacker/tacker.conf");
    }
    for (k, v) in extra {
        s.set(*k, *v, "/etc/tacker/tacker.conf");
    }
    s
}

async fn authorization_server(introspections: u64) -> MockServer {
    let server = MockServer::start().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Mock::given(method("POST"))
        .and(path(INTROSPECT_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "active": true, "exp": now + 3600, "client_id": "c", "username": "u",
            "project_id": "p", "project_name": "pn", "domain_id": "d", "domain_name": "dn",
            "roles": "member",
        })))
        .expect(introspections)
        .mount(&server)
        .await;
    server
}

async fn call(layer: &ExternalOAuth2Layer) -> StatusCode {
    call_with(layer, TOKEN).await
}

async fn call_with(layer: &ExternalOAuth2Layer, token: &str) -> StatusCode {
    let app = Router::new()
        .route(
            "/v1.0/vims",
            any(|ctx: RequestContext| async move { ctx.user_id.clone().unwrap_or_default() }),
        )
        .layer(layer.clone());
    let request = Request::builder()
        .uri("/v1.0/vims")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    tokio::time::timeout(REQUEST_BOUND, app.oneshot(request))
        .await
        .expect("the request finished: every memcached exchange is bounded")
        .unwrap()
        .status()
}

/// A hung memcached: a listener that accepts connections, counts them, and never answers.
/// Its address (for `memcached_servers`), the count, and the task to abort at the end.
async fn hung_memcached() -> (
    String,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    tokio::task::JoinHandle<()>,
) {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = silent.local_addr().unwrap().to_string();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = accepted.clone();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            open.push(socket);
        }
    });
    (address, accepted, held)
}

fn start_error(extra: &[(&str, &str)]) -> String {
    let conf = conf("https://as.example/introspect", extra);
    ExternalOAuth2Layer::from_sections(&conf, &Section::new("filter:external_oauth2_token"))
        .unwrap_err()
        .to_string()
}

#[test]
fn bad_memcached_servers_are_start_up_errors_naming_the_option() {
    for (value, why) in [
        (
            "unix:/run/memcached/memcached.sock",
            "unix sockets are not supported",
        ),
        (
            "127.0.0.1:11211,[::1]:11211",
            "inet6:[address]:port for IPv6",
        ),
        ("cache.example:99999", "a port from 1 to 65535"),
    ] {
        let err = start_error(&[("memcached_servers", value)]);
        assert!(
            err.starts_with(&format!(
                "/etc/tacker/tacker.conf [ext_oauth2_auth] memcached_servers = \"{value}\": "
            )),
            "{err}"
        );
        assert!(err.contains(why), "{err}");
    }
}

#[test]
fn socket_timeout_must_bound_the_exchanges() {
    let err = start_error(&[
        ("memcached_servers", "127.0.0.1:11211"),
        ("memcache_pool_socket_timeout", "0"),
    ]);
    assert!(
        err.starts_with("/etc/tacker/tacker.conf [ext_oauth2_auth] memcache_pool_socket_timeout"),
        "{err}"
    );
}

#[test]
fn deprecated_memcache_servers_name_configures_the_shared_cache() {
    // Parsed (and so validated) under the deprecated name too.
    let err = start_error(&[("memcache_servers", "unix:/tmp/m.sock")]);
    assert!(
        err.starts_with(
            "/etc/tacker/tacker.conf [ext_oauth2_auth] memcache_servers = \"unix:/tmp/m.sock\": "
        ),
        "{err}"
    );
    assert!(err.contains("unix sockets are not supported"), "{err}");
}

#[tokio::test]
async fn memcached_refusing_connections_is_a_miss() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = authorization_server(3).await;
    let servers = format!("127.0.0.1:{port}");
    let conf = conf(
        &format!("{}{INTROSPECT_PATH}", server.uri()),
        &[
            ("memcached_servers", &servers),
            ("memcache_pool_socket_timeout", "1"),
            ("memcache_pool_dead_retry", "300"),
        ],
    );
    let layer =
        ExternalOAuth2Layer::from_sections(&conf, &Section::new("filter:external_oauth2_token"))
            .unwrap();
    // Each request is introspected: memcached is the cache, nothing is kept in process.
    for _ in 0..3 {
        assert_eq!(call(&layer).await, StatusCode::OK);
    }
}

#[tokio::test]
async fn memcached_that_never_answers_is_a_miss_within_the_socket_timeout() {
    // Accepts connections and reads nothing back: a hung memcached.
    let (servers, _, held) = hung_memcached().await;
    let server = authorization_server(2).await;
    let conf = conf(
        &format!("{}{INTROSPECT_PATH}", server.uri()),
        &[
            ("memcached_servers", &servers),
            ("memcache_pool_socket_timeout", "1"),
            ("memcache_pool_dead_retry", "300"),
            ("memcache_security_strategy", "ENCRYPT"),
            ("memcache_secret_key", "k"),
        ],
    );
    let layer =
        ExternalOAuth2Layer::from_sections(&conf, &Section::new("filter:external_oauth2_token"))
            .unwrap();
    // The first request waits out one socket timeout and marks the server dead; the second
    // does not contact it (dead_retry) and is answered straight from introspection.
    assert_eq!(call(&layer).await, StatusCode::OK);
    assert_eq!(call(&layer).await, StatusCode::OK);
    held.abort();
}

/// `memcache_pool_maxsize = 1` and a hung memcached: eight requests with eight tokens queue
/// for the one connection. The first waits out the socket timeout and marks the server dead;
/// the others, once they have the slot, see that and do not try again, so none of them waits
/// behind more than about one socket timeout (a functional bound of the issue, generous;
/// without it the last would wait behind seven timeouts). And the pool holds one connection:
/// memcached sees exactly one.
#[tokio::test]
async fn requests_queued_for_a_hung_memcached_do_not_add_up_socket_timeouts() {
    let (servers, accepted, held) = hung_memcached().await;
    const QUEUED: u64 = 8;
    let server = authorization_server(QUEUED).await;
    let conf = conf(
        &format!("{}{INTROSPECT_PATH}", server.uri()),
        &[
            ("memcached_servers", &servers),
            ("memcache_pool_socket_timeout", "1"),
            ("memcache_pool_dead_retry", "300"),
            ("memcache_pool_maxsize", "1"),
            ("memcache_pool_conn_get_timeout", "10"),
        ],
    );
    let layer =
        ExternalOAuth2Layer::from_sections(&conf, &Section::new("filter:external_oauth2_token"))
            .unwrap();
    let started = std::time::Instant::now();
    let calls: Vec<_> = (0..QUEUED)
        .map(|i| {
            let layer = layer.clone();
            tokio::spawn(async move { call_with(&layer, &format!("queued-token-{i}")).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), StatusCode::OK);
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "{QUEUED} queued requests took {took:?}: socket timeouts added up"
    );
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "memcache_pool_maxsize = 1: one connection"
    );
    held.abort();
}

#[test]
fn paste_section_memcached_servers_wins_and_is_named_in_errors() {
    let conf = conf(
        "https://as.example/introspect",
        &[("memcached_servers", "127.0.0.1:11211")],
    );
    let mut paste = Section::new("filter:external_oauth2_token");
    paste.set("memcached_servers", "unix:/x", "/etc/tacker/api-paste.ini");
    let err = ExternalOAuth2Layer::from_sections(&conf, &paste)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "/etc/tacker/api-paste.ini [filter:external_oauth2_token] memcached_servers = \"unix:/x\": "
        ),
        "{err}"
    );
}
