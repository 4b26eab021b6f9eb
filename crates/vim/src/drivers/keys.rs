//! Which key manager a driver's new keys go to, and which one holds an existing VIM's key.

use std::sync::Arc;

use serde_json::{Map, Value};

use secrecy::{ExposeSecret, SecretString};

use crate::vault::{CommitTurn, FernetKey, KeyManager, KeyRef, StagedKey};
use crate::VimError;

/// One driver's view of the key managers: where new keys go (`use_barbican`), and how to
/// reach an existing key whatever kind it is.
#[derive(Clone)]
pub(crate) struct KeyStore {
    file: Arc<dyn KeyManager>,
    barbican: Option<Arc<dyn KeyManager>>,
    use_barbican: bool,
    /// The option that selects Barbican, for error messages (`[k8s_vim] use_barbican`).
    option: &'static str,
}

impl KeyStore {
    pub(crate) fn new(
        file: Arc<dyn KeyManager>,
        barbican: Option<Arc<dyn KeyManager>>,
        use_barbican: bool,
        option: &'static str,
    ) -> Self {
        Self {
            file,
            barbican,
            use_barbican,
            option,
        }
    }

    fn barbican(&self) -> Result<&Arc<dyn KeyManager>, VimError> {
        // Upstream's text when [key_manager] is not configured, plus how to avoid Barbican.
        self.barbican.as_ref().ok_or_else(|| {
            VimError::KeyManager(format!(
                "The value is required for option barbican_endpoint in group [key_manager] \
                 ({} = True; set it to False to keep VIM keys in the [vim_keys] openstack \
                 directory)",
                self.option
            ))
        })
    }

    /// Fail before any VIM is contacted when new keys cannot be stored at all.
    pub(crate) fn check_ready(&self) -> Result<(), VimError> {
        if self.use_barbican {
            self.barbican().map(|_| ())
        } else {
            Ok(())
        }
    }

    /// Store a new key for `vim_id` beside its current one and record where in `auth_cred`
    /// (`key_type`, `secret_uuid`); it becomes current with [`activate`](Self::activate).
    pub(crate) async fn store(
        &self,
        vim_id: &str,
        key: &FernetKey,
        auth_cred: &mut Map<String, Value>,
    ) -> Result<StagedKey, VimError> {
        let manager = if self.use_barbican {
            self.barbican()?
        } else {
            &self.file
        };
        let staged = manager
            .store(vim_id, &key.to_base64())
            .await
            .inspect_err(|e| {
                tracing::error!(vim_id, error = %e, "VIM key creation failed");
            })?;
        staged.key_ref.write_to(auth_cred);
        tracing::debug!(
            vim_id,
            key_type = staged.key_ref.key_type(),
            "VIM auth successfully stored"
        );
        Ok(staged)
    }

    fn manager_of(&self, key_ref: &KeyRef) -> Result<&Arc<dyn KeyManager>, VimError> {
        match key_ref {
            KeyRef::FernetFile => Ok(&self.file),
            KeyRef::Barbican { .. } => self.barbican(),
        }
    }

    /// The turn the key's manager gives a row write using it ([`CommitTurn`]).
    pub(crate) async fn commit_turn(&self, staged: &StagedKey) -> Result<CommitTurn, VimError> {
        self.manager_of(&staged.key_ref)?.commit_turn(staged).await
    }

    /// Make a stored key current (the row using it has committed).
    pub(crate) async fn activate(&self, staged: &StagedKey) -> Result<(), VimError> {
        self.manager_of(&staged.key_ref)?.activate(staged).await
    }

    /// Remove a stored key that never became current; a failure is only logged (the
    /// request's own error is what the caller reports).
    pub(crate) async fn discard(&self, staged: &StagedKey) {
        let result = match self.manager_of(&staged.key_ref) {
            Ok(manager) => manager.discard(staged).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(vim_id = %staged.vim_id, error = %e, "failed to delete the VIM key created for a failed request");
        }
    }

    /// Decrypt `tokens` with the key recorded in `auth_cred` (`file_when_unmarked` as in
    /// [`delete`](Self::delete)). A token the key does not open is
    /// `VimKeyNotFoundException`, as a missing key is.
    pub(crate) async fn decrypt(
        &self,
        vim_id: &str,
        auth_cred: &Map<String, Value>,
        file_when_unmarked: bool,
        tokens: &[String],
    ) -> Result<Vec<SecretString>, VimError> {
        let key_ref = match KeyRef::from_auth_cred(auth_cred) {
            Some(key_ref) => key_ref,
            None if file_when_unmarked => KeyRef::FernetFile,
            None => return Err(VimError::VimKeyNotFound(vim_id.to_owned())),
        };
        let text = self.manager_of(&key_ref)?.load(vim_id, &key_ref).await?;
        let key = FernetKey::from_base64(text.expose_secret()).map_err(|_| {
            tracing::error!(vim_id, "the VIM key is not a Fernet key");
            VimError::VimKeyNotFound(vim_id.to_owned())
        })?;
        tokens
            .iter()
            .map(|token| {
                let plain = key.decrypt(token).map_err(|_| {
                    tracing::error!(
                        vim_id,
                        "a stored VIM secret does not decrypt with the VIM key"
                    );
                    VimError::VimKeyNotFound(vim_id.to_owned())
                })?;
                String::from_utf8(plain.expose_secret().to_vec())
                    .map(SecretString::from)
                    .map_err(|_| VimError::VimKeyNotFound(vim_id.to_owned()))
            })
            .collect()
    }

    /// Delete the key recorded in `auth_cred`. `file_when_unmarked`: what to do for an
    /// `auth_cred` without a recognised `key_type` (the OpenStack driver removes
    /// `<dir>/<vim_id>` anyway, the Kubernetes driver does nothing).
    pub(crate) async fn delete(
        &self,
        vim_id: &str,
        auth_cred: &Map<String, Value>,
        file_when_unmarked: bool,
    ) -> Result<(), VimError> {
        let key_ref = match KeyRef::from_auth_cred(auth_cred) {
            Some(key_ref) => key_ref,
            None if file_when_unmarked => KeyRef::FernetFile,
            None => return Ok(()),
        };
        tracing::debug!(vim_id, "Attempting to delete key for vim");
        let manager = self.manager_of(&key_ref)?;
        manager.delete(vim_id, &key_ref).await.inspect_err(|e| {
            tracing::error!(vim_id, error = %e, "VIM key deletion failed");
        })
    }
}
