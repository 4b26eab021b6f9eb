//! The VIM registry's key manager backed by Barbican: the seam between `tacker-vim` (which
//! knows VIMs and key references) and `tacker-outbound` (which knows Barbican secrets), as
//! Tacker's `BarbicanKeyManager` sits between its VIM drivers and barbicanclient.

use async_trait::async_trait;
use secrecy::SecretString;
use tacker_outbound::{BarbicanClient, BarbicanError};
use tacker_vim::vault::StagedKey;
use tacker_vim::{KeyManager, KeyRef, VimError};

/// VIM Fernet keys as Barbican opaque secrets (`key_type: barbican_key`, `secret_uuid`). A
/// new secret is a new uuid, so storing one never touches the VIM's current secret: it is
/// current as soon as the row naming it commits (`activate` has nothing to do), a failed
/// write deletes it (`discard`), and the API deletes the old one after the commit.
#[derive(Clone, Debug)]
pub struct BarbicanKeys(pub BarbicanClient);

/// Every Barbican failure is upstream's `KeyManagerError` (500).
fn key_manager_error(vim_id: &str, err: BarbicanError) -> VimError {
    tracing::debug!(vim_id, "Barbican call failed: {err}");
    VimError::KeyManager(err.to_string())
}

/// The secret a reference names; upstream `_create_secret_ref` refuses an empty one.
fn uuid_of(key_ref: &KeyRef) -> Result<&str, VimError> {
    match key_ref {
        KeyRef::Barbican { secret_uuid } if !secret_uuid.is_empty() => Ok(secret_uuid),
        KeyRef::Barbican { .. } => Err(VimError::KeyManager("Key ID is None".into())),
        KeyRef::FernetFile => Err(VimError::KeyManager(
            "the VIM's key is kept in a file, not in Barbican".into(),
        )),
    }
}

#[async_trait]
impl KeyManager for BarbicanKeys {
    async fn store(&self, vim_id: &str, key: &SecretString) -> Result<StagedKey, VimError> {
        let secret_uuid = self
            .0
            .store_secret(key)
            .await
            .map_err(|e| key_manager_error(vim_id, e))?;
        tracing::info!(vim_id, secret_uuid, "stored the VIM key in Barbican");
        Ok(StagedKey {
            vim_id: vim_id.to_owned(),
            key_ref: KeyRef::Barbican { secret_uuid },
            staging: None,
        })
    }

    async fn load(&self, vim_id: &str, key_ref: &KeyRef) -> Result<SecretString, VimError> {
        let uuid = uuid_of(key_ref)?;
        self.0
            .secret_payload(uuid)
            .await
            .map_err(|e| key_manager_error(vim_id, e))
    }

    async fn delete(&self, vim_id: &str, key_ref: &KeyRef) -> Result<(), VimError> {
        let uuid = uuid_of(key_ref)?;
        self.0
            .delete_secret(uuid)
            .await
            .map_err(|e| key_manager_error(vim_id, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_references_are_not_barbican_ones() {
        assert!(uuid_of(&KeyRef::FernetFile).is_err());
        let err = uuid_of(&KeyRef::Barbican {
            secret_uuid: String::new(),
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "Key manager error: Key ID is None");
    }
}
