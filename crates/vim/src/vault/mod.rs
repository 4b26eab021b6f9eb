//! The credential vault: Fernet encryption of VIM secrets (the `cryptography` Fernet token
//! format, so existing Tacker keys and tokens stay readable) and the key manager that keeps
//! each VIM's key (a file under `[vim_keys] openstack`, or Barbican).

pub mod fernet;
mod file;

use async_trait::async_trait;
use secrecy::SecretString;
use serde_json::{Map, Value};

use tacker_common::py::none_from_string;

use crate::{Vim, VimError};

pub use fernet::{FernetError, FernetKey};
pub use file::{FileKeyManager, KeySweep};

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

/// The Fernet tokens a stored VIM holds, by field, as the drivers' `encode_vim_auth` writes
/// them: `password` (the `vimauths.password` column), then `bearer_token`, `client_secret`
/// and `ssl_ca_cert` from `auth_cred` (an `ssl_ca_cert` of `"None"` is kept as text).
pub fn stored_secrets(vim: &Vim) -> Vec<(&'static str, String)> {
    let mut secrets = Vec::new();
    if let Some(password) = vim.password.as_deref().filter(|p| !p.is_empty()) {
        secrets.push(("password", password.to_owned()));
    }
    for name in ["bearer_token", "client_secret"] {
        if let Some(Value::String(token)) = vim.auth_cred.get(name) {
            secrets.push((name, token.clone()));
        }
    }
    if let Some(token) = none_from_string(vim.auth_cred.get("ssl_ca_cert")) {
        secrets.push(("ssl_ca_cert", token.to_owned()));
    }
    secrets
}

/// A key [`KeyManager::store`] wrote that is not the VIM's key yet: it sits beside the current
/// key (which stays readable) until [`KeyManager::activate`] makes it current, after the row
/// that uses it has committed, or [`KeyManager::discard`] removes it when that write failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedKey {
    pub vim_id: String,
    /// What `auth_cred` records for the key (`key_type`, `secret_uuid`).
    pub key_ref: KeyRef,
    /// Where the manager keeps the key until it is activated (a key file's staging name);
    /// `None` when `key_ref` already reaches it (a Barbican secret has its own uuid).
    pub staging: Option<String>,
}

/// Held while a row write that uses a [`StagedKey`] commits and the key is made current (or
/// discarded): two updates of one VIM on two replicas sharing a key directory then make their
/// keys current in the order their rows committed, so the key left current is the one the
/// stored ciphertext needs. Dropping it ends the turn.
#[must_use = "the turn ends when this is dropped"]
pub struct CommitTurn(#[allow(dead_code)] Option<Box<dyn Send + Sync>>);

impl CommitTurn {
    /// No turn to wait for (a key that is not renamed into place, as a Barbican secret).
    pub fn none() -> Self {
        Self(None)
    }

    /// A turn that lasts as long as `held` does (a locked file, say).
    pub fn holding(held: impl Send + Sync + 'static) -> Self {
        Self(Some(Box::new(held)))
    }
}

impl std::fmt::Debug for CommitTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "CommitTurn(held)"
        } else {
            "CommitTurn(none)"
        })
    }
}

/// Keeps VIM Fernet keys. The file-based implementation is [`FileKeyManager`]; Barbican's is
/// `tacker-server`'s `BarbicanKeys` (returning [`KeyRef::Barbican`] from `store`).
///
/// A new key never replaces the current one when it is stored: the VIM's row and its key
/// change together only in [`activate`](Self::activate), so a failed or conflicting update
/// leaves the old key and the old ciphertext as they were.
#[async_trait]
pub trait KeyManager: Send + Sync {
    /// Store `key` (44-char URL-safe base64) for `vim_id` beside its current key.
    async fn store(&self, vim_id: &str, key: &SecretString) -> Result<StagedKey, VimError>;
    /// Wait for this process's and every other's earlier commits of staged keys to finish
    /// (see [`CommitTurn`]); the caller holds the turn across its row write and
    /// [`activate`](Self::activate) / [`discard`](Self::discard). None by default.
    async fn commit_turn(&self, staged: &StagedKey) -> Result<CommitTurn, VimError> {
        let _ = staged;
        Ok(CommitTurn::none())
    }
    /// Make a stored key the VIM's current key; called once the row using it has committed.
    /// Nothing to do when the key is already reachable by its reference (Barbican).
    async fn activate(&self, staged: &StagedKey) -> Result<(), VimError> {
        let _ = staged;
        Ok(())
    }
    /// Remove a stored key that never became current (the row write failed).
    async fn discard(&self, staged: &StagedKey) -> Result<(), VimError> {
        self.delete(&staged.vim_id, &staged.key_ref).await
    }
    /// Read the key back.
    async fn load(&self, vim_id: &str, key_ref: &KeyRef) -> Result<SecretString, VimError>;
    /// Delete the key; a key that is already gone is not an error.
    async fn delete(&self, vim_id: &str, key_ref: &KeyRef) -> Result<(), VimError>;
}
