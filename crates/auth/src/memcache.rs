//! The token cache shared through memcached (`memcached_servers`): keystonemiddleware
//! 13.0.1's `_cache.TokenCache` / `SecureTokenCache` over oslo.cache's `MemcacheClientPool`
//! and python-memcached, reproduced so that Python and Rust nodes on the same memcached are one
//! cache.
//!
//! What a Python node does, and this module with it:
//! * Key: `tokens/<lowercase hex SHA-256 of the token>` (`_cache._hash_key`), or in secure mode
//!   `tokens/b'<base64>'` from [`memcache_crypt`](crate::memcache_crypt).
//! * Value: the `token_data` JSON of [`token_data`](crate::token_data), stored as bytes with
//!   client flags 0 (python-memcached's flags for `bytes`), MAC'd or encrypted in secure mode.
//! * Expiry: `token_cache_time` seconds on every write (0: no expiry), here also capped by the
//!   token's `exp` (the in-process cache's rule, [`Entry::new`]).
//! * Server choice (python-memcached `Client._get_server`): `cmemcache_hash(key) % len(servers)`
//!   in configuration order, where `cmemcache_hash` is `(crc32(key) >> 16) & 0x7fff`; while
//!   that server is dead the hash is replaced by `cmemcache_hash(str(hash) + str(i))` for
//!   `i` in `0..10` (`_SERVER_RETRIES`), and no live server means no cache.
//! * A failed exchange marks its server dead for `memcache_pool_dead_retry` seconds
//!   (`_Host.mark_dead`); a dead server is not contacted until then.
//! * Every failure, and every value this node cannot read, is "not cached": the token is
//!   introspected and the request answered as without a cache.
//!
//! Differences, all on the side of answering: each exchange (resolve, connect, request,
//! response) is bounded by `memcache_pool_socket_timeout` as a whole; a value that is not a
//! `token_data` dict is a miss here (upstream answers 401 or 500); `unix:` servers are refused
//! at start-up.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use memcache::exp::{AsyncMetaClient, Ttl};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{OnceCell, Semaphore};

use crate::cache::{memcache_key, Cached, Entry};
use crate::memcache_crypt::{derive_keys, DerivedKeys};
use crate::options::{ExtOAuth2Options, MappingOptions};
use crate::{token_data, AuthError, Clock};

/// python-memcached's `Client._SERVER_RETRIES`.
const SERVER_RETRIES: usize = 10;
/// python-memcached `_Host`: the port when a server names none.
const DEFAULT_PORT: u16 = 11211;
/// python-memcached's `_FLAG_TEXT` (a `str` value); read like bytes, as upstream re-encodes it.
const FLAG_TEXT: u32 = 1 << 4;

/// python-memcached's `cmemcache_hash`.
pub(crate) fn cmemcache_hash(key: &[u8]) -> u32 {
    (crc32fast::hash(key) >> 16) & 0x7fff
}

/// python-memcached `Client._get_server`: the index of the server for `key`, skipping dead
/// servers the way it rehashes; `None` when all tries land on dead servers.
pub(crate) fn pick_server(
    key: &[u8],
    servers: usize,
    is_dead: impl Fn(usize) -> bool,
) -> Option<usize> {
    if servers == 0 {
        return None;
    }
    let mut hash = cmemcache_hash(key);
    for i in 0..SERVER_RETRIES {
        let index = hash as usize % servers;
        if !is_dead(index) {
            return Some(index);
        }
        hash = cmemcache_hash(format!("{hash}{i}").as_bytes());
    }
    None
}

/// One entry of `memcached_servers`, parsed as python-memcached's `_Host` does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ServerAddr {
    /// `host:port` (`[v6]:port`) to resolve and connect to.
    pub connect_to: String,
}

impl ServerAddr {
    /// `host[:port]`, `inet:host[:port]`, `inet6:[addr][:port]`. `Err` is the reason.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        if text.starts_with("unix:") {
            return Err("unix sockets are not supported; use host:port".into());
        }
        let (v6, rest) = if let Some(rest) = text.strip_prefix("inet6:") {
            (true, rest)
        } else {
            (false, text.strip_prefix("inet:").unwrap_or(text))
        };
        let (host, port) = if v6 {
            let inner = rest
                .strip_prefix('[')
                .and_then(|r| r.split_once(']'))
                .filter(|(h, _)| !h.is_empty() && !h.contains(['[', ']']));
            let Some((host, after)) = inner else {
                return Err("expected inet6:[address]:port".into());
            };
            (format!("[{host}]"), after)
        } else {
            let (host, after) = match rest.find(':') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            if host.is_empty() {
                return Err("expected host:port".into());
            }
            (host.to_owned(), after)
        };
        let port = match port {
            "" => DEFAULT_PORT,
            p => p
                .strip_prefix(':')
                .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|d| d.parse::<u16>().ok())
                .filter(|p| *p != 0)
                .ok_or_else(|| {
                    if v6 {
                        "expected inet6:[address]:port with a port from 1 to 65535".to_owned()
                    } else {
                        "expected host:port with a port from 1 to 65535 (inet6:[address]:port for IPv6)"
                            .to_owned()
                    }
                })?,
        };
        Ok(Self {
            connect_to: format!("{host}:{port}"),
        })
    }
}

/// `memcache_security_strategy` as typed and `memcache_secret_key`.
struct Protection {
    strategy: String,
    secret: SecretString,
}

struct Server {
    addr: ServerAddr,
    /// Built on first use (resolving the name then), again after a failed build.
    client: OnceCell<AsyncMetaClient>,
    /// `_Host.deaduntil`.
    dead_until: Mutex<Option<Instant>>,
    /// `memcache_pool_maxsize` exchanges at a time; `None`: unlimited (upstream's 0).
    slots: Option<Semaphore>,
}

impl Server {
    fn is_dead(&self, now: Instant) -> bool {
        self.dead_until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|until| until > now)
    }
}

/// Pool settings, from the `memcache_pool_*` options.
#[derive(Clone, Copy, Debug)]
struct PoolSettings {
    socket_timeout: Duration,
    dead_retry: Duration,
    maxsize: Option<usize>,
    unused_timeout: Option<Duration>,
    conn_get_timeout: Duration,
}

/// The shared cache. Cheap to share behind the filter's `Arc`.
pub(crate) struct SharedTokenCache {
    servers: Vec<Server>,
    pool: PoolSettings,
    protection: Option<Protection>,
    mapping: MappingOptions,
    group: String,
    token_cache_time: i64,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SharedTokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedTokenCache")
            .field(
                "servers",
                &self
                    .servers
                    .iter()
                    .map(|s| &s.addr.connect_to)
                    .collect::<Vec<_>>(),
            )
            .field("pool", &self.pool)
            .field("secure", &self.protection.is_some())
            .finish_non_exhaustive()
    }
}

impl SharedTokenCache {
    /// The cache `options` configure, or `None` without `memcached_servers`. `describe(key,
    /// value)` names the file, section and option of a bad value.
    pub(crate) fn from_options(
        options: &ExtOAuth2Options,
        describe: &dyn Fn(&str, &str) -> String,
        clock: Arc<dyn Clock>,
    ) -> Result<Option<Self>, AuthError> {
        if options.memcached_servers.is_empty() {
            return Ok(None);
        }
        let bad = |key: &str, value: &str, why: &str| {
            AuthError::Configuration(format!("{}: {why}", describe(key, value)))
        };
        let mut servers = Vec::with_capacity(options.memcached_servers.len());
        for text in &options.memcached_servers {
            let addr = ServerAddr::parse(text).map_err(|why| {
                bad(
                    "memcached_servers",
                    &options.memcached_servers.join(","),
                    &format!("\"{text}\": {why}"),
                )
            })?;
            servers.push(addr);
        }
        let seconds = |n: Option<i64>| Duration::from_secs(n.unwrap_or(0).max(0).unsigned_abs());
        let socket_timeout = match options.memcache_pool_socket_timeout {
            Some(n) if n > 0 => Duration::from_secs(n.unsigned_abs()),
            other => return Err(bad(
                "memcache_pool_socket_timeout",
                &other.unwrap_or(0).to_string(),
                "must be a whole number of seconds above 0 (it bounds every memcached exchange)",
            )),
        };
        let pool = PoolSettings {
            socket_timeout,
            dead_retry: seconds(options.memcache_pool_dead_retry),
            maxsize: options
                .memcache_pool_maxsize
                .filter(|n| *n > 0)
                .and_then(|n| usize::try_from(n).ok()),
            unused_timeout: options
                .memcache_pool_unused_timeout
                .filter(|n| *n > 0)
                .map(|n| Duration::from_secs(n.unsigned_abs())),
            conn_get_timeout: seconds(options.memcache_pool_conn_get_timeout),
        };
        let protection = match (
            &options.memcache_security_strategy_as_typed,
            &options.memcache_secret_key,
        ) {
            (Some(strategy), Some(secret)) => Some(Protection {
                strategy: strategy.clone(),
                secret: secret.clone(),
            }),
            _ => None,
        };
        let servers = servers
            .into_iter()
            .map(|addr| Server {
                addr,
                client: OnceCell::new(),
                dead_until: Mutex::new(None),
                slots: pool.maxsize.map(Semaphore::new),
            })
            .collect();
        let cache = Self {
            servers,
            pool,
            protection,
            mapping: options.mapping.clone(),
            group: options.client.group.clone(),
            token_cache_time: options.token_cache_time,
            clock,
        };
        tracing::info!(cache = ?cache, "Using memcached for the token cache");
        Ok(Some(cache))
    }

    /// A miss of the in-process single flight: the shared entry if there is a readable one,
    /// else `introspect`, whose entry is then stored for every node. The entry returned is only
    /// handed to the requests waiting on this flight; memcached, not this process, is the
    /// cache (as upstream), so an entry ages out, or is flushed, for every node at once.
    pub(crate) async fn get_or_introspect(
        &self,
        token: &str,
        introspect: impl Future<Output = Result<Entry, AuthError>>,
    ) -> Result<Entry, AuthError> {
        let (key, keys) = self.key_for(token);
        if let Some(cached) = self.read(&key, keys.as_ref()).await? {
            metrics::counter!("tacker_token_cache_requests_total", "cache" => "shared", "result" => "hit")
                .increment(1);
            let now = self.clock.now_unix();
            return Ok(Entry::new(cached, now, self.token_cache_time).not_retained());
        }
        metrics::counter!("tacker_token_cache_requests_total", "cache" => "shared", "result" => "miss")
            .increment(1);
        let entry = introspect.await?;
        self.write(&key, keys.as_ref(), &entry).await;
        Ok(entry.not_retained())
    }

    /// `_get_cache_key` of `TokenCache` (plain) or `SecureTokenCache`.
    fn key_for(&self, token: &str) -> (String, Option<DerivedKeys>) {
        match &self.protection {
            None => (memcache_key(token), None),
            Some(p) => {
                let keys = derive_keys(token, p.secret.expose_secret().as_bytes(), &p.strategy);
                (keys.memcache_key(), Some(keys))
            }
        }
    }

    async fn read(
        &self,
        key: &str,
        keys: Option<&DerivedKeys>,
    ) -> Result<Option<Cached>, AuthError> {
        let got = self
            .exchange(key, |client| async move { client.get(key).send().await })
            .await;
        let Some(got) = got.filter(|g| g.hit()) else {
            return Ok(None);
        };
        let Some(raw) = got.value else {
            return Ok(None);
        };
        if let Some(flags) = got.client_flags.filter(|f| *f != 0 && *f != FLAG_TEXT) {
            tracing::warn!(
                key,
                flags,
                "The cached value has client flags this node does not read; not cached"
            );
            return Ok(None);
        }
        let plain = match keys {
            None => raw,
            Some(keys) => match keys.unprotect(&raw) {
                Ok(plain) => plain,
                Err(e) => {
                    // `SecureTokenCache._deserialize`: logged, then the same as no entry.
                    tracing::warn!(key, "Failed to decrypt/verify cache data: {e}");
                    return Ok(None);
                }
            },
        };
        let cached = token_data::decode(&plain, &self.mapping, &self.group)?;
        if cached.is_none() {
            tracing::warn!(
                key,
                "The cached data is not a token_data this node reads; not cached"
            );
        }
        Ok(cached)
    }

    async fn write(&self, key: &str, keys: Option<&DerivedKeys>, entry: &Entry) {
        let ttl = match entry.valid_until {
            None => Ttl::NEVER,
            Some(until) => {
                let left = (until - self.clock.now_unix()).floor();
                // Less than a second left: memcached cannot express it (0 is "forever").
                if left < 1.0 {
                    return;
                }
                Ttl::secs(left.min(f64::from(u32::MAX)) as u32)
            }
        };
        let plain = token_data::encode(&entry.value);
        let value = match keys {
            None => plain,
            Some(keys) => keys.protect(&plain),
        };
        let value = &value;
        let stored = self
            .exchange(key, |client| async move {
                client.set(key, value).ttl(ttl).send().await
            })
            .await;
        if let Some(result) = stored.filter(|s| !s.applied()) {
            tracing::warn!(key, status = ?result.status, "memcached did not store the entry");
        }
    }

    /// One exchange with the server for `key`: `None` when no server is alive, the pool has no
    /// slot within `memcache_pool_conn_get_timeout` (at most the socket timeout: a cache miss
    /// costs an introspection, waiting longer costs more), the server was marked dead while
    /// this waited for its slot, or the exchange fails; a transport failure or timeout marks
    /// the server dead. So a request spends at most about two socket timeouts on memcached
    /// per exchange, however many wait for the same server.
    async fn exchange<T, F, Fut>(&self, key: &str, op: F) -> Option<T>
    where
        F: FnOnce(AsyncMetaClient) -> Fut,
        Fut: Future<Output = memcache::exp::Result<T>>,
    {
        let now = Instant::now();
        let Some(index) = pick_server(key.as_bytes(), self.servers.len(), |i| {
            self.servers[i].is_dead(now)
        }) else {
            tracing::debug!(key, "No memcached server is alive; not cached");
            return None;
        };
        let server = &self.servers[index];
        let _slot = match &server.slots {
            None => None,
            Some(slots) => {
                let wait = self.pool.conn_get_timeout.min(self.pool.socket_timeout);
                match tokio::time::timeout(wait, slots.acquire()).await {
                    Ok(Ok(permit)) => Some(permit),
                    _ => {
                        tracing::warn!(
                            server = %server.addr.connect_to,
                            "Unable to get a memcached connection from the pool after {}s; not cached",
                            wait.as_secs()
                        );
                        return None;
                    }
                }
            }
        };
        // The exchange this one waited behind may have found the server dead.
        if server.slots.is_some() && server.is_dead(Instant::now()) {
            tracing::debug!(key, "The memcached server failed meanwhile; not cached");
            return None;
        }
        let attempt = tokio::time::timeout(self.pool.socket_timeout, async {
            let client = server
                .client
                .get_or_try_init(|| self.connect(&server.addr))
                .await?;
            op(client.clone()).await
        })
        .await;
        match attempt {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e))
                if e.is_retryable()
                    || e.is_ambiguous()
                    || matches!(e, memcache::exp::Error::Protocol(_)) =>
            {
                self.mark_dead(server, &e.to_string());
                None
            }
            Ok(Err(e)) => {
                tracing::warn!(server = %server.addr.connect_to, "memcached refused the request: {e}");
                None
            }
            Err(_) => {
                self.mark_dead(
                    server,
                    &format!("no answer within {}s", self.pool.socket_timeout.as_secs()),
                );
                None
            }
        }
    }

    async fn connect(&self, addr: &ServerAddr) -> memcache::exp::Result<AsyncMetaClient> {
        let mut builder = AsyncMetaClient::builder()
            .connect_timeout(Some(self.pool.socket_timeout))
            .io_timeout(Some(self.pool.socket_timeout));
        if let Some(maxsize) = self.pool.maxsize {
            builder = builder.max_idle(maxsize);
        }
        if let Some(age) = self.pool.unused_timeout {
            builder = builder.max_idle_age(age);
        }
        builder.connect_async(addr.connect_to.as_str()).await
    }

    /// `_Host.mark_dead`.
    fn mark_dead(&self, server: &Server, reason: &str) {
        let retry = self.pool.dead_retry;
        *server.dead_until.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + retry);
        tracing::warn!(
            server = %server.addr.connect_to,
            "memcached server failed ({reason}); not used for {}s (memcache_pool_dead_retry)",
            retry.as_secs()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_forms_of_python_memcached() {
        let ok = |t: &str| ServerAddr::parse(t).unwrap().connect_to;
        assert_eq!(ok("localhost:11211"), "localhost:11211");
        assert_eq!(ok("10.0.0.5"), "10.0.0.5:11211");
        assert_eq!(ok("inet:127.0.0.1:22122"), "127.0.0.1:22122");
        assert_eq!(ok("inet6:[::1]:11212"), "[::1]:11212");
        assert_eq!(ok("inet6:[fe80::1]"), "[fe80::1]:11211");
        for bad in [
            "unix:/run/memcached.sock",
            "[::1]:11211",
            "::1",
            "host:",
            "host:port",
            "host:70000",
            "host:0",
            ":11211",
            "inet6:::1",
            "inet6:[]:1",
        ] {
            assert!(ServerAddr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn server_choice_rehashes_past_dead_servers() {
        let key = b"tokens/65dcf16ea3dfa49069628089eb4a75483070f5584b2a21ee64912b5f621f12da";
        let first = pick_server(key, 3, |_| false).unwrap();
        assert_eq!(first, cmemcache_hash(key) as usize % 3);
        let second = pick_server(key, 3, |i| i == first).unwrap();
        assert_ne!(second, first);
        assert_eq!(pick_server(key, 1, |_| true), None);
        assert_eq!(pick_server(key, 0, |_| false), None);
    }
}
