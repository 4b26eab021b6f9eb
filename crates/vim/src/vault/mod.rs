//! The credential vault: Fernet encryption of VIM secrets (the `cryptography` Fernet token
//! format, so existing Tacker keys and tokens stay readable) and the key manager that keeps
//! each VIM's key (a file under `[vim_keys] openstack`, or Barbican).

use async_trait::async_trait;
use secrecy::SecretString;

use crate::VimError;

/// Where a VIM's Fernet key is kept, as recorded in `auth_cred`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRef {
    /// `key_type: fernet_key`: the file `<[vim_keys] openstack>/<vim_id>`.
    FernetFile,
    /// `key_type: barbican_key` with `secret_uuid`.
    Barbican { secret_uuid: String },
}

/// Keeps VIM Fernet keys. The file-based implementation is the default; Barbican implements it
/// in `tacker-outbound`'s issue.
#[async_trait]
pub trait KeyManager: Send + Sync {
    /// Store `key` (44-char URL-safe base64) for `vim_id`; returns how to find it again.
    async fn store(&self, vim_id: &str, key: &SecretString) -> Result<KeyRef, VimError>;
    /// Read the key back.
    async fn load(&self, vim_id: &str, key_ref: &KeyRef) -> Result<SecretString, VimError>;
    /// Delete the key; a key that is already gone is not an error.
    async fn delete(&self, vim_id: &str, key_ref: &KeyRef) -> Result<(), VimError>;
}
