//! `ExternalOAuth2Layer`: the paste filter `keystonemiddleware.external_oauth2_token:filter_factory`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};

use axum::body::Body;
use axum::response::Response;
use base64::Engine as _;
use futures::future::BoxFuture;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tacker_common::config::Section;
use tacker_oauth2_client::{build_http_client, ClientAuthenticator, OAuth2Client};

use crate::cache::{cache_key, CacheLimits, Cached, Entry, TokenCache};
use crate::mapping::{expires_at, map_claims, AuthContext, Scope};
use crate::memcache::SharedTokenCache;
use crate::memo::{self, Memoized};
use crate::options::{ExtOAuth2Options, MappingOptions};
use tacker_common::{Identity, PeerCertificate, RequestContext, RequestId};

use crate::{AuthError, Clock, SystemClock};

/// Identity headers a client could spoof, removed from every request before anything else
/// (auth_token `remove_auth_headers`, plus `OpenStack-System-Scope`, which upstream forgets:
/// deliberate fix).
const SPOOFABLE_HEADERS: &[&str] = &[
    "x-service-catalog",
    "x-identity-status",
    "x-service-identity-status",
    "x-is-admin-project",
    "x-role",
    "x-user",
    "x-tenant-id",
    "x-tenant-name",
    "x-tenant",
    "x-domain-id",
    "x-domain-name",
    "x-project-id",
    "x-project-name",
    "x-project-domain-id",
    "x-project-domain-name",
    "x-user-id",
    "x-user-name",
    "x-user-domain-id",
    "x-user-domain-name",
    "x-roles",
    "x-service-domain-id",
    "x-service-domain-name",
    "x-service-project-id",
    "x-service-project-name",
    "x-service-project-domain-id",
    "x-service-project-domain-name",
    "x-service-user-id",
    "x-service-user-name",
    "x-service-user-domain-id",
    "x-service-user-domain-name",
    "x-service-roles",
    "openstack-system-scope",
];

/// Whether a (lower-case) header name is one of [`SPOOFABLE_HEADERS`]; most names of a
/// request are told apart by their first bytes, without walking the list.
fn is_spoofable(name: &str) -> bool {
    (name.starts_with("x-") || name.starts_with("openstack-")) && SPOOFABLE_HEADERS.contains(&name)
}

/// Largest introspection response body read (bytes).
const MAX_INTROSPECTION_RESPONSE: usize = 1024 * 1024;

/// The bound on one introspection call when `http_connect_timeout` is unset (or 0).
/// keystonemiddleware then passes `timeout=None` to requests and waits for a stalled
/// authorization server forever, holding every authenticated request with it; this server
/// gives up after this time (`503`). A deliberate difference, listed in `api-ref/compat.md`.
pub const DEFAULT_INTROSPECTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// `http_connect_timeout` if set, else [`DEFAULT_INTROSPECTION_TIMEOUT`].
fn introspection_timeout(configured: Option<std::time::Duration>) -> std::time::Duration {
    configured.unwrap_or(DEFAULT_INTROSPECTION_TIMEOUT)
}

/// Numbers filter instances for the per-thread memo (a process can run several).
static NEXT_FILTER_ID: AtomicU64 = AtomicU64::new(1);

struct Inner {
    /// This instance in the per-thread memo ([`crate::memo`]).
    id: u64,
    /// `tacker_token_cache_requests_total{cache="local",result="hit"}`, registered on first use.
    hits: OnceLock<metrics::Counter>,
    client: OAuth2Client,
    introspect_endpoint: String,
    challenge: HeaderValue,
    mapping: MappingOptions,
    group: String,
    thumbprint_verify: bool,
    token_cache_time: i64,
    cache: Option<TokenCache>,
    /// `memcached_servers`: the cache behind the in-process single flight.
    shared: Option<SharedTokenCache>,
    clock: Arc<dyn Clock>,
}

/// The `external_oauth2_token` filter as a tower layer.
#[derive(Clone)]
pub struct ExternalOAuth2Layer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ExternalOAuth2Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalOAuth2Layer")
            .field("introspect_endpoint", &self.inner.introspect_endpoint)
            .field("auth_method", &self.inner.client.authenticator().method())
            .finish_non_exhaustive()
    }
}

impl ExternalOAuth2Layer {
    /// Build the filter from tacker.conf `[ext_oauth2_auth]` (`conf`) and the keys of the paste
    /// `[filter:external_oauth2_token]` section (`paste`, which win). Errors are upstream's
    /// `ConfigurationError` texts; the server must refuse to start.
    pub fn from_sections(conf: &Section, paste: &Section) -> Result<Self, AuthError> {
        Self::from_sections_with(conf, paste, Arc::new(SystemClock), CacheLimits::default())
    }

    /// [`Self::from_sections`] with an injected clock and cache bounds.
    pub fn from_sections_with(
        conf: &Section,
        paste: &Section,
        clock: Arc<dyn Clock>,
        limits: CacheLimits,
    ) -> Result<Self, AuthError> {
        Self::from_options_with(ExtOAuth2Options::load(conf, paste)?, clock, limits)
    }

    /// Build the filter from options already converted (tacker.conf's, with the paste
    /// section's applied by [`ExtOAuth2Options::with_paste`]).
    pub fn from_options(options: ExtOAuth2Options) -> Result<Self, AuthError> {
        Self::from_options_with(options, Arc::new(SystemClock), CacheLimits::default())
    }

    /// [`Self::from_options`] with an injected clock and cache bounds.
    pub fn from_options_with(
        options: ExtOAuth2Options,
        clock: Arc<dyn Clock>,
        limits: CacheLimits,
    ) -> Result<Self, AuthError> {
        // Construction order of upstream: option conversion (done by the caller), cache, HTTP
        // session, audience, introspect_endpoint, auth_method, client_id, method-specific
        // options.
        tracing::debug!(?options, "external_oauth2_token options");
        if options.memcache_security_strategy.is_some() && options.memcache_secret_key.is_none() {
            return Err(AuthError::Configuration(
                "memcache_secret_key must be defined when a memcache_security_strategy is defined"
                    .into(),
            ));
        }
        // -1 (or any negative TTL, which expires at once upstream) disables the cache.
        let cache = (options.token_cache_time >= 0).then(|| TokenCache::new(limits, clock.clone()));
        let shared = match cache {
            Some(_) => SharedTokenCache::from_options(
                &options,
                &|key, value| options.describe(key, value),
                clock.clone(),
            )?,
            None => None,
        };
        let http = build_http_client(&options.client)?;
        let audience = options
            .client
            .audience
            .clone()
            .ok_or_else(|| options.not_set("audience"))?;
        let introspect_endpoint = options
            .introspect_endpoint
            .clone()
            .ok_or_else(|| options.not_set("introspect_endpoint"))?;
        let group = options.client.group.clone();
        if url::Url::parse(&introspect_endpoint).is_err() {
            return Err(AuthError::Configuration(format!(
                "{}: not a URL",
                options.describe("introspect_endpoint", &introspect_endpoint)
            )));
        }
        let challenge = HeaderValue::from_str(&format!(
            "Authorization OAuth 2.0 uri=\"{audience}\""
        ))
        .map_err(|_| {
            AuthError::Configuration(format!(
                "{}: cannot be sent in a WWW-Authenticate header",
                options.describe("audience", &audience)
            ))
        })?;
        let authenticator = ClientAuthenticator::new(&options.client, clock.clone())?;
        authenticator.spawn_reload_on_sighup();
        let client = OAuth2Client::from_parts(
            http,
            authenticator,
            Some(introspection_timeout(options.client.http_connect_timeout)),
        );
        tracing::info!("Starting Keystone external_oauth2_token middleware");
        Ok(Self {
            inner: Arc::new(Inner {
                id: NEXT_FILTER_ID.fetch_add(1, Ordering::Relaxed),
                hits: OnceLock::new(),
                client,
                introspect_endpoint,
                challenge,
                mapping: options.mapping,
                group,
                thumbprint_verify: options.thumbprint_verify,
                token_cache_time: options.token_cache_time,
                cache,
                shared,
                clock,
            }),
        })
    }

    /// The client authentication in use (e.g. to call `reload()` on demand).
    pub fn authenticator(&self) -> &ClientAuthenticator {
        self.inner.client.authenticator()
    }

    /// Number of cached entries after pending maintenance (for tests and metrics).
    pub async fn cached_entries(&self) -> u64 {
        match &self.inner.cache {
            Some(c) => {
                c.inner.run_pending_tasks().await;
                c.inner.entry_count()
            }
            None => 0,
        }
    }

    /// Whether `token` has an entry that is still fresh by the injected clock.
    pub async fn is_cached(&self, token: &str) -> bool {
        let Some(c) = &self.inner.cache else {
            return false;
        };
        let now = c.clock.now_unix();
        c.inner
            .get(&cache_key(token))
            .await
            .is_some_and(|e| e.valid_until.is_none_or(|u| now < u))
    }
}

impl<S> tower::Layer<S> for ExternalOAuth2Layer {
    type Service = ExternalOAuth2Service<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ExternalOAuth2Service {
            filter: self.inner.clone(),
            inner,
        }
    }
}

/// The service produced by [`ExternalOAuth2Layer`].
#[derive(Clone)]
pub struct ExternalOAuth2Service<S> {
    filter: Arc<Inner>,
    inner: S,
}

impl<S> tower::Service<Request<Body>> for ExternalOAuth2Service<S>
where
    S: tower::Service<Request<Body>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = AuthFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let headers = request.headers_mut();
        // Looked up by name only when one is there (a request carries a handful of headers;
        // the list is long).
        if headers.keys().any(|k| is_spoofable(k.as_str())) {
            for name in SPOOFABLE_HEADERS {
                headers.remove(*name);
            }
        }
        if let Some(challenge) = self.filter.serve_from_memo(&mut request) {
            // The inner service was polled ready for this call.
            return AuthFuture::Served {
                inner: self.inner.call(request),
                challenge,
            };
        }
        // The clone that was polled ready handles this request; a fresh clone stays behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let filter = self.filter.clone();
        AuthFuture::Checked {
            inner: Box::pin(async move {
                let request_id = request.extensions().get::<RequestId>().cloned();
                let cert = request.extensions().get::<PeerCertificate>().cloned();
                let result = filter.authenticate(request.headers(), cert.as_ref()).await;
                match result {
                    Ok(ctx) => {
                        // The headers keystonemiddleware sets, for wire parity; the app reads
                        // the typed context.
                        set_identity_headers(request.headers_mut(), &ctx);
                        let context = request_context(&ctx, request_id.as_ref());
                        request.extensions_mut().insert(context);
                        let response = inner.call(request).await?;
                        Ok(challenge_app_401(response, &filter.challenge))
                    }
                    Err(e) => Ok(e.into_response(
                        &filter.challenge,
                        request_id.as_ref().map(|r| r.local.as_str()),
                    )),
                }
            }),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`ExternalOAuth2Service`].
    #[project = AuthFutureProj]
    pub enum AuthFuture<F> {
        /// The token was served from this thread's memo: the app's own future, unboxed.
        Served {
            #[pin]
            inner: F,
            challenge: HeaderValue,
        },
        /// The token went through the cache (and, on a miss, the authorization server).
        Checked {
            inner: BoxFuture<'static, Result<Response, Infallible>>,
        },
    }
}

impl<F> Future for AuthFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AuthFutureProj::Served { inner, challenge } => {
                let response = ready!(inner.poll(cx))?;
                Poll::Ready(Ok(challenge_app_401(response, challenge)))
            }
            AuthFutureProj::Checked { inner } => inner.as_mut().poll(cx),
        }
    }
}

/// keystonemiddleware's `process_response`: a 401 of the app gets the filter's
/// `WWW-Authenticate` challenge too.
fn challenge_app_401(mut response: Response, challenge: &HeaderValue) -> Response {
    if response.status() == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .append(WWW_AUTHENTICATE, challenge.clone());
    }
    response
}

/// keystonemiddleware's debug line once the token's claims are mapped.
fn log_mapped(ctx: &AuthContext) {
    tracing::debug!(
        user_id = %ctx.user_id,
        roles = %ctx.roles_header,
        scope = ?ctx.scope,
        "The access token data is mapped."
    );
}

impl Inner {
    /// Whether requests may be served from the per-thread memo: an in-process cache and no
    /// shared memcached (memcached is the cache there, as upstream).
    fn memo_enabled(&self) -> bool {
        self.cache.is_some() && self.shared.is_none()
    }

    /// Serves `request` from this thread's memo when its token is there and still valid:
    /// sets the identity headers and the request context, counts a local cache hit, and
    /// returns the challenge for a 401 of the app. `None`: the token goes the whole way
    /// (cache, authorization server), which also answers every error.
    fn serve_from_memo(&self, request: &mut Request<Body>) -> Option<HeaderValue> {
        if !self.memo_enabled() {
            return None;
        }
        // The header is cloned (a reference count) so the request can change below.
        let authorization = request.headers().get(AUTHORIZATION)?.clone();
        let token = bearer_token_of(&authorization).ok()?;
        let now = self.clock.now_unix();
        let challenge = memo::with_valid(self.id, token.as_bytes(), now, |m| {
            if m.ctx.expires_at.is_some_and(|exp| exp < now.floor()) {
                return None;
            }
            if self.thumbprint_verify {
                let cert = request.extensions().get::<PeerCertificate>();
                verify_thumbprint(cert, &m.ctx.token_info).ok()?;
            }
            let context = RequestContext::shared(m.identity.clone())
                .with_request_id(request.extensions().get::<RequestId>());
            // The identity headers first (a clone of this thread's template, sized for the
            // request's own), then the request's headers moved in after them.
            let mut map = m.template.clone();
            let mut last: Option<HeaderName> = None;
            for (name, value) in std::mem::take(request.headers_mut()) {
                if let Some(name) = name {
                    last = Some(name);
                }
                if let Some(name) = &last {
                    map.append(name.clone(), value);
                }
            }
            *request.headers_mut() = map;
            request.extensions_mut().insert(context);
            log_mapped(&m.ctx);
            Some(m.challenge.clone())
        })??;
        self.hits
            .get_or_init(|| {
                metrics::counter!("tacker_token_cache_requests_total", "cache" => "local", "result" => "hit")
            })
            .increment(1);
        Some(challenge)
    }

    /// Memoises on this thread the identity of `token`, valid until `valid_until`, as the
    /// cache entry it comes from.
    fn memoize(&self, token: &str, valid_until: Option<f64>, ctx: &Arc<AuthContext>) {
        let derived = derived(ctx);
        memo::store(Memoized {
            filter: self.id,
            token: token.as_bytes().to_vec().into(),
            valid_until,
            ctx: ctx.clone(),
            identity: Arc::new((*derived.identity).clone()),
            template: {
                let mut map = HeaderMap::with_capacity(derived.headers.len() + 16);
                for (name, value) in &derived.headers {
                    map.insert(name.clone(), memo::own_copy(value));
                }
                map
            },
            challenge: memo::own_copy(&self.challenge),
        });
    }

    async fn authenticate(
        &self,
        headers: &HeaderMap,
        cert: Option<&PeerCertificate>,
    ) -> Result<Arc<AuthContext>, AuthError> {
        let token = bearer_token(headers)?;
        let ctx = self.token_data(token).await?;
        if self.thumbprint_verify {
            verify_thumbprint(cert, &ctx.token_info)?;
        }
        log_mapped(&ctx);
        Ok(ctx)
    }

    async fn token_data(&self, token: &str) -> Result<Arc<AuthContext>, AuthError> {
        let entry = match &self.cache {
            None => self.introspect(token).await?,
            Some(cache) => {
                let key = cache_key(token);
                let mut attempt = 0;
                loop {
                    // moka runs one init future per key; concurrent misses wait for it (and
                    // count as hits: they cost no lookup of their own).
                    let missed = std::sync::atomic::AtomicBool::new(false);
                    let fill = async {
                        missed.store(true, std::sync::atomic::Ordering::Relaxed);
                        self.fill(token).await
                    };
                    let entry = cache.inner.try_get_with(key, fill).await;
                    let result = if missed.load(std::sync::atomic::Ordering::Relaxed) {
                        "miss"
                    } else {
                        "hit"
                    };
                    metrics::counter!("tacker_token_cache_requests_total", "cache" => "local", "result" => result)
                        .increment(1);
                    let entry = entry.map_err(|e| (*e).clone())?;
                    let now = self.clock.now_unix();
                    if attempt == 0 && entry.valid_until.is_some_and(|u| now >= u) {
                        cache.inner.invalidate(&key).await;
                        attempt += 1;
                        continue;
                    }
                    if let (true, Cached::Valid(ctx)) = (self.memo_enabled(), &entry.value) {
                        if entry.valid_until.is_none_or(|u| now < u) {
                            self.memoize(token, entry.valid_until, ctx);
                        }
                    }
                    break entry;
                }
            }
        };
        match entry.value {
            Cached::Inactive => Err(AuthError::InvalidToken("The token is not active.".into())),
            Cached::Valid(ctx) => {
                let now = self.clock.now_unix();
                if ctx.expires_at.is_some_and(|exp| exp < now.floor()) {
                    if let Some(cache) = &self.cache {
                        let dead = Entry::new(Cached::Inactive, now, self.token_cache_time);
                        cache.inner.insert(cache_key(token), dead).await;
                    }
                    return Err(AuthError::InvalidToken("The token has expired.".into()));
                }
                Ok(ctx)
            }
        }
    }

    /// A miss of the in-process cache: the shared memcached first, if configured, then the
    /// authorization server.
    async fn fill(&self, token: &str) -> Result<Entry, AuthError> {
        match &self.shared {
            Some(shared) => {
                shared
                    .get_or_introspect(token, self.introspect(token))
                    .await
            }
            None => self.introspect(token).await,
        }
    }

    /// [`Self::introspect_once`], counted by outcome (`tacker_introspection_requests_total`)
    /// and timed (`tacker_introspection_duration_seconds`).
    async fn introspect(&self, token: &str) -> Result<Entry, AuthError> {
        let started = std::time::Instant::now();
        let result = self.introspect_once(token).await;
        let outcome = match &result {
            Ok(Entry {
                value: Cached::Valid(_),
                ..
            }) => "active",
            Ok(_) => "inactive",
            Err(AuthError::Unavailable(_)) => "unavailable",
            Err(_) => "error",
        };
        metrics::counter!("tacker_introspection_requests_total", "outcome" => outcome).increment(1);
        metrics::histogram!("tacker_introspection_duration_seconds", "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        result
    }

    /// RFC 7662 §2.1 request and §2.2 response handling.
    async fn introspect_once(&self, token: &str) -> Result<Entry, AuthError> {
        let response = self
            .client
            .post_form(
                &self.introspect_endpoint,
                &[("token", token), ("token_type_hint", "access_token")],
            )
            .await
            .inspect_err(|e| tracing::error!("Unable to validate token: {e}"))?;
        let status = response.status();
        if status == StatusCode::REQUEST_TIMEOUT {
            // keystoneauth's RequestTimeout: upstream's "temporarily unavailable" branch.
            return Err(AuthError::Unavailable(
                "The introspect API returned 408 Request Timeout.".into(),
            ));
        }
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            AuthError::Service(format!("reading the introspect API response failed: {e}"))
        })? {
            // An introspection answer is a few kB; refuse to buffer an unbounded one.
            if body.len() + chunk.len() > MAX_INTROSPECTION_RESPONSE {
                return Err(AuthError::Service(format!(
                    "The introspect API response exceeds {MAX_INTROSPECTION_RESPONSE} bytes."
                )));
            }
            body.extend_from_slice(&chunk);
        }
        if status != StatusCode::OK {
            let text = String::from_utf8_lossy(&body);
            tracing::error!(
                "The introspect API returns an incorrect response. response_status: {}, response_text: {text}",
                status.as_u16()
            );
            return Err(AuthError::Service(format!(
                "The introspect API returned {}.",
                status.as_u16()
            )));
        }
        let metadata: Map<String, Value> = match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return Err(AuthError::Service(
                    "The introspect API response is not a JSON object.".into(),
                ))
            }
            Err(e) => {
                return Err(AuthError::Service(format!(
                    "The introspect API response is not JSON: {e}"
                )))
            }
        };
        if tracing::enabled!(tracing::Level::DEBUG) {
            let text = serde_json::to_string(&metadata).unwrap_or_default();
            tracing::debug!("The introspect API response: {text}");
        }
        let now = self.clock.now_unix();
        // RFC 7662 §2.2: `active` is a boolean; only `true` is active (upstream: truthiness).
        if metadata.get("active") != Some(&Value::Bool(true)) {
            tracing::info!("The access token is not active.");
            return Ok(Entry::new(Cached::Inactive, now, self.token_cache_time));
        }
        let exp = expires_at(&metadata, &self.mapping, &self.group)?;
        if exp.is_some_and(|e| e < now.floor()) {
            // Upstream only checks `exp` on cache hits; rejecting on first sight is a fix.
            tracing::info!("The access token has expired.");
            return Ok(Entry::new(Cached::Inactive, now, self.token_cache_time));
        }
        let ctx = map_claims(metadata, &self.mapping, &self.group, exp)?;
        Ok(Entry::new(
            Cached::Valid(Arc::new(ctx)),
            now,
            self.token_cache_time,
        ))
    }
}

/// `Authorization: Bearer <token>`: scheme case-sensitive, token the untrimmed rest (WebOb).
fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    bearer_token_of(headers.get(AUTHORIZATION).ok_or_else(missing_token)?)
}

fn missing_token() -> AuthError {
    AuthError::InvalidToken("Unable to obtain the access token.".into())
}

/// The token of an `Authorization: Bearer <token>` value.
fn bearer_token_of(value: &HeaderValue) -> Result<&str, AuthError> {
    let value = value.to_str().map_err(|_| missing_token())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(missing_token)?;
    if scheme != "Bearer" || token.is_empty() {
        return Err(missing_token());
    }
    Ok(token)
}

/// RFC 8705 §3.1: `cnf.x5t#S256` must be base64url(SHA-256(DER of the client certificate)).
fn verify_thumbprint(
    cert: Option<&PeerCertificate>,
    metadata: &Map<String, Value>,
) -> Result<(), AuthError> {
    let invalid = |why: &str| AuthError::InvalidToken(why.to_owned());
    let cert = cert
        .filter(|c| !c.0.is_empty())
        .ok_or_else(|| invalid("The client certificate is not available."))?;
    let thumbprint =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(cert.0.as_slice()));
    let expected = match metadata.get("cnf") {
        None => None,
        // Upstream crashes (plain 500) on a non-object cnf; fail closed with 401 instead.
        Some(Value::Object(cnf)) => cnf.get("x5t#S256").and_then(Value::as_str),
        Some(_) => return Err(invalid("The cnf claim is not an object.")),
    };
    if expected != Some(thumbprint.as_str()) {
        return Err(invalid(
            "The client certificate thumbprint does not match the token.",
        ));
    }
    Ok(())
}

/// What the filter gives every request of one identity, computed once per cached identity:
/// keystonemiddleware's identity headers (validated header values) and the request context
/// the app reads. A clone starts empty, so an identity copied and then changed never carries
/// what was derived from the original.
#[derive(Default)]
pub(crate) struct Derived(OnceLock<Arc<DerivedIdentity>>);

struct DerivedIdentity {
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Shared by the request context of every request with this identity.
    identity: Arc<Identity>,
}

impl Clone for Derived {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for Derived {
    /// Derived data says nothing an identity's own fields do not.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Derived")
    }
}

fn derived(ctx: &AuthContext) -> &DerivedIdentity {
    ctx.derived.0.get_or_init(|| {
        Arc::new(DerivedIdentity {
            headers: identity_headers(ctx),
            identity: Arc::new(ctx.identity()),
        })
    })
}

/// The request context of `ctx` for one request: its shared identity and the request's ids.
fn request_context(ctx: &AuthContext, request_id: Option<&RequestId>) -> RequestContext {
    RequestContext::shared(derived(ctx).identity.clone()).with_request_id(request_id)
}

fn set_identity_headers(headers: &mut HeaderMap, ctx: &AuthContext) {
    let derived = derived(ctx);
    headers.reserve(derived.headers.len());
    for (name, value) in &derived.headers {
        headers.insert(name.clone(), value.clone());
    }
}

/// keystonemiddleware's identity headers for `ctx`, in the order it sets them.
fn identity_headers(ctx: &AuthContext) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::with_capacity(20);
    let mut set = |name: &'static str, value: &str| {
        // Values were checked to be header-safe while mapping.
        if let Ok(v) = HeaderValue::from_str(value) {
            out.push((HeaderName::from_static(name), v));
        }
    };
    set("x-identity-status", "Confirmed");
    set("x-roles", &ctx.roles_header);
    set("x-role", &ctx.roles_header);
    if ctx.is_admin {
        set("x-is-admin-project", "true");
    }
    match &ctx.scope {
        Scope::System => set("openstack-system-scope", "all"),
        Scope::Project {
            id,
            name,
            domain_id,
            domain_name,
        } => {
            set("x-project-id", id);
            set("x-project-name", name);
            set("x-project-domain-id", domain_id);
            set("x-project-domain-name", domain_name);
            set("x-tenant-id", id);
            set("x-tenant-name", name);
            // Upstream sets X-Tenant to the project id (auth_token uses the name).
            set("x-tenant", id);
        }
        Scope::Domain { id, name } => {
            set("x-domain-id", id);
            set("x-domain-name", name);
        }
    }
    set("x-user-id", &ctx.user_id);
    set("x-user-name", &ctx.user_name);
    set("x-user-domain-id", &ctx.user_domain_id);
    set("x-user-domain-name", &ctx.user_domain_name);
    set("x-user", &ctx.user_name);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        m
    }

    #[test]
    fn is_spoofable_is_membership_in_the_list() {
        for name in SPOOFABLE_HEADERS {
            assert!(is_spoofable(name), "{name}");
        }
        for name in [
            "host",
            "authorization",
            "x-request-id",
            "x-openstack-request-id",
            "openstack-api-version",
            "x-user-ids",
            "accept",
        ] {
            assert!(!is_spoofable(name), "{name}");
        }
    }

    #[test]
    fn introspection_has_a_timeout_when_http_connect_timeout_is_unset() {
        use std::time::Duration;
        assert_eq!(introspection_timeout(None), DEFAULT_INTROSPECTION_TIMEOUT);
        assert_eq!(DEFAULT_INTROSPECTION_TIMEOUT, Duration::from_secs(30));
        assert_eq!(
            introspection_timeout(Some(Duration::from_secs(5))),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn bearer_is_case_sensitive_and_untrimmed() {
        assert_eq!(bearer_token(&h("Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer_token(&h("Bearer  abc")).unwrap(), " abc");
        assert!(bearer_token(&h("bearer abc")).is_err());
        assert!(bearer_token(&h("Bearer")).is_err());
        assert!(bearer_token(&h("Bearer ")).is_err());
        assert!(bearer_token(&HeaderMap::new()).is_err());
    }

    fn identity(scope: Scope, user_id: &str, user_name: &str, roles: &str) -> AuthContext {
        AuthContext {
            user_id: user_id.into(),
            user_name: user_name.into(),
            user_domain_id: "ud".into(),
            user_domain_name: String::new(),
            roles_header: roles.into(),
            roles: roles
                .split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect(),
            is_admin: false,
            scope,
            expires_at: None,
            token_info: Default::default(),
            derived: Default::default(),
        }
    }

    /// The typed context the filter hands the app is exactly what `keystonecontext` would
    /// read back from the identity headers the filter sets (keystonemiddleware's wire), for
    /// each scope, empty values, the `X-User` fallback and mixed-case admin roles.
    #[test]
    fn request_context_equals_the_identity_headers_read_back() {
        let project = Scope::Project {
            id: "p1".into(),
            name: "proj".into(),
            domain_id: "d1".into(),
            domain_name: "Default".into(),
        };
        let cases = [
            identity(project.clone(), "u1", "alice", "member,Admin"),
            identity(project, "", "alice", " reader , , member "),
            identity(Scope::System, "u2", "", "admin"),
            identity(
                Scope::Domain {
                    id: "d2".into(),
                    name: String::new(),
                },
                "u3",
                "bob",
                "ADMIN",
            ),
        ];
        let rid = RequestId {
            local: "req-1".into(),
            global: Some("req-2".into()),
        };
        for ctx in cases {
            let mut headers = HeaderMap::new();
            set_identity_headers(&mut headers, &ctx);
            assert_eq!(
                ctx.request_context(Some(&rid)),
                crate::keystone_context::context_from_headers(&headers, Some(&rid)),
                "{ctx:?}"
            );
            // Derived once, the same for every request (ids set per request).
            assert_eq!(
                request_context(&ctx, Some(&rid)),
                ctx.request_context(Some(&rid))
            );
            assert_eq!(request_context(&ctx, None), ctx.request_context(None));
            // A copy starts without what the original derived.
            let copy = AuthContext {
                scope: Scope::System,
                ..ctx.clone()
            };
            assert_eq!(request_context(&copy, None), copy.request_context(None));
        }
    }
}
