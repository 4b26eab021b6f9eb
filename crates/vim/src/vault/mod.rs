//! The credential vault: Fernet encryption of VIM secrets (the `cryptography` Fernet token
//! format, so existing Tacker keys and tokens stay readable) and the key manager that keeps
//! each VIM's key (a file under `[vim_keys] openstack`, or Barbican).

pub mod fernet;
mod file;

use async_trait::async_trait;
use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::VimError;

pub use fernet::{FernetError, FernetKey};
pub use file::FileKeyManager;

/// `auth_cred.key_type` of a key kept in a file (`tacker/nfvo/drivers/vim/*_driver.py`).
pub const KEY_TYPE_FERNET: &str = "fernet_key";
/// `auth_cred.key_type` of a key kept in Barbican.
pub const KEY_TYPE_BARBICAN: &str = "barbican_key";

/// Where a VIM's Fernet key is kept, as recorded in `auth_cred`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRef {
    /// `key_type: fernet_key`: the file `<[vim_keys] openstack>/<vim_id>`.
    FernetFile,
    /// `key_type: barbican_key` with `secret_uuid`.
    Barbican { secret_uuid: String },
}

impl KeyRef {
    /// The `auth_cred.key_type` value.
    pub fn key_type(&self) -> &'static str {
        match self {
            KeyRef::FernetFile => KEY_TYPE_FERNET,
            KeyRef::Barbican { .. } => KEY_TYPE_BARBICAN,
        }
    }

    /// Read the reference back from a stored `auth_cred`: `barbican_key` with a string
    /// `secret_uuid` → Barbican, `fernet_key` → file, anything else (not registered yet, or a
    /// Barbican reference without its uuid) → `None`.
    pub fn from_auth_cred(auth_cred: &Map<String, Value>) -> Option<KeyRef> {
        match auth_cred.get("key_type").and_then(Value::as_str) {
            Some(KEY_TYPE_FERNET) => Some(KeyRef::FernetFile),
            Some(KEY_TYPE_BARBICAN) => {
                auth_cred
                    .get("secret_uuid")
                    .and_then(Value::as_str)
                    .map(|uuid| KeyRef::Barbican {
                        secret_uuid: uuid.to_owned(),
                    })
            }
            _ => None,
        }
    }

    /// Record the reference in `auth_cred` as upstream does: `key_type`, and `secret_uuid`
    /// for Barbican (appended after the existing keys, replaced in place on re-registration).
    pub fn write_to(&self, auth_cred: &mut Map<String, Value>) {
        auth_cred.insert("key_type".to_owned(), Value::from(self.key_type()));
        if let KeyRef::Barbican { secret_uuid } = self {
            auth_cred.insert("secret_uuid".to_owned(), Value::from(secret_uuid.as_str()));
        }
    }
}

/// Keeps VIM Fernet keys. The file-based implementation is [`FileKeyManager`]; Barbican
/// implements it in `tacker-outbound`'s issue (returning [`KeyRef::Barbican`] from `store`).
#[async_trait]
pub trait KeyManager: Send + Sync {
    /// Store `key` (44-char URL-safe base64) for `vim_id`; returns how to find it again.
    async fn store(&self, vim_id: &str, key: &SecretString) -> Result<KeyRef, VimError>;
    /// Read the key back.
    async fn load(&self, vim_id: &str, key_ref: &KeyRef) -> Result<SecretString, VimError>;
    /// Delete the key; a key that is already gone is not an error.
    async fn delete(&self, vim_id: &str, key_ref: &KeyRef) -> Result<(), VimError>;
}
