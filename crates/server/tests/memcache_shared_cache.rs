//! Issue 9, item 1 acceptance: the token cache shared through memcached, with real processes:
//! Debian's memcached (started on a free port by the test), the real authorization server
//! (which counts introspections), `tacker-server` and keystonemiddleware 13.0.1 (PyPI, with
//! python-memcached) configured from the same tacker.conf text.
//!
//! * For `None`, `MAC` and `ENCRYPT` with one secret, a token validated first by either side
//!   is served from memcached by the other: one introspection in all. With another secret the
//!   other side misses (and introspects), never an error. A value whose MAC does not verify is
//!   a miss on both sides.
//! * memcached stopped mid-run: every request still answers 200, through introspection;
//!   started again: the cache is used again. Garbage under a token's key: a miss, 200.
//!
//! Needs `scripts/setup/authz.sh`, `scripts/setup/kmw.sh`, `scripts/setup/debian-packages.sh`.

use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;
use tacker_test_support::{
    upstream_cache_key, AuthMethod, KmwOptions, KmwReference, Memcached, OAuth2Stack, StackOptions,
    GUIDE_API_PASTE, USER_ID,
};

const METHOD: AuthMethod = AuthMethod::ClientSecretBasic;
const SECRET: &str = "fleet-shared-secret";
const OTHER_SECRET: &str = "another-nodes-secret";
const REQUEST_BOUND: Duration = Duration::from_secs(60);
/// How long the cache may take to be used again after memcached is back (dead_retry is 1s).
const RECOVERY_DEADLINE: Duration = Duration::from_secs(30);

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_BOUND)
        .build()
        .expect("client")
}

/// `GET /v1.0/vims` on `base` with the token; must be 200 (the reference echoes, ours lists).
async fn ok(base: &str, token: &str, who: &str, log: impl Fn() -> String) {
    let response = client()
        .get(format!("{base}/v1.0/vims"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    assert_eq!(status, StatusCode::OK, "{who}: {body}\n{}", log());
}

async fn introspections(stack: &OAuth2Stack) -> u64 {
    stack.authz.stats().await.expect("stats").introspections
}

async fn start_stack(memcached: &Memcached, extra: &[(&str, &str)]) -> OAuth2Stack {
    let servers = memcached.address();
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    OAuth2Stack::start(
        METHOD,
        StackOptions {
            binary: Some(env!("CARGO_BIN_EXE_tacker-server").into()),
            rust_log: Some("info,tacker_auth=debug".into()),
            ..StackOptions::default()
        },
        move |c| {
            extra
                .iter()
                .fold(c.set("memcached_servers", servers), |c, (k, v)| c.set(k, v))
        },
    )
    .await
    .expect("stack")
}

/// Flips one character of the signature (the first 64 bytes) of a protected value.
fn tamper(value: &[u8]) -> Vec<u8> {
    let mut out = value.to_vec();
    out[10] = if out[10] == b'A' { b'B' } else { b'A' };
    out
}

async fn shared_with_keystonemiddleware(strategy: Option<&str>) {
    let memcached = Memcached::start().await.expect("memcached");
    let extra: Vec<(&str, &str)> = match strategy {
        Some(s) => vec![
            ("memcache_security_strategy", s),
            ("memcache_secret_key", SECRET),
        ],
        None => vec![],
    };
    let stack = start_stack(&memcached, &extra).await;
    let kmw = stack
        .start_reference()
        .await
        .expect("keystonemiddleware reference");
    let rust = stack.tacker.base_url();
    let python = kmw.base_url();
    let rust_log = || stack.tacker.log();
    let kmw_log = || kmw.log();

    // Validated by Rust first, then served to Python from memcached.
    let first = stack.authz.token_for(METHOD).await.expect("token");
    stack.authz.reset_stats().await.expect("reset");
    ok(rust, &first, "ours", rust_log).await;
    ok(python, &first, "reference", kmw_log).await;
    ok(rust, &first, "ours", rust_log).await;
    ok(python, &first, "reference", kmw_log).await;
    assert_eq!(
        introspections(&stack).await,
        1,
        "ours:\n{}\nreference:\n{}",
        stack.tacker.log(),
        kmw.log()
    );

    // The entry sits under the key keystonemiddleware's own code computes.
    let key = upstream_cache_key(&first, strategy.map(|s| (s, SECRET))).expect("upstream key");
    let (stored, flags) = memcached
        .get_raw(&key)
        .await
        .expect("memcached")
        .expect("an entry under the upstream key");
    assert_eq!(flags, 0, "python-memcached's flags for bytes");
    if strategy.is_none() {
        assert_eq!(key, tacker_auth::memcache_key(&first));
        let data: Value = serde_json::from_slice(&stored).expect("plain mode stores JSON");
        assert_eq!(data["origin_token_metadata"]["active"], true);
        assert_eq!(data["user_id"], USER_ID);
    } else {
        assert!(key.starts_with("tokens/b'") && key.ends_with('\''), "{key}");
        assert!(serde_json::from_slice::<Value>(&stored).is_err());
    }

    // Validated by Python first, then served to Rust from memcached.
    let second = stack.authz.token_for(METHOD).await.expect("token");
    ok(python, &second, "reference", kmw_log).await;
    ok(rust, &second, "ours", rust_log).await;
    ok(rust, &second, "ours", rust_log).await;
    assert_eq!(introspections(&stack).await, 2, "{}", stack.tacker.log());

    let Some(strategy) = strategy else {
        return;
    };

    // A value whose MAC does not verify: a miss on either side, which then writes a good one.
    let key = upstream_cache_key(&second, Some((strategy, SECRET))).expect("upstream key");
    let (stored, _) = memcached.get_raw(&key).await.unwrap().expect("entry");
    memcached.set_raw(&key, &tamper(&stored)).await.unwrap();
    ok(rust, &second, "ours, corrupt MAC", rust_log).await;
    assert_eq!(introspections(&stack).await, 3);
    ok(python, &second, "reference, after Rust rewrote it", kmw_log).await;
    assert_eq!(introspections(&stack).await, 3);
    let (stored, _) = memcached.get_raw(&key).await.unwrap().expect("entry");
    memcached.set_raw(&key, &tamper(&stored)).await.unwrap();
    ok(python, &second, "reference, corrupt MAC", kmw_log).await;
    assert_eq!(introspections(&stack).await, 4);
    ok(rust, &second, "ours, after Python rewrote it", rust_log).await;
    assert_eq!(introspections(&stack).await, 4);

    // A Python node with another secret shares nothing, and fails nothing.
    let other = KmwReference::start(
        &stack.pki,
        KmwOptions {
            conf: stack.conf.replace(SECRET, OTHER_SECRET),
            paste: Some(GUIDE_API_PASTE.to_owned()),
            tls: false,
            debug: true,
        },
    )
    .await
    .expect("reference with another secret");
    let other_log = || other.log();
    let third = stack.authz.token_for(METHOD).await.expect("token");
    ok(rust, &third, "ours", rust_log).await;
    assert_eq!(introspections(&stack).await, 5);
    ok(other.base_url(), &third, "other secret", other_log).await;
    assert_eq!(introspections(&stack).await, 6, "a miss there");
    ok(python, &third, "reference, same secret", kmw_log).await;
    assert_eq!(introspections(&stack).await, 6);
    let fourth = stack.authz.token_for(METHOD).await.expect("token");
    ok(other.base_url(), &fourth, "other secret", other_log).await;
    assert_eq!(introspections(&stack).await, 7);
    ok(rust, &fourth, "ours", rust_log).await;
    assert_eq!(introspections(&stack).await, 8, "a miss here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_cache_with_keystonemiddleware_strategy_none() {
    shared_with_keystonemiddleware(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_cache_with_keystonemiddleware_strategy_mac() {
    shared_with_keystonemiddleware(Some("MAC")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_cache_with_keystonemiddleware_strategy_encrypt() {
    shared_with_keystonemiddleware(Some("ENCRYPT")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memcached_outage_garbage_and_expiry() {
    let mut memcached = Memcached::start().await.expect("memcached");
    let stack = start_stack(
        &memcached,
        &[
            ("memcache_pool_socket_timeout", "1"),
            ("memcache_pool_dead_retry", "1"),
            // Longer than the realm's 300 s tokens: the token's exp caps the entry's life.
            ("token_cache_time", "3600"),
        ],
    )
    .await;
    let rust = stack.tacker.base_url();
    let log = || stack.tacker.log();
    let token = stack.authz.token_for(METHOD).await.expect("token");
    let key = tacker_auth::memcache_key(&token);
    stack.authz.reset_stats().await.expect("reset");

    for _ in 0..3 {
        ok(rust, &token, "ours", log).await;
    }
    assert_eq!(introspections(&stack).await, 1);
    let ttl = memcached.ttl(&key).await.unwrap().unwrap_or_else(|| {
        panic!(
            "no entry under {key}\n{}\n{}",
            stack.tacker.log(),
            memcached.log()
        )
    });
    assert!(
        (1..=300).contains(&ttl),
        "entry ttl {ttl}: capped by the token's exp"
    );

    // A single flight stays in front of memcached: one fresh token, many concurrent requests.
    let fresh = stack.authz.token_for(METHOD).await.expect("token");
    let burst = join_all((0..50).map(|_| ok(rust, &fresh, "burst", log))).await;
    assert_eq!(burst.len(), 50);
    assert_eq!(introspections(&stack).await, 2);

    // memcached down: every request answers 200 through introspection.
    memcached.stop();
    for n in 1..=3 {
        ok(rust, &token, "memcached down", log).await;
        assert_eq!(introspections(&stack).await, 2 + n);
    }

    // memcached back (empty): once dead_retry has passed, a request fills it, and from then
    // on requests are served from it (no introspection).
    memcached.restart().await.expect("memcached restart");
    let until = Instant::now() + RECOVERY_DEADLINE;
    let mut seen = Vec::new();
    loop {
        let before = introspections(&stack).await;
        ok(rust, &token, "memcached back", log).await;
        let after = introspections(&stack).await;
        let stored = memcached.get_raw(&key).await.unwrap().is_some();
        if after == before && stored {
            break;
        }
        seen.push((after - before, stored));
        assert!(
            Instant::now() < until,
            "the cache was not used again within {RECOVERY_DEADLINE:?}: (introspections, stored) per request {seen:?}\n{}\nmemcached: {}",
            stack.tacker.log(),
            memcached.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        seen.iter().any(|(n, _)| *n == 1),
        "requests before the cache was used again were introspected: {seen:?}"
    );
    let settled = introspections(&stack).await;
    for _ in 0..3 {
        ok(rust, &token, "cached again", log).await;
    }
    assert_eq!(introspections(&stack).await, settled);

    // Garbage under the token's key: a miss (200), and a readable entry replaces it.
    memcached.set_raw(&key, b"\x80not json{").await.unwrap();
    ok(rust, &token, "garbage entry", log).await;
    assert_eq!(introspections(&stack).await, settled + 1);
    let (stored, _) = memcached.get_raw(&key).await.unwrap().expect("entry");
    let data: Value = serde_json::from_slice(&stored).expect("rewritten as token_data");
    assert_eq!(data["user_id"], USER_ID);
    ok(rust, &token, "rewritten entry", log).await;
    assert_eq!(introspections(&stack).await, settled + 1);
}
