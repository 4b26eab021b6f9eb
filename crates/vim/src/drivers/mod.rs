//! VIM drivers (`tacker/nfvo/drivers/vim/openstack_driver.py`, `kubernetes_driver.py`):
//! reachability check, `auth_cred` augmentation, placement discovery, and encryption of the
//! VIM's secrets with a new Fernet key kept by the key manager.
//!
//! Building them (what the server does once at start-up):
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use tacker_vim::drivers::{registry, DriverConfig};
//! # use tacker_vim::vault::FileKeyManager;
//! let cfg = DriverConfig::default(); // from [vim_keys] / [k8s_vim]
//! let files = FileKeyManager::new(&cfg.fernet_key_dir);
//! files.ensure_dir().ok(); // upstream only logs a failure here
//! let drivers = registry(&cfg, Arc::new(files), None /* Barbican, when configured */);
//! assert!(drivers.contains_key("openstack") && drivers.contains_key("kubernetes"));
//! ```

mod endpoints;
mod http;
mod keys;
mod kubernetes;
mod openstack;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::model::Vim;
use crate::vault::{CommitTurn, KeyManager, StagedKey};
use crate::VimError;

pub use endpoints::{EndpointPolicy, IpNetwork, DEFAULT_DENIED};
pub use kubernetes::KubernetesDriver;
pub use openstack::OpenStackDriver;

/// What `register_vim` / `deregister_vim` / `delete_vim_auth` do for one VIM type.
#[async_trait]
pub trait VimDriver: Send + Sync {
    /// Check reachability with the VIM's own credentials, set `placement_attr`, augment
    /// `auth_cred` as upstream, then encrypt the secrets with a new key and store the key
    /// (setting `auth_cred.key_type` / `secret_uuid`, `password`). `vim.auth_cred` comes in
    /// as the client sent it (plaintext secrets; the password in `auth_cred.password`,
    /// `vim.password` is ignored) and leaves in stored form: `auth_cred` without `password`,
    /// the password's Fernet token in `vim.password` (`None` when there is none).
    ///
    /// The key is stored as the very last step: when this fails, no new key exists. It is
    /// stored beside the VIM's current key, which stays in place: the caller makes it
    /// current with [`activate_key`](Self::activate_key) once the row has committed, or
    /// removes it with [`discard_key`](Self::discard_key).
    async fn register(&self, vim: &mut Vim) -> Result<StagedKey, VimError>;

    /// Make the key `register` stored the VIM's current key.
    async fn activate_key(&self, key: &StagedKey) -> Result<(), VimError>;

    /// The key manager's [`CommitTurn`] for `key`, held across the row write and
    /// [`activate_key`](Self::activate_key) / [`discard_key`](Self::discard_key). None by
    /// default.
    async fn commit_turn(&self, key: &StagedKey) -> Result<CommitTurn, VimError> {
        let _ = key;
        Ok(CommitTurn::none())
    }

    /// Remove the key `register` stored, when the row write failed (failures are logged).
    async fn discard_key(&self, key: &StagedKey);

    /// Decrypt Fernet tokens of the stored `vim` (see [`stored_secrets`]) with its current
    /// key, in order.
    ///
    /// [`stored_secrets`]: crate::vault::stored_secrets
    async fn decrypt(&self, vim: &Vim, tokens: &[String]) -> Result<Vec<SecretString>, VimError>;

    /// Remove the VIM's key (file or key-manager secret) when the VIM is deleted.
    async fn deregister(&self, vim: &Vim) -> Result<(), VimError>;

    /// Remove the key recorded in `vim.auth_cred` (an old Barbican secret once the row no
    /// longer uses it).
    async fn delete_vim_auth(&self, vim: &Vim) -> Result<(), VimError>;
}

/// VIM type (`openstack`, `kubernetes`) → its driver. The same type as the API's
/// `tacker_vim::DriverRegistry`.
pub type DriverRegistry = HashMap<String, Arc<dyn VimDriver>>;

/// The options the drivers read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverConfig {
    /// `[vim_keys] openstack`: directory of per-VIM key files
    /// (default `/etc/tacker/vim/fernet_keys`).
    pub fernet_key_dir: PathBuf,
    /// `[vim_keys] use_barbican` (default false): OpenStack VIM keys go to Barbican.
    pub openstack_use_barbican: bool,
    /// `[k8s_vim] use_barbican` (default true): Kubernetes VIM keys go to Barbican. False
    /// keeps them in `fernet_key_dir` like OpenStack ones (upstream refuses with
    /// `VimEncryptKeyError`; a deliberate extension).
    pub k8s_use_barbican: bool,
    /// `[vim_endpoints]`: the addresses VIM endpoints may have.
    pub endpoints: EndpointPolicy,
}

impl Default for DriverConfig {
    fn default() -> Self {
        Self {
            fernet_key_dir: PathBuf::from("/etc/tacker/vim/fernet_keys"),
            openstack_use_barbican: false,
            k8s_use_barbican: true,
            endpoints: EndpointPolicy::default(),
        }
    }
}

/// The `openstack` and `kubernetes` drivers.
///
/// `file_keys` keeps keys in `cfg.fernet_key_dir` (normally
/// [`FileKeyManager`](crate::vault::FileKeyManager)); `barbican` is the Barbican key manager
/// when `[key_manager]` is configured. A driver whose `use_barbican` is true but that has no
/// Barbican key manager fails each registration with a `KeyManagerError` naming the missing
/// option (upstream fails the same way, at the same moment), so the server still starts.
pub fn registry(
    cfg: &DriverConfig,
    file_keys: Arc<dyn KeyManager>,
    barbican: Option<Arc<dyn KeyManager>>,
) -> DriverRegistry {
    let openstack = keys::KeyStore::new(
        file_keys.clone(),
        barbican.clone(),
        cfg.openstack_use_barbican,
        "[vim_keys] use_barbican",
    );
    let kubernetes = keys::KeyStore::new(
        file_keys,
        barbican,
        cfg.k8s_use_barbican,
        "[k8s_vim] use_barbican",
    );
    let endpoints = Arc::new(cfg.endpoints.clone());
    let mut drivers: DriverRegistry = HashMap::new();
    drivers.insert(
        "openstack".to_owned(),
        Arc::new(OpenStackDriver::new(openstack, endpoints.clone())),
    );
    drivers.insert(
        "kubernetes".to_owned(),
        Arc::new(KubernetesDriver::new(kubernetes, endpoints)),
    );
    drivers
}
