//! Which key manager a driver's new keys go to, and which one holds an existing VIM's key.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::vault::{FernetKey, KeyManager, KeyRef};
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

    /// Store a new key for `vim_id` and record where in `auth_cred` (`key_type`,
    /// `secret_uuid`).
    pub(crate) async fn store(
        &self,
        vim_id: &str,
        key: &FernetKey,
        auth_cred: &mut Map<String, Value>,
    ) -> Result<(), VimError> {
        let manager = if self.use_barbican {
            self.barbican()?
        } else {
            &self.file
        };
        let key_ref = manager
            .store(vim_id, &key.to_base64())
            .await
            .inspect_err(|e| {
                tracing::error!(vim_id, error = %e, "VIM key creation failed");
            })?;
        key_ref.write_to(auth_cred);
        tracing::debug!(
            vim_id,
            key_type = key_ref.key_type(),
            "VIM auth successfully stored"
        );
        Ok(())
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
        let manager = match key_ref {
            KeyRef::FernetFile => &self.file,
            KeyRef::Barbican { .. } => self.barbican()?,
        };
        manager.delete(vim_id, &key_ref).await.inspect_err(|e| {
            tracing::error!(vim_id, error = %e, "VIM key deletion failed");
        })
    }
}
