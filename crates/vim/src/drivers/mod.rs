//! VIM drivers (`tacker/nfvo/drivers/vim/openstack_driver.py`, `kubernetes_driver.py`):
//! reachability check, `auth_cred` augmentation, placement discovery, and encryption of the
//! VIM's secrets with a new Fernet key kept by the key manager.

use async_trait::async_trait;

use crate::model::Vim;
use crate::VimError;

/// What `register_vim` / `deregister_vim` / `delete_vim_auth` do for one VIM type.
#[async_trait]
pub trait VimDriver: Send + Sync {
    /// Check reachability with the VIM's own credentials, set `placement_attr`, augment
    /// `auth_cred` as upstream, then encrypt the secrets with a new key and store the key
    /// (setting `auth_cred.key_type` / `secret_uuid`, `password`). `vim.auth_cred` comes in
    /// as the client sent it (plaintext secrets) and leaves in stored form.
    async fn register(&self, vim: &mut Vim) -> Result<(), VimError>;

    /// Remove the VIM's key (file or key-manager secret) when the VIM is deleted.
    async fn deregister(&self, vim: &Vim) -> Result<(), VimError>;

    /// Remove a key created by `register` when a later step fails (no orphan key).
    async fn delete_vim_auth(&self, vim: &Vim) -> Result<(), VimError>;
}
