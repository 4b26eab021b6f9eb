//! Issue 3 acceptance: 1,000 concurrent requests carrying one fresh (uncached) token cause
//! exactly one introspection call at the real authorization server (single flight), and all
//! of them are answered 200. The count comes from the authorization server's own counter of
//! POSTs to its introspection endpoint.
//!
//! Needs `scripts/setup/authz.sh`.

use std::time::Duration;

use futures::future::join_all;
use tacker_test_support::{AuthMethod, OAuth2Stack, StackOptions};

const REQUESTS: usize = 1_000;
/// Bound of the whole burst (a hung server fails instead of hanging CI; not a speed check).
const BURST_BOUND: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_requests_with_one_fresh_token_introspect_once() {
    let stack = OAuth2Stack::start(
        AuthMethod::ClientSecretBasic,
        StackOptions {
            binary: Some(env!("CARGO_BIN_EXE_tacker-server").into()),
            rust_log: Some("warn".into()),
            ..StackOptions::default()
        },
        |c| c,
    )
    .await
    .expect("stack");
    let token = stack
        .authz
        .token_for(AuthMethod::ClientSecretBasic)
        .await
        .expect("token");
    stack.authz.reset_stats().await.expect("reset counters");

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(REQUESTS)
        .timeout(BURST_BOUND)
        .build()
        .expect("client");
    let url = stack.tacker.url("/v1.0/vims");
    let burst = join_all((0..REQUESTS).map(|_| {
        let req = client.get(&url).bearer_auth(&token);
        async move { req.send().await.map(|r| r.status()) }
    }));
    let statuses = tokio::time::timeout(BURST_BOUND, burst)
        .await
        .expect("burst finished within its bound");

    let mut ok = 0;
    for status in &statuses {
        match status {
            Ok(s) if s.as_u16() == 200 => ok += 1,
            other => panic!("request failed: {other:?}\n{}", stack.tacker.log()),
        }
    }
    assert_eq!(ok, REQUESTS);
    let stats = stack.authz.stats().await.expect("stats");
    assert_eq!(stats.introspections, 1, "introspection calls for one token");
}
