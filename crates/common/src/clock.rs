//! Injected wall-clock time: assertion `iat`/`exp`, token expiry, cache TTLs and the VIM
//! registry's timestamps depend on it.

use std::fmt::Debug;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, as a trait so tests can move time.
pub trait Clock: Send + Sync + Debug + 'static {
    /// Current time in (fractional) seconds since the Unix epoch.
    fn now_unix(&self) -> f64;
}

/// The real clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> f64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }
}
