//! A real SIGTERM sent to this test process shuts the listener down gracefully: it stops
//! accepting and the in-flight request still gets its answer. Alone in its own test binary;
//! `shutdown_signal()` installs the handlers before the signal is sent, so the process
//! survives it.
#![cfg(unix)]

mod tls_support;

use tacker_server::listener::{self, Listener, ListenerConfig};
use tls_support::*;

#[tokio::test]
async fn sigterm_stops_accepting_and_finishes_in_flight_request() {
    let (p, mut ctl) = probe();
    let listener = Listener::bind(ListenerConfig::plain(loopback0()))
        .await
        .unwrap();
    let addr = listener.local_addr();
    let server = tokio::spawn(listener.serve(probe_app(p), listener::shutdown_signal()));

    let in_flight = tokio::spawn(async move {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        http1_get(&mut s, "/slow", &[]).await
    });
    bounded("request reaches handler", ctl.entered.recv())
        .await
        .unwrap();

    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());

    bounded("listener closes", async {
        while tokio::net::TcpStream::connect(addr).await.is_ok() {
            tokio::task::yield_now().await;
        }
    })
    .await;

    ctl.release.notify_one();
    let (status, body) = bounded("in-flight response", in_flight)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((status, body.as_slice()), (200, &b"done"[..]));
    bounded("serve returns", server).await.unwrap().unwrap();
}
