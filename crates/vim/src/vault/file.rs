//! `FileKeyManager`: one Fernet key per VIM in `<[vim_keys] openstack>/<vim_id>`, the layout
//! Tacker's OpenStack driver uses (`encode_vim_auth` / `delete_vim_auth`), so a key directory
//! shared with (or copied from) a Tacker deployment works as is.

use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use super::{KeyManager, KeyRef};
use crate::VimError;

/// Keys as files: directory mode 0700 (as `keystone.create_key_dir`), files 0600, content
/// the 44-character key without a newline (as upstream writes it).
#[derive(Clone, Debug)]
pub struct FileKeyManager {
    dir: PathBuf,
}

impl FileKeyManager {
    /// A manager for `dir` (`[vim_keys] openstack`, default `/etc/tacker/vim/fernet_keys`).
    /// Nothing is touched until [`ensure_dir`](Self::ensure_dir) or the first `store`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The key directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Create the key directory (and missing parents) with mode 0700 if it does not exist,
    /// as the upstream driver does at start-up. An existing directory is left as it is, with
    /// a warning when group or others can read it.
    pub fn ensure_dir(&self) -> io::Result<()> {
        ensure_dir(&self.dir)
    }

    /// `<dir>/<vim_id>`. VIM ids are server-made uuids; anything that could leave the
    /// directory is refused rather than trusted.
    pub fn key_path(&self, vim_id: &str) -> Result<PathBuf, VimError> {
        let safe = !vim_id.is_empty()
            && vim_id != "."
            && vim_id != ".."
            && !vim_id.contains(['/', '\\', '\0']);
        if safe {
            Ok(self.dir.join(vim_id))
        } else {
            Err(VimError::VimKeyNotFound(vim_id.to_owned()))
        }
    }
}

fn ensure_dir(dir: &Path) -> io::Result<()> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    dir = %dir.display(),
                    mode = format_args!("{mode:o}"),
                    "VIM key directory is accessible to group or others; 0700 is expected"
                );
            }
            Ok(())
        }
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a directory", dir.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            tracing::info!(dir = %dir.display(), "creating the VIM key directory");
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
            // The umask can only remove bits; set the mode explicitly anyway so the result
            // does not depend on it.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        }
        Err(e) => Err(e),
    }
}

/// Write the key next to its final name, then rename: a reader never sees half a key, and a
/// failed write leaves no file behind.
fn write_key(dir: &Path, path: &Path, key: &SecretString) -> io::Result<()> {
    ensure_dir(dir)?;
    let tmp = dir.join(format!(".{:016x}.tmp", rand::rngs::OsRng.next_u64()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(key.expose_secret().as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, VimError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| VimError::Internal(format!("key file task failed: {e}")))
}

#[async_trait]
impl KeyManager for FileKeyManager {
    async fn store(&self, vim_id: &str, key: &SecretString) -> Result<KeyRef, VimError> {
        let path = self.key_path(vim_id)?;
        let dir = self.dir.clone();
        let key = key.clone();
        let written = blocking({
            let path = path.clone();
            move || write_key(&dir, &path, &key)
        })
        .await?;
        match written {
            Ok(()) => {
                tracing::debug!(vim_id, "VIM key stored in {}", path.display());
                Ok(KeyRef::FernetFile)
            }
            Err(e) => {
                // Upstream turns the IOError into VimKeyNotFoundException.
                tracing::error!(vim_id, path = %path.display(), error = %e, "VIM key could not be written");
                Err(VimError::VimKeyNotFound(vim_id.to_owned()))
            }
        }
    }

    async fn load(&self, vim_id: &str, key_ref: &KeyRef) -> Result<SecretString, VimError> {
        if *key_ref != KeyRef::FernetFile {
            return Err(VimError::KeyManager(format!(
                "the key of VIM {vim_id} is not a local key file"
            )));
        }
        let path = self.key_path(vim_id)?;
        let read = blocking({
            let path = path.clone();
            move || std::fs::read_to_string(path)
        })
        .await?;
        match read {
            Ok(text) => Ok(SecretString::from(text.trim())),
            Err(e) => {
                tracing::error!(vim_id, path = %path.display(), error = %e, "VIM key could not be read");
                Err(VimError::VimKeyNotFound(vim_id.to_owned()))
            }
        }
    }

    async fn delete(&self, vim_id: &str, key_ref: &KeyRef) -> Result<(), VimError> {
        if *key_ref != KeyRef::FernetFile {
            return Err(VimError::KeyManager(format!(
                "the key of VIM {vim_id} is not a local key file"
            )));
        }
        let path = self.key_path(vim_id)?;
        let removed = blocking({
            let path = path.clone();
            move || std::fs::remove_file(path)
        })
        .await?;
        match removed {
            Ok(()) => tracing::debug!(vim_id, "VIM key deleted"),
            // Nothing to delete (a registration that failed before storing its key).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::debug!(vim_id, "no VIM key file to delete")
            }
            // Upstream only logs a failed removal ("VIM key deletion failed for vim %s").
            Err(e) => {
                tracing::warn!(vim_id, path = %path.display(), error = %e, "VIM key deletion failed")
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_path_refuses_escapes() {
        let km = FileKeyManager::new("/keys");
        assert_eq!(
            km.key_path("0c2b0c5e-1111-4222-8333-444455556666").unwrap(),
            PathBuf::from("/keys/0c2b0c5e-1111-4222-8333-444455556666")
        );
        for bad in ["", ".", "..", "../x", "a/b", "a\0b"] {
            assert!(
                matches!(km.key_path(bad), Err(VimError::VimKeyNotFound(_))),
                "{bad:?}"
            );
        }
    }
}
