//! Test harness for the `/v1.0/vims` router: a `TestApp` over a real SQLite file and
//! in-process fake VIM drivers (the fakes stand in for the VIMs themselves).

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::Body;
use axum::Router;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use secrecy::SecretString;
use serde_json::{json, Map, Value};
use tacker_common::{Identity, RequestContext};
use tacker_vim::vault::StagedKey;
use tacker_vim::{
    api_router, connect, DriverRegistry, KeyRef, Vim, VimDriver, VimError, VimState, VimStore,
};
use tower::ServiceExt;

/// How a fake VIM answers the reachability check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    Ok,
    /// Keystone / Kubernetes rejects the credentials.
    Unauthorized,
    /// Nothing listens at `auth_url`.
    Unreachable,
}

/// One recorded driver call: operation and the VIM as the driver saw it.
#[derive(Clone, Debug)]
pub struct Call {
    pub op: &'static str,
    pub vim: Vim,
}

/// A fake VIM type. `Openstack` behaves like the OpenStack driver with local Fernet keys,
/// `Kubernetes` like the Kubernetes driver with Barbican.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Openstack,
    Kubernetes,
}

pub struct FakeDriver {
    kind: Kind,
    pub reach: Mutex<Reach>,
    pub calls: Mutex<Vec<Call>>,
    /// Keys that currently exist: `file:<vim_id>` or `secret:<uuid>`.
    pub keys: Mutex<HashSet<String>>,
    /// When set, removing a key fails as an unreachable key manager does.
    pub key_manager_down: Mutex<bool>,
    /// Keys `register` stored that were removed because the row write failed.
    pub discarded: Mutex<Vec<StagedKey>>,
}

impl FakeDriver {
    pub fn new(kind: Kind) -> Arc<Self> {
        Arc::new(Self {
            kind,
            reach: Mutex::new(Reach::Ok),
            calls: Mutex::new(Vec::new()),
            keys: Mutex::new(HashSet::new()),
            key_manager_down: Mutex::new(false),
            discarded: Mutex::new(Vec::new()),
        })
    }

    pub fn calls(&self, op: &str) -> Vec<Vim> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.op == op)
            .map(|c| c.vim.clone())
            .collect()
    }

    pub fn discarded(&self) -> Vec<StagedKey> {
        self.discarded.lock().unwrap().clone()
    }

    pub fn key_count(&self) -> usize {
        self.keys.lock().unwrap().len()
    }

    fn record(&self, op: &'static str, vim: &Vim) {
        self.calls.lock().unwrap().push(Call {
            op,
            vim: vim.clone(),
        });
    }

    fn key_of(vim: &Vim) -> Option<String> {
        match vim.auth_cred.get("key_type").and_then(Value::as_str) {
            Some("barbican_key") => vim
                .auth_cred
                .get("secret_uuid")
                .and_then(Value::as_str)
                .map(|u| format!("secret:{u}")),
            Some("fernet_key") => Some(format!("file:{}", vim.id)),
            _ => None,
        }
    }
}

fn fake_encrypt(v: &Value) -> Value {
    Value::String(format!("gAAAAAfake-{}", v.as_str().unwrap_or("")))
}

#[async_trait]
impl VimDriver for FakeDriver {
    async fn register(&self, vim: &mut Vim) -> Result<StagedKey, VimError> {
        self.record("register", vim);
        match *self.reach.lock().unwrap() {
            Reach::Ok => {}
            Reach::Unauthorized => {
                return Err(VimError::VimUnauthorized(
                    "The request you have made requires authentication. (HTTP 401)".into(),
                ))
            }
            Reach::Unreachable => {
                return Err(VimError::VimConnection(format!(
                    "Unable to establish connection to {}",
                    vim.auth_url
                )))
            }
        }
        let cred = &mut vim.auth_cred;
        cred.shift_remove("key_type");
        cred.shift_remove("secret_uuid");
        match self.kind {
            Kind::Openstack => {
                let p = vim.vim_project.clone();
                cred.insert(
                    "project_id".into(),
                    p.get("id").cloned().unwrap_or(Value::Null),
                );
                cred.insert(
                    "project_name".into(),
                    p.get("name").cloned().unwrap_or(Value::Null),
                );
                cred.insert(
                    "project_domain_name".into(),
                    p.get("project_domain_name").cloned().unwrap_or(Value::Null),
                );
                cred.insert("auth_url".into(), Value::String(vim.auth_url.clone()));
                vim.placement_attr = Some(json!({"regions": ["RegionOne", "RegionTwo"]}));
                let pw = cred.shift_remove("password").unwrap_or(Value::Null);
                vim.password = fake_encrypt(&pw).as_str().map(str::to_owned);
                cred.insert("key_type".into(), json!("fernet_key"));
                self.keys
                    .lock()
                    .unwrap()
                    .insert(format!("staged:{}", vim.id));
                Ok(StagedKey {
                    vim_id: vim.id.clone(),
                    key_ref: KeyRef::FernetFile,
                    staging: Some(format!("staged:{}", vim.id)),
                })
            }
            Kind::Kubernetes => {
                cred.insert("auth_url".into(), Value::String(vim.auth_url.clone()));
                if !cred.contains_key("username") && !cred.contains_key("password") {
                    cred.insert("username".into(), json!("None"));
                    cred.insert("password".into(), Value::Null);
                }
                vim.placement_attr = Some(json!({"regions": [
                    "default", "kube-node-lease", "kube-public", "kube-system"]}));
                vim.password = match cred.shift_remove("password") {
                    Some(Value::Null) | None => None,
                    Some(pw) => fake_encrypt(&pw).as_str().map(str::to_owned),
                };
                for k in ["bearer_token", "client_secret", "ssl_ca_cert"] {
                    if let Some(v) = cred.get(k).cloned() {
                        if !v.is_null() {
                            cred.insert(k.into(), fake_encrypt(&v));
                        }
                    }
                }
                let uuid = uuid::Uuid::new_v4().to_string();
                cred.insert("key_type".into(), json!("barbican_key"));
                cred.insert("secret_uuid".into(), json!(uuid));
                self.keys.lock().unwrap().insert(format!("secret:{uuid}"));
                Ok(StagedKey {
                    vim_id: vim.id.clone(),
                    key_ref: KeyRef::Barbican { secret_uuid: uuid },
                    staging: None,
                })
            }
        }
    }

    async fn activate_key(&self, key: &StagedKey) -> Result<(), VimError> {
        if let Some(staging) = &key.staging {
            let mut keys = self.keys.lock().unwrap();
            keys.remove(staging);
            keys.insert(format!("file:{}", key.vim_id));
        }
        Ok(())
    }

    async fn discard_key(&self, key: &StagedKey) {
        self.discarded.lock().unwrap().push(key.clone());
        let name = match (&key.staging, &key.key_ref) {
            (Some(staging), _) => staging.clone(),
            (None, KeyRef::Barbican { secret_uuid }) => format!("secret:{secret_uuid}"),
            (None, KeyRef::FernetFile) => format!("file:{}", key.vim_id),
        };
        self.keys.lock().unwrap().remove(&name);
    }

    async fn decrypt(&self, _vim: &Vim, tokens: &[String]) -> Result<Vec<SecretString>, VimError> {
        Ok(tokens
            .iter()
            .map(|t| SecretString::from(t.strip_prefix("gAAAAAfake-").unwrap_or(t)))
            .collect())
    }

    async fn deregister(&self, vim: &Vim) -> Result<(), VimError> {
        self.record("deregister", vim);
        if *self.key_manager_down.lock().unwrap() {
            return Err(VimError::KeyManager(
                "Unable to establish connection to the key manager".into(),
            ));
        }
        if let Some(k) = Self::key_of(vim) {
            self.keys.lock().unwrap().remove(&k);
        }
        Ok(())
    }

    async fn delete_vim_auth(&self, vim: &Vim) -> Result<(), VimError> {
        self.record("delete_vim_auth", vim);
        if let Some(k) = Self::key_of(vim) {
            self.keys.lock().unwrap().remove(&k);
        }
        Ok(())
    }
}

pub struct TestApp {
    pub router: Router,
    pub store: Arc<dyn VimStore>,
    pub openstack: Arc<FakeDriver>,
    pub kubernetes: Arc<FakeDriver>,
    pub db_url: String,
    pub db_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// `(type, message)` of a TackerError body.
    pub fn error(&self) -> (String, String) {
        let v = self.json();
        (
            v["TackerError"]["type"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            v["TackerError"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_state(|state| state).await
    }

    /// A test app whose handlers take their time from `clock`.
    pub async fn with_clock(clock: std::sync::Arc<dyn tacker_common::clock::Clock>) -> Self {
        Self::with_state(|state| state.with_clock(clock)).await
    }

    async fn with_state(configure: impl FnOnce(VimState) -> VimState) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("tacker.db");
        let db_url = format!("sqlite:///{}", db_path.display());
        let store = connect(&db_url).await.unwrap();
        let openstack = FakeDriver::new(Kind::Openstack);
        let kubernetes = FakeDriver::new(Kind::Kubernetes);
        let mut drivers: DriverRegistry = HashMap::new();
        drivers.insert("openstack".into(), openstack.clone());
        drivers.insert("kubernetes".into(), kubernetes.clone());
        let router = api_router(configure(VimState::new(store.clone(), drivers)));
        Self {
            router,
            store,
            openstack,
            kubernetes,
            db_url,
            db_path,
            _dir: dir,
        }
    }

    pub async fn request(
        &self,
        ctx: Option<&RequestContext>,
        method: Method,
        uri: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut builder = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let mut req = builder
            .body(
                body.map(|b| Body::from(b.to_owned()))
                    .unwrap_or_else(Body::empty),
            )
            .unwrap();
        if let Some(ctx) = ctx {
            req.extensions_mut().insert(ctx.clone());
        }
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    pub async fn get(&self, ctx: &RequestContext, uri: &str) -> Resp {
        self.request(Some(ctx), Method::GET, uri, None, &[]).await
    }

    pub async fn post(&self, ctx: &RequestContext, uri: &str, body: &str) -> Resp {
        self.request(
            Some(ctx),
            Method::POST,
            uri,
            Some(body),
            &[("content-type", "application/json")],
        )
        .await
    }

    pub async fn put(&self, ctx: &RequestContext, uri: &str, body: &str) -> Resp {
        self.request(
            Some(ctx),
            Method::PUT,
            uri,
            Some(body),
            &[("content-type", "application/json")],
        )
        .await
    }

    pub async fn delete(&self, ctx: &RequestContext, uri: &str) -> Resp {
        self.request(Some(ctx), Method::DELETE, uri, None, &[])
            .await
    }

    /// Create a VIM and return its id (panics unless 201).
    pub async fn create(&self, ctx: &RequestContext, vim: Value) -> String {
        let r = self
            .post(ctx, "/vims", &json!({ "vim": vim }).to_string())
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.json()["vim"]["id"].as_str().unwrap().to_owned()
    }
}

pub fn noauth() -> RequestContext {
    RequestContext::noauth_admin()
}

fn user(project: &str, roles: &[&str]) -> RequestContext {
    RequestContext::from(Identity {
        user_id: Some(format!("user-{project}")),
        project_id: Some(project.to_owned()),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        is_admin: roles.iter().any(|r| r.eq_ignore_ascii_case("admin")),
        ..Identity::default()
    })
}

pub fn member(project: &str) -> RequestContext {
    user(project, &["member", "reader"])
}

pub fn reader(project: &str) -> RequestContext {
    user(project, &["reader"])
}

pub fn admin(project: &str) -> RequestContext {
    user(project, &["admin", "member", "reader"])
}

/// A valid OpenStack VIM body (what python-tackerclient sends).
pub fn openstack_vim(name: &str) -> Value {
    json!({
        "name": name,
        "description": "d1",
        "type": "openstack",
        "auth_url": "http://ks/identity",
        "auth_cred": {"username": "nfv_user", "user_domain_name": "Default",
                      "cert_verify": "False", "password": "devstack"},
        "vim_project": {"name": "nfv", "project_domain_name": "Default"},
        "is_default": false
    })
}

/// A valid Kubernetes bearer-token VIM body.
pub fn k8s_bearer_vim(name: &str) -> Value {
    json!({
        "name": name,
        "description": format!("k8s vim {name}"),
        "type": "kubernetes",
        "auth_url": "http://127.0.0.1:16080",
        "auth_cred": {"bearer_token": "good-token"},
        "vim_project": {"name": "default"}
    })
}

pub fn obj(v: &Value) -> &Map<String, Value> {
    v.as_object().unwrap()
}

/// Replace the volatile parts of a response the way the golden recordings do.
pub fn placeholders(body: &str, ids: &[&str]) -> String {
    let mut out = body.to_owned();
    for (i, id) in ids.iter().enumerate() {
        out = out.replace(id, &format!("<UUID-{}>", i + 1));
    }
    let usec = regex::Regex::new(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}").unwrap();
    let out = usec.replace_all(&out, "<TS.usec>").into_owned();
    let sec = regex::Regex::new(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").unwrap();
    sec.replace_all(&out, "<TS>").into_owned()
}
