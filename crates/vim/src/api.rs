//! `/v1.0/vims` handlers (`tacker/api/v1/base.py` controller + `tacker/nfvo/nfvo_plugin.py`):
//! validate → policy → plugin (driver) → database, with every failure going through
//! [`VimError`] and every body written as Python's `json.dumps` would.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Router;
use chrono::NaiveDateTime;
use secrecy::ExposeSecret;
use serde_json::{Map, Value};
use tacker_common::clock::{Clock, SystemClock};
use tacker_common::webob::{without_allow_header, WebObError};
use tacker_common::{to_py_json, PyJson, RequestContext};

use crate::attributes::{parse_body, prepare_create, prepare_update};
use crate::drivers::{DriverRegistry, VimDriver};
use crate::list_cache::{self, ListCache};
use crate::model::{deep_update, Vim};
use crate::policy::{allowed, scope, Action};
use crate::store::{VimFilter, VimStore};
use crate::vault::{stored_secrets, CommitTurn, KeyRef, StagedKey};
use crate::view::{OneVim, VimList, VimView};
use crate::VimError;

/// What the VIM API needs: the store, the drivers and the clock its timestamps come from.
#[derive(Clone)]
pub struct VimState {
    store: Arc<dyn VimStore>,
    drivers: Arc<DriverRegistry>,
    clock: Arc<dyn Clock>,
    turns: Arc<VimTurns>,
    /// Rendered list bodies, kept until the next write (`list_cache`).
    lists: Arc<ListCache>,
}

/// Updates and deletes of one VIM take turns within this process, from reading the row to
/// making the new key current: the stored ciphertext and the VIM's key change together, and
/// a second writer starts from the first one's result. Across processes the store's
/// credential check ([`VimStore::update`]) refuses a writer that started from a stale row.
/// A fixed set of async locks; a VIM id is hashed onto one (VIMs sharing a lock only wait
/// for each other's writes).
struct VimTurns([tokio::sync::Mutex<()>; VIM_TURNS]);

const VIM_TURNS: usize = 64;

impl VimTurns {
    fn new() -> Self {
        Self(std::array::from_fn(|_| tokio::sync::Mutex::new(())))
    }

    fn of(&self, vim_id: &str) -> &tokio::sync::Mutex<()> {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut hasher = DefaultHasher::new();
        vim_id.hash(&mut hasher);
        &self.0[(hasher.finish() % VIM_TURNS as u64) as usize]
    }
}

impl VimState {
    pub fn new(store: Arc<dyn VimStore>, drivers: DriverRegistry) -> Self {
        Self {
            store,
            drivers: Arc::new(drivers),
            clock: Arc::new(SystemClock),
            turns: Arc::new(VimTurns::new()),
            lists: Arc::new(ListCache::default()),
        }
    }

    /// Take `created_at` / `updated_at` / `deleted_at` from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn store(&self) -> &Arc<dyn VimStore> {
        &self.store
    }

    fn driver(&self, vim_type: &str) -> Option<Arc<dyn VimDriver>> {
        self.drivers.get(vim_type).cloned()
    }

    /// The clock's time as the naive UTC timestamp the database stores (microseconds).
    fn now(&self) -> NaiveDateTime {
        let micros = (self.clock.now_unix() * 1_000_000.0).round() as i64;
        chrono::DateTime::from_timestamp_micros(micros)
            .unwrap_or_default()
            .naive_utc()
    }
}

/// The VIM resources (`/vims`, `/vims.json`, `/vims/{id}[.json]`, paths relative to `/v1.0`),
/// routed by path and method as the `routes` mapper of Tacker's extension does. A method a
/// resource does not have is WebOb's 404 page (no `Allow` header), as upstream. Other paths
/// are not routed here: the caller's fallback serves them.
pub fn api_routes(state: VimState) -> Router {
    let collection = || get(list).head(not_found).post(create).fallback(not_found);
    let member: MethodRouter<VimState> = get(show)
        .head(not_found)
        .put(update)
        .delete(delete)
        .fallback(not_found);
    Router::new()
        .route("/vims", collection())
        .route("/vims.json", collection())
        .route("/vims/{id}", member)
        .with_state(state)
}

/// [`api_routes`] on their own: any other path is WebOb's 404 page, and no answer has an
/// `Allow` header.
pub fn api_router(state: VimState) -> Router {
    Router::new().fallback_service(without_allow_header(api_routes(state).fallback(not_found)))
}

/// WebOb's 404 page (`webob.exc.HTTPNotFound()`) in the representation `Accept` asks for.
async fn not_found(method: Method, headers: HeaderMap) -> Response {
    WebObError::not_found().render(&method, &headers)
}

/// `/vims/{id}.json`: the only format suffix routes accepts.
fn vim_id(id: &str) -> &str {
    id.strip_suffix(".json").unwrap_or(id)
}

async fn list(
    State(state): State<VimState>,
    ctx: RequestContext,
    RawQuery(query): RawQuery,
) -> Response {
    do_list(&state, &ctx, query.as_deref().unwrap_or(""))
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn create(State(state): State<VimState>, ctx: RequestContext, body: Bytes) -> Response {
    do_create(&state, &ctx, &body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn show(
    State(state): State<VimState>,
    ctx: RequestContext,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    do_show(&state, &ctx, vim_id(&id), query.as_deref().unwrap_or(""))
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn update(
    State(state): State<VimState>,
    ctx: RequestContext,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    do_update(&state, &ctx, vim_id(&id), &body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn delete(
    State(state): State<VimState>,
    ctx: RequestContext,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    do_delete(&state, &ctx, vim_id(&id), &body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// Query pairs in order, empty values dropped (`api_common.get_filters`).
fn query_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

fn fields_of(pairs: &[(String, String)]) -> Option<Vec<String>> {
    let fields: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "fields")
        .map(|(_, v)| v.clone())
        .collect();
    (!fields.is_empty()).then_some(fields)
}

const NOT_FILTERS: [&str; 6] = [
    "fields",
    "sort_key",
    "sort_dir",
    "limit",
    "marker",
    "page_reverse",
];

async fn do_list(
    state: &VimState,
    ctx: &RequestContext,
    query: &str,
) -> Result<Response, VimError> {
    let pairs = query_pairs(query);
    let fields = fields_of(&pairs);
    let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in &pairs {
        if NOT_FILTERS.contains(&k.as_str()) {
            continue;
        }
        match grouped.iter_mut().find(|(key, _)| key == k) {
            Some((_, values)) => values.push(v.clone()),
            None => grouped.push((k.clone(), vec![v.clone()])),
        }
    }
    let filters: Vec<VimFilter> = grouped
        .iter()
        .filter_map(|(k, values)| VimFilter::parse(k, values))
        .collect();
    // The version is read before the rows, so a body kept under it is at least as new.
    // A store that cannot tell (or fails to) renders every time.
    let version = state.store.data_version().await.ok().flatten();
    let key = version.map(|_| list_cache::key(ctx, query));
    if let (Some(version), Some(key)) = (version, key.as_deref()) {
        if let Some(body) = state.lists.get(version, key) {
            return Ok(json_response(body));
        }
    }
    let vims = state.store.list(&scope(ctx), &filters).await?;
    let shown = vims
        .iter()
        .filter(|v| allowed(ctx, Action::Get, &v.tenant_id));
    let body = Bytes::from(to_py_json(&VimList::new(shown, fields.as_deref())));
    if let (Some(version), Some(key)) = (version, key) {
        state.lists.put(version, key, body.clone());
    }
    Ok(json_response(body))
}

/// A rendered JSON body as [`PyJson`] answers it.
fn json_response(body: Bytes) -> Response {
    ([(CONTENT_TYPE, "application/json")], body).into_response()
}

/// A live VIM the caller may act on: out of scope → `VimNotFound`, policy denial → 404.
async fn fetch(
    state: &VimState,
    ctx: &RequestContext,
    id: &str,
    action: Action,
) -> Result<Vim, VimError> {
    let vim = state
        .store
        .get(id, &scope(ctx))
        .await?
        .ok_or_else(|| VimError::VimNotFound(id.to_owned()))?;
    if !allowed(ctx, action, &vim.tenant_id) {
        return Err(VimError::HttpNotFound);
    }
    Ok(vim)
}

async fn do_show(
    state: &VimState,
    ctx: &RequestContext,
    id: &str,
    query: &str,
) -> Result<Response, VimError> {
    let fields = fields_of(&query_pairs(query));
    let vim = fetch(state, ctx, id, Action::Get).await?;
    Ok(PyJson(OneVim(VimView::new(&vim, fields.as_deref()))).into_response())
}

/// Write the row with `write`, then make the key `register` stored current; when the write
/// fails the new key is removed and the VIM's old key (if any) is untouched. A key that cannot
/// be made current after the commit is reported (500); the start-up sweep completes it.
async fn commit_with_key<F>(
    driver: &dyn VimDriver,
    staged: Option<&StagedKey>,
    write: F,
) -> Result<(), VimError>
where
    F: std::future::Future<Output = Result<(), VimError>>,
{
    if let Err(e) = write.await {
        if let Some(staged) = staged {
            driver.discard_key(staged).await;
        }
        return Err(e);
    }
    match staged {
        Some(staged) => driver.activate_key(staged).await,
        None => Ok(()),
    }
}

async fn do_create(
    state: &VimState,
    ctx: &RequestContext,
    raw: &[u8],
) -> Result<Response, VimError> {
    let req = prepare_create(ctx, parse_body(raw)?, raw)?;
    if !allowed(ctx, Action::Create, &req.tenant_id) {
        return Err(VimError::PolicyNotAuthorized(
            Action::Create.rule().to_owned(),
        ));
    }
    // Deliberate fix: upstream's driver lookup raises KeyError (500) for an unknown type.
    let driver = state.driver(&req.vim_type).ok_or_else(|| {
        VimError::BadRequest(format!(
            "Invalid input for type. Reason: '{}' is not a supported VIM type.",
            req.vim_type
        ))
    })?;
    // NfvoPlugin.create_vim: an OpenStack VIM's auth URL names Keystone v3.
    let auth_url = if req.vim_type == "openstack" {
        tacker_keystone::auth_url_v3(&req.auth_url)
    } else {
        req.auth_url
    };
    let mut vim = Vim {
        id: uuid::Uuid::new_v4().to_string(),
        vim_type: req.vim_type,
        tenant_id: req.tenant_id,
        name: req.name,
        description: req.description,
        placement_attr: None,
        shared: false,
        is_default: req.is_default,
        created_at: state.now(),
        updated_at: None,
        deleted_at: None,
        extra: req.extra,
        auth_url,
        vim_project: req.vim_project,
        auth_cred: req.auth_cred,
        password: None,
    };
    // A failed registration stores no key (the driver stores it last); a failed insert
    // removes the new key, so neither a key nor a row is left behind (upstream: one try
    // block around register + insert with `delete_vim_auth` in the handler). The key
    // becomes current only once the row exists: a crash in between leaves a staged key
    // the start-up sweep removes or completes.
    let staged = driver.register(&mut vim).await?;
    commit_with_key(driver.as_ref(), Some(&staged), state.store.create(&vim)).await?;
    // The response shows the in-memory object (created_at with microseconds), as upstream.
    Ok((
        StatusCode::CREATED,
        PyJson(OneVim(VimView::new(&vim, None))),
    )
        .into_response())
}

/// Spec §2.10 step 6: make the credential set consistent with what the client sent.
fn rewrite_auth_cred(cred: &mut Map<String, Value>, sent: &Map<String, Value>) {
    let drop = |cred: &mut Map<String, Value>, keys: &[&str]| {
        for k in keys {
            cred.shift_remove(*k);
        }
    };
    if sent.contains_key("oidc_token_url") {
        for k in [
            "oidc_token_url",
            "username",
            "password",
            "client_id",
            "client_secret",
        ] {
            cred.insert(k.to_owned(), sent.get(k).cloned().unwrap_or(Value::Null));
        }
        drop(cred, &["bearer_token"]);
    } else if sent.contains_key("username") && sent.get("password").is_some_and(|p| !p.is_null()) {
        for k in ["username", "password"] {
            cred.insert(k.to_owned(), sent[k].clone());
        }
        drop(
            cred,
            &[
                "bearer_token",
                "oidc_token_url",
                "client_id",
                "client_secret",
            ],
        );
    } else if let Some(token) = sent.get("bearer_token") {
        cred.insert("bearer_token".to_owned(), token.clone());
        drop(
            cred,
            &[
                "username",
                "password",
                "oidc_token_url",
                "client_id",
                "client_secret",
            ],
        );
    }
    if let Some(ca) = sent.get("ssl_ca_cert") {
        cred.insert("ssl_ca_cert".to_owned(), ca.clone());
    }
}

/// The credentials an update registers, in plaintext: the stored `auth_cred` (and password)
/// merged with what the client sent (spec §2.10 step 6). The stored secrets are Fernet
/// tokens; those the update keeps are decrypted with the VIM's current key before the merge
/// result goes to the driver, which encrypts everything again with a new key. (Upstream
/// merges the tokens themselves and encrypts them a second time.)
async fn merged_auth_cred(
    driver: &dyn VimDriver,
    stored: &Vim,
    sent: &Map<String, Value>,
) -> Result<Map<String, Value>, VimError> {
    let secrets = stored_secrets(stored);
    let mut cred = stored.auth_cred.clone();
    if let Some(pw) = stored.password.as_ref().filter(|p| !p.is_empty()) {
        cred.insert("password".to_owned(), Value::String(pw.clone()));
    }
    deep_update(&mut cred, sent);
    rewrite_auth_cred(&mut cred, sent);
    let kept: Vec<(&str, String)> = secrets
        .into_iter()
        .filter(|(name, token)| {
            !sent.contains_key(*name) && cred.get(*name).and_then(Value::as_str) == Some(token)
        })
        .collect();
    if !kept.is_empty() {
        let tokens: Vec<String> = kept.iter().map(|(_, token)| token.clone()).collect();
        let plain = driver.decrypt(stored, &tokens).await?;
        for ((name, _), value) in kept.iter().zip(plain) {
            cred.insert(
                (*name).to_owned(),
                Value::String(value.expose_secret().to_owned()),
            );
        }
    }
    Ok(cred)
}

async fn do_update(
    state: &VimState,
    ctx: &RequestContext,
    id: &str,
    raw: &[u8],
) -> Result<Response, VimError> {
    let req = prepare_update(ctx, parse_body(raw)?, raw)?;
    let _turn = state.turns.of(id).lock().await;
    let stored = fetch(state, ctx, id, Action::Update).await?;
    if state.store.in_use(id, &scope(ctx)).await? {
        return Err(VimError::VimInUse(id.to_owned()));
    }
    let driver = state.driver(&stored.vim_type).ok_or_else(|| {
        VimError::Internal(format!("no driver for VIM type {:?}", stored.vim_type))
    })?;

    let mut vim = stored.clone();
    if let Some(name) = req.name {
        vim.name = name;
    }
    if let Some(description) = req.description {
        vim.description = description;
    }
    if let Some(is_default) = req.is_default {
        vim.is_default = is_default;
    }
    if let Some(project) = &req.vim_project {
        deep_update(&mut vim.vim_project, project);
    }
    if let Some(extra) = &req.extra {
        deep_update(&mut vim.extra, extra);
    }
    let staged = match &req.auth_cred {
        Some(sent) => {
            vim.auth_cred = merged_auth_cred(driver.as_ref(), &stored, sent).await?;
            vim.password = None;
            Some(driver.register(&mut vim).await?)
        }
        None => None,
    };
    vim.updated_at = Some(state.now());
    // Two credential updates of this VIM on replicas sharing a key directory: the row write
    // and making the key current take one turn, so keys become current in commit order.
    let turn = match &staged {
        Some(staged) => match driver.commit_turn(staged).await {
            Ok(turn) => turn,
            Err(e) => {
                driver.discard_key(staged).await;
                return Err(e);
            }
        },
        None => CommitTurn::none(),
    };
    commit_with_key(
        driver.as_ref(),
        staged.as_ref(),
        state.store.update(&vim, &stored),
    )
    .await?;
    drop(turn);
    // The old key is no longer used. A key file was replaced by the new one when it was
    // made current; any other old key (a Barbican secret, or a file after a switch to
    // Barbican) is deleted now, after the commit, as upstream deletes the old secret.
    if let Some(staged) = &staged {
        let old = KeyRef::from_auth_cred(&stored.auth_cred);
        let replaced = old == Some(KeyRef::FernetFile) && staged.key_ref == KeyRef::FernetFile;
        if old.is_some() && !replaced {
            if let Err(e) = driver.delete_vim_auth(&stored).await {
                tracing::warn!(vim_id = %id, error = %e, "failed to delete the old VIM key");
            }
        }
    }
    Ok(PyJson(OneVim(VimView::new(&vim, None))).into_response())
}

async fn do_delete(
    state: &VimState,
    ctx: &RequestContext,
    id: &str,
    raw: &[u8],
) -> Result<Response, VimError> {
    // Deliberate fix: upstream's controller crashes (500) on a DELETE with a body.
    if !raw.is_empty() {
        return Err(VimError::BadRequest(
            "Request body is not allowed for DELETE".to_owned(),
        ));
    }
    let _turn = state.turns.of(id).lock().await;
    let vim = fetch(state, ctx, id, Action::Delete).await?;
    if state.store.in_use(id, &scope(ctx)).await? {
        return Err(VimError::VimInUse(id.to_owned()));
    }
    let driver = state
        .driver(&vim.vim_type)
        .ok_or_else(|| VimError::Internal(format!("no driver for VIM type {:?}", vim.vim_type)))?;
    // The key goes first, as upstream: if the key manager cannot be reached the VIM stays in
    // place, usable, and the caller is told (500 KeyManagerError); no secret is orphaned.
    // Removing a key that is already gone succeeds, so a DELETE retried after a failed
    // database write completes.
    driver.deregister(&vim).await?;
    state.store.soft_delete(id, state.now()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bearer_token_update_drops_user_and_oidc_keys() {
        let mut cred = json!({"oidc_token_url": "u", "username": "a", "password": "p",
            "client_id": "c", "client_secret": "s", "key_type": "barbican_key"});
        let sent = json!({"bearer_token": "t"});
        let sent = sent.as_object().unwrap();
        deep_update(cred.as_object_mut().unwrap(), sent);
        rewrite_auth_cred(cred.as_object_mut().unwrap(), sent);
        assert_eq!(
            cred,
            json!({"key_type": "barbican_key", "bearer_token": "t"})
        );
    }

    #[test]
    fn oidc_update_sets_missing_oidc_keys_to_null_and_drops_bearer() {
        let mut cred = json!({"bearer_token": "t"});
        let sent =
            json!({"oidc_token_url": "u", "username": "a", "password": "p", "client_id": "c"});
        let sent = sent.as_object().unwrap();
        deep_update(cred.as_object_mut().unwrap(), sent);
        rewrite_auth_cred(cred.as_object_mut().unwrap(), sent);
        assert_eq!(
            cred,
            json!({"oidc_token_url": "u", "username": "a", "password": "p", "client_id": "c", "client_secret": null})
        );
    }
}
