//! Shared pieces of the driver tests: VIM values, an in-memory Barbican stand-in implementing
//! `KeyManager`, a log capture, and an HTTPS fake Kubernetes API with its own CA.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use tacker_vim::drivers::{registry, DriverConfig, DriverRegistry};
use tacker_vim::vault::{FileKeyManager, KeyManager, KeyRef, StagedKey};
use tacker_vim::{Vim, VimError};

pub fn obj(v: Value) -> Map<String, Value> {
    v.as_object().expect("a JSON object").clone()
}

pub fn vim(vim_type: &str, auth_url: &str, auth_cred: Value, vim_project: Value) -> Vim {
    Vim {
        id: uuid::Uuid::new_v4().to_string(),
        vim_type: vim_type.to_owned(),
        tenant_id: "tenant-a".to_owned(),
        name: "vim1".to_owned(),
        description: String::new(),
        placement_attr: None,
        shared: false,
        is_default: false,
        created_at: chrono::Utc::now().naive_utc(),
        updated_at: None,
        deleted_at: None,
        extra: Map::new(),
        auth_url: auth_url.to_owned(),
        vim_project: obj(vim_project),
        auth_cred: obj(auth_cred),
        password: None,
    }
}

/// Barbican as the drivers see it: `store` returns a new secret uuid, `delete` removes it.
#[derive(Default)]
pub struct MemoryBarbican {
    pub secrets: Mutex<HashMap<String, String>>,
    pub fail_store: std::sync::atomic::AtomicBool,
}

impl MemoryBarbican {
    pub fn len(&self) -> usize {
        self.secrets.lock().unwrap().len()
    }

    pub fn get(&self, uuid: &str) -> Option<SecretString> {
        self.secrets
            .lock()
            .unwrap()
            .get(uuid)
            .map(|k| SecretString::from(k.as_str()))
    }
}

#[async_trait]
impl KeyManager for MemoryBarbican {
    async fn store(&self, vim_id: &str, key: &SecretString) -> Result<StagedKey, VimError> {
        if self.fail_store.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(VimError::KeyManager("Barbican is down".to_owned()));
        }
        let uuid = uuid::Uuid::new_v4().to_string();
        self.secrets
            .lock()
            .unwrap()
            .insert(uuid.clone(), key.expose_secret().to_owned());
        Ok(StagedKey {
            vim_id: vim_id.to_owned(),
            key_ref: KeyRef::Barbican { secret_uuid: uuid },
            staging: None,
        })
    }

    async fn load(&self, _vim_id: &str, key_ref: &KeyRef) -> Result<SecretString, VimError> {
        match key_ref {
            KeyRef::Barbican { secret_uuid } => self
                .get(secret_uuid)
                .ok_or_else(|| VimError::KeyManager("no such secret".to_owned())),
            KeyRef::FernetFile => Err(VimError::KeyManager("not a Barbican key".to_owned())),
        }
    }

    async fn delete(&self, _vim_id: &str, key_ref: &KeyRef) -> Result<(), VimError> {
        if let KeyRef::Barbican { secret_uuid } = key_ref {
            self.secrets.lock().unwrap().remove(secret_uuid);
        }
        Ok(())
    }
}

pub struct Setup {
    pub keys_dir: tempfile::TempDir,
    pub drivers: DriverRegistry,
    pub barbican: Arc<MemoryBarbican>,
}

impl Setup {
    /// Drivers with a file key manager in a fresh directory; `with_barbican` adds the
    /// in-memory Barbican.
    pub fn new(openstack_use_barbican: bool, k8s_use_barbican: bool, with_barbican: bool) -> Self {
        let keys_dir = tempfile::tempdir().unwrap();
        let cfg = DriverConfig {
            fernet_key_dir: keys_dir.path().join("fernet_keys"),
            openstack_use_barbican,
            k8s_use_barbican,
            endpoints: Default::default(),
        };
        let barbican = Arc::new(MemoryBarbican::default());
        let files = Arc::new(FileKeyManager::new(&cfg.fernet_key_dir));
        let drivers = registry(
            &cfg,
            files,
            with_barbican.then(|| barbican.clone() as Arc<dyn KeyManager>),
        );
        Self {
            keys_dir,
            drivers,
            barbican,
        }
    }

    pub fn key_dir(&self) -> std::path::PathBuf {
        self.keys_dir.path().join("fernet_keys")
    }

    pub fn key_file(&self, vim: &Vim) -> std::path::PathBuf {
        self.key_dir().join(&vim.id)
    }

    /// Every file in the key directory (none when it does not exist).
    pub fn key_files(&self) -> Vec<String> {
        match std::fs::read_dir(self.key_dir()) {
            Ok(entries) => entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Register and make the new key current, as the API does once the row has committed.
    pub async fn register(&self, vim: &mut Vim) -> Result<(), VimError> {
        let driver = &self.drivers[&vim.vim_type];
        let staged = driver.register(vim).await?;
        driver.activate_key(&staged).await
    }

    /// Register only: the new key is stored but not current.
    pub async fn register_staged(&self, vim: &mut Vim) -> Result<StagedKey, VimError> {
        self.drivers[&vim.vim_type].register(vim).await
    }

    /// The key the VIM's secrets were encrypted with, wherever it was stored.
    pub fn key_of(&self, vim: &Vim) -> SecretString {
        match KeyRef::from_auth_cred(&vim.auth_cred).expect("a key reference") {
            KeyRef::FernetFile => {
                SecretString::from(std::fs::read_to_string(self.key_file(vim)).expect("key file"))
            }
            KeyRef::Barbican { secret_uuid } => self.barbican.get(&secret_uuid).expect("secret"),
        }
    }
}

pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Everything logged (any level) on this thread while the guard lives.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    pub fn start() -> (Self, tracing::subscriber::DefaultGuard) {
        let capture = Self::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(capture.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        (capture, guard)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A CA and a server certificate for 127.0.0.1 signed by it.
pub struct TestPki {
    pub ca_pem: String,
    pub server_cert_der: Vec<u8>,
    pub server_key_der: Vec<u8>,
}

impl TestPki {
    pub fn new() -> Self {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "driver test CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let leaf_params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
        Self {
            ca_pem: ca.pem(),
            server_cert_der: leaf.der().to_vec(),
            server_key_der: leaf_key.serialize_der(),
        }
    }
}

/// An axum router served over TLS on 127.0.0.1 (port 0); stopped when dropped.
pub struct TlsServer {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TlsServer {
    pub async fn start(pki: &TestPki, router: axum::Router) -> Self {
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(pki.server_cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_key_der.clone())),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let router = router.clone();
                tokio::spawn(async move {
                    // A client that refuses our certificate ends here; that is expected.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper_util::service::TowerToHyperService::new(router);
                    let _ = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
                });
            }
        });
        Self { addr, task }
    }
}

/// A Kubernetes API that wants `Authorization: <authorization>` and has these namespaces.
pub fn fake_k8s_router(
    authorization: &'static str,
    namespaces: &'static [&'static str],
) -> axum::Router {
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::get;
    let authorized = move |headers: &HeaderMap| {
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(authorization)
    };
    axum::Router::new()
        .route(
            "/api/",
            get(move |headers: HeaderMap| async move {
                if authorized(&headers) {
                    (
                        StatusCode::OK,
                        axum::Json(serde_json::json!({"kind": "APIVersions", "versions": ["v1"]})),
                    )
                } else {
                    (
                        StatusCode::UNAUTHORIZED,
                        axum::Json(serde_json::json!({"kind": "Status"})),
                    )
                }
            }),
        )
        .route(
            "/api/v1/namespaces",
            get(move |headers: HeaderMap| async move {
                if !authorized(&headers) {
                    return (StatusCode::UNAUTHORIZED, axum::Json(serde_json::json!({})));
                }
                let items: Vec<Value> = namespaces
                    .iter()
                    .map(|n| serde_json::json!({"metadata": {"name": n}}))
                    .collect();
                (
                    StatusCode::OK,
                    axum::Json(serde_json::json!({"kind": "NamespaceList", "items": items})),
                )
            }),
        )
}

/// A Kubernetes API that accepts any credentials (the tests look at what it received).
pub async fn accepting_kubernetes() -> wiremock::MockServer {
    use serde_json::json;
    use wiremock::matchers::{method, path};
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("GET"))
        .and(path("/api/"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(json!({"kind": "APIVersions", "versions": ["v1"]})),
        )
        .mount(&server)
        .await;
    wiremock::Mock::given(method("GET"))
        .and(path("/api/v1/namespaces"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({
            "kind": "NamespaceList", "items": [{"metadata": {"name": "default"}}]})))
        .mount(&server)
        .await;
    server
}
