//! The per-thread memo in front of the in-process token cache.
//!
//! A token that this worker thread has already let through is recognised in a small
//! direct-mapped table of the thread's own: no lock, no shared reference count touched, no
//! future to run, and no SHA-256 of the token (the cache key is computed only on a miss, so a
//! memo hit costs the same for a 40-byte opaque token as for a 1.5 KB JWT). The slot is chosen
//! by a hash with this thread's random keys (SipHash, `RandomState`), so nobody can aim tokens
//! at one slot; the slot keeps its own copy of the token, zeroed when the slot is dropped or
//! replaced, and compares it with the presented one in constant time. Each slot holds what the
//! filter gives a request of that identity (the identity of the request context and
//! keystonemiddleware's identity headers) as copies of this thread's own, so serving a request
//! from it writes no memory another core reads.
//!
//! It changes nothing the cache decides: a slot is taken only from an entry the cache (or the
//! authorization server) just gave, keeps that entry's `valid_until`, and is used only while
//! the injected clock is before it, exactly as the cache entry would be; the token's `exp` and
//! the certificate binding are checked on every use. A slot another token maps to is simply
//! replaced. Not used with a shared memcached, where memcached is the cache (as upstream) and
//! every request asks it.

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretSlice};
use tacker_common::Identity;

use crate::mapping::AuthContext;

/// Slots per thread (a power of two). A slot is a few hundred bytes plus the identity.
const SLOTS: usize = 64;

/// One memoised token of one filter instance.
pub(crate) struct Memoized {
    /// The filter instance (a process can run several, with different settings).
    pub filter: u64,
    /// The bearer token (zeroed on drop).
    pub token: SecretSlice<u8>,
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

/// One thread's slots and the random keys that spread tokens over them.
struct Memo {
    hasher: RandomState,
    slots: Vec<Option<Memoized>>,
}

impl Memo {
    fn slot(&self, token: &[u8]) -> usize {
        // Truncation is the point: the low bits pick the slot.
        (self.hasher.hash_one(token) as usize) % SLOTS
    }
}

thread_local! {
    static MEMO: RefCell<Option<Memo>> = const { RefCell::new(None) };
}

/// `a == b` in time that depends on their lengths only (not on where they first differ), so
/// the memo's answer time tells nothing about how much of a guessed token is right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Runs `f` on the memoised entry of `token` for `filter` if this thread has one that is still
/// valid at `now`; `None` otherwise. `f` must not reach the memo again.
pub(crate) fn with_valid<R>(
    filter: u64,
    token: &[u8],
    now: f64,
    f: impl FnOnce(&Memoized) -> R,
) -> Option<R> {
    MEMO.with(|memo| {
        let memo = memo.borrow();
        let memo = memo.as_ref()?;
        let entry = memo.slots[memo.slot(token)].as_ref()?;
        (entry.filter == filter
            && entry.valid_until.is_none_or(|u| now < u)
            && constant_time_eq(entry.token.expose_secret(), token))
        .then(|| f(entry))
    })
}

/// Memoises `entry` on this thread, replacing whatever its slot held.
pub(crate) fn store(entry: Memoized) {
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        let memo = memo.get_or_insert_with(|| Memo {
            hasher: RandomState::new(),
            slots: std::iter::repeat_with(|| None).take(SLOTS).collect(),
        });
        let i = memo.slot(entry.token.expose_secret());
        memo.slots[i] = Some(entry);
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

    fn entry(filter: u64, token: &[u8], valid_until: Option<f64>) -> Memoized {
        Memoized {
            filter,
            token: SecretSlice::from(token.to_vec()),
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
    fn a_slot_serves_only_its_filter_and_token_and_only_before_valid_until() {
        let token = b"token-a".as_slice();
        store(entry(1, token, Some(100.0)));
        assert_eq!(with_valid(1, token, 99.0, |_| ()), Some(()));
        assert_eq!(with_valid(1, token, 100.0, |_| ()), None, "at valid_until");
        assert_eq!(with_valid(2, token, 99.0, |_| ()), None, "another filter");
        assert_eq!(with_valid(1, b"token-", 99.0, |_| ()), None, "a prefix");
        assert_eq!(with_valid(1, b"token-a ", 99.0, |_| ()), None, "longer");
        // Another token that lands in the same slot is not served, and takes it over.
        let other = (0u32..)
            .map(|i| format!("token-{i}").into_bytes())
            .find(|t| {
                MEMO.with(|m| {
                    let m = m.borrow();
                    let m = m.as_ref().unwrap();
                    m.slot(t) == m.slot(token)
                })
            })
            .unwrap();
        assert_eq!(with_valid(1, &other, 99.0, |_| ()), None);
        store(entry(1, &other, None));
        assert_eq!(with_valid(1, token, 1.0, |_| ()), None);
        assert_eq!(with_valid(1, &other, 1e12, |_| ()), Some(()));
    }

    #[test]
    fn each_thread_has_its_own_memo() {
        store(entry(3, b"token-b", None));
        let elsewhere = std::thread::spawn(|| with_valid(3, b"token-b", 0.0, |_| ()))
            .join()
            .unwrap();
        assert_eq!(elsewhere, None);
        assert_eq!(with_valid(3, b"token-b", 0.0, |_| ()), Some(()));
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"xbc"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn own_copy_is_equal_but_shares_nothing() {
        let shared = HeaderValue::from_str("project-a").unwrap();
        let copy = own_copy(&shared);
        assert_eq!(copy, shared);
        assert_ne!(copy.as_bytes().as_ptr(), shared.as_bytes().as_ptr());
    }
}
