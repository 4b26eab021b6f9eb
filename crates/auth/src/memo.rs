//! The per-thread memo in front of the in-process token cache.
//!
//! A token that this worker thread has already let through is recognised by its cache key
//! (SHA-256) in a small direct-mapped table of the thread's own: no lock, no shared reference
//! count touched, no future to run. Each slot holds what the filter gives a request of that
//! identity (the identity of the request context and keystonemiddleware's identity headers) as
//! copies of this thread's own, so serving a request from it writes no memory another core
//! reads.
//!
//! It changes nothing the cache decides: a slot is taken only from an entry the cache (or the
//! authorization server) just gave, keeps that entry's `valid_until`, and is used only while
//! the injected clock is before it, exactly as the cache entry would be; the token's `exp` and
//! the certificate binding are checked on every use. A slot another token maps to is simply
//! replaced. Not used with a shared memcached, where memcached is the cache (as upstream) and
//! every request asks it.

use std::cell::RefCell;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue};
use tacker_common::Identity;

use crate::cache::CacheKey;
use crate::mapping::AuthContext;

/// Slots per thread (a power of two). A slot is a few hundred bytes plus the identity.
const SLOTS: usize = 64;

/// One memoised token of one filter instance.
pub(crate) struct Memoized {
    /// The filter instance (a process can run several, with different settings).
    pub filter: u64,
    pub key: CacheKey,
    /// The cache entry's `valid_until` (injected-clock time; `None`: no TTL).
    pub valid_until: Option<f64>,
    /// The mapped token data (shared with the cache entry; read, never cloned, here).
    pub ctx: Arc<AuthContext>,
    /// This thread's copy of the identity the request context shares.
    pub identity: Arc<Identity>,
    /// This thread's copies of the identity headers, in a map with room for a request's own.
    pub template: HeaderMap,
    /// This thread's copy of the filter's `WWW-Authenticate` challenge.
    pub challenge: HeaderValue,
}

thread_local! {
    static MEMO: RefCell<Vec<Option<Memoized>>> = const { RefCell::new(Vec::new()) };
}

/// The slot of `key`: SHA-256 output is uniform, so its first byte spreads keys evenly.
fn slot(key: &CacheKey) -> usize {
    usize::from(key[0]) % SLOTS
}

/// Runs `f` on the memoised entry of `key` for `filter` if this thread has one that is still
/// valid at `now`; `None` otherwise. `f` must not reach the memo again.
pub(crate) fn with_valid<R>(
    filter: u64,
    key: &CacheKey,
    now: f64,
    f: impl FnOnce(&Memoized) -> R,
) -> Option<R> {
    MEMO.with(|memo| {
        let memo = memo.borrow();
        let entry = memo.get(slot(key))?.as_ref()?;
        (entry.filter == filter && entry.key == *key && entry.valid_until.is_none_or(|u| now < u))
            .then(|| f(entry))
    })
}

/// Memoises `entry` on this thread, replacing whatever its slot held.
pub(crate) fn store(entry: Memoized) {
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        if memo.is_empty() {
            memo.resize_with(SLOTS, || None);
        }
        let i = slot(&entry.key);
        memo[i] = Some(entry);
    });
}

/// A copy of `value` that shares no buffer (and so no reference count) with it.
pub(crate) fn own_copy(value: &HeaderValue) -> HeaderValue {
    let mut copy = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
    copy.set_sensitive(value.is_sensitive());
    copy
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(filter: u64, key: CacheKey, valid_until: Option<f64>) -> Memoized {
        Memoized {
            filter,
            key,
            valid_until,
            ctx: Arc::new(AuthContext {
                user_id: String::new(),
                user_name: String::new(),
                user_domain_id: String::new(),
                user_domain_name: String::new(),
                roles_header: String::new(),
                roles: Vec::new(),
                is_admin: false,
                scope: crate::mapping::Scope::System,
                expires_at: None,
                token_info: Arc::new(serde_json::Map::new()),
                derived: Default::default(),
            }),
            identity: Arc::new(Identity::default()),
            template: HeaderMap::new(),
            challenge: HeaderValue::from_static("c"),
        }
    }

    #[test]
    fn a_slot_serves_only_its_filter_and_key_and_only_before_valid_until() {
        let key = [7u8; 32];
        store(entry(1, key, Some(100.0)));
        assert_eq!(with_valid(1, &key, 99.0, |_| ()), Some(()));
        assert_eq!(with_valid(1, &key, 100.0, |_| ()), None, "at valid_until");
        assert_eq!(with_valid(2, &key, 99.0, |_| ()), None, "another filter");
        let mut other = key;
        other[31] = 8; // same slot, another key
        assert_eq!(with_valid(1, &other, 99.0, |_| ()), None);
        // The other key takes the slot over.
        store(entry(1, other, None));
        assert_eq!(with_valid(1, &key, 1.0, |_| ()), None);
        assert_eq!(with_valid(1, &other, 1e12, |_| ()), Some(()));
    }

    #[test]
    fn each_thread_has_its_own_memo() {
        let key = [9u8; 32];
        store(entry(3, key, None));
        let elsewhere = std::thread::spawn(move || with_valid(3, &key, 0.0, |_| ()))
            .join()
            .unwrap();
        assert_eq!(elsewhere, None);
        assert_eq!(with_valid(3, &key, 0.0, |_| ()), Some(()));
    }

    #[test]
    fn own_copy_is_equal_but_shares_nothing() {
        let shared = HeaderValue::from_str("project-a").unwrap();
        let copy = own_copy(&shared);
        assert_eq!(copy, shared);
        assert_ne!(copy.as_bytes().as_ptr(), shared.as_bytes().as_ptr());
    }
}
