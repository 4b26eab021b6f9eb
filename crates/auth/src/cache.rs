//! In-process token cache (keystonemiddleware `_cache.TokenCache` with its in-process client):
//! bounded in entries and memory, per-entry TTL, single flight for concurrent misses.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::mapping::AuthContext;
use crate::Clock;

/// Bounds of the in-process cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheLimits {
    /// Most entries kept.
    pub max_entries: u64,
    /// Most (estimated) bytes kept.
    pub max_bytes: u64,
}

impl Default for CacheLimits {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// SHA-256 of the token: the cache never holds a token in clear. The shared memcached's
/// plain-mode key is `tokens/<lowercase hex of this>` ([`memcache_key`]), as on Python nodes.
pub type CacheKey = [u8; 32];

pub fn cache_key(token: &str) -> CacheKey {
    Sha256::digest(token.as_bytes()).into()
}

/// keystonemiddleware's memcached key for `token` in plain mode: `_cache.TokenCache`'s
/// `'tokens/%s' % _hash_key(token)`, the hex digest of SHA-256 over the UTF-8 token.
pub fn memcache_key(token: &str) -> String {
    let mut s = String::with_capacity(7 + 64);
    s.push_str("tokens/");
    for b in cache_key(token) {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[derive(Clone, Debug)]
pub(crate) enum Cached {
    Valid(Arc<AuthContext>),
    /// Negative cache: the AS said `active` is not `true`, or the token expired.
    Inactive,
}

#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub value: Cached,
    /// Injected-clock time after which the entry is stale (`None`: only evicted by bounds).
    pub valid_until: Option<f64>,
    ttl: Option<Duration>,
    weight: u32,
}

impl Entry {
    /// TTL = `token_cache_time` (0: unlimited), never beyond the token's expiry.
    pub fn new(value: Cached, now: f64, token_cache_time: i64) -> Self {
        let base = (token_cache_time > 0).then_some(token_cache_time as f64);
        let until_exp = match &value {
            Cached::Valid(ctx) => ctx.expires_at.map(|exp| (exp - now).max(0.0)),
            Cached::Inactive => None,
        };
        let ttl = match (base, until_exp) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let weight = match &value {
            Cached::Valid(ctx) => {
                serde_json::to_vec(&*ctx.token_info)
                    .map(|v| v.len())
                    .unwrap_or(0)
                    + 512
            }
            Cached::Inactive => 64,
        };
        Self {
            value,
            valid_until: ttl.map(|t| now + t),
            ttl: ttl.map(Duration::from_secs_f64),
            weight: u32::try_from(weight).unwrap_or(u32::MAX),
        }
    }

    /// The entry as the single flight hands it to the requests waiting on it, kept no longer:
    /// with a shared memcached, memcached is the cache (as upstream) and this process only
    /// coalesces concurrent lookups of one token. `valid_until` still holds the TTL.
    pub fn not_retained(mut self) -> Self {
        self.ttl = Some(Duration::ZERO);
        self
    }
}

struct EntryExpiry;

impl moka::Expiry<CacheKey, Entry> for EntryExpiry {
    fn expire_after_create(
        &self,
        _key: &CacheKey,
        value: &Entry,
        _now: Instant,
    ) -> Option<Duration> {
        value.ttl
    }

    fn expire_after_update(
        &self,
        _key: &CacheKey,
        value: &Entry,
        _now: Instant,
        _current: Option<Duration>,
    ) -> Option<Duration> {
        value.ttl
    }
}

/// The cache. moka's own timer reclaims memory; staleness is decided with the injected clock
/// (`Entry::valid_until`), so tests can move time.
#[derive(Clone)]
pub(crate) struct TokenCache {
    pub inner: moka::future::Cache<CacheKey, Entry>,
    pub clock: Arc<dyn Clock>,
}

impl TokenCache {
    pub fn new(limits: CacheLimits, clock: Arc<dyn Clock>) -> Self {
        // Every entry weighs at least max_bytes / max_entries, which bounds the count too.
        let min_weight = u32::try_from((limits.max_bytes / limits.max_entries.max(1)).max(1))
            .unwrap_or(u32::MAX);
        let inner = moka::future::Cache::builder()
            .max_capacity(limits.max_bytes)
            .weigher(move |_k: &CacheKey, v: &Entry| v.weight.max(min_weight))
            .expire_after(EntryExpiry)
            .build();
        Self { inner, clock }
    }
}
