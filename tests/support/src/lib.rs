//! Tier-3 test harness: test PKI, free loopback ports, and the real peer processes (the
//! `tacker-server` binary, the `oidc-provider` authorization server, keystonemiddleware,
//! Barbican), started and stopped by pid with readiness polled against a deadline.
