//! `FileKeyManager`: one Fernet key per VIM in `<[vim_keys] openstack>/<vim_id>`, the layout
//! Tacker's OpenStack driver uses (`encode_vim_auth` / `delete_vim_auth`), so a key directory
//! shared with (or copied from) a Tacker deployment works as is.
//!
//! Upstream overwrites `<vim_id>` before the database write, so a failed update loses the key
//! the row still needs. Here a new key is written beside it as `<vim_id>.new-<random>` and
//! renamed over `<vim_id>` only after the row has committed ([`KeyManager::activate`]). A
//! crash can leave staged or orphan files; [`FileKeyManager::sweep`] settles them at
//! start-up.

use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use async_trait::async_trait;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use super::{stored_secrets, CommitTurn, FernetKey, KeyManager, KeyRef, StagedKey};
use crate::store::{Scope, VimStore};
use crate::VimError;

/// `<vim_id>.new-<16 hex>`: a key written by `store`, not current yet.
const STAGED_MARK: &str = ".new-";
/// The file [`KeyManager::commit_turn`] locks; never removed (removing a lock file others may
/// hold open would give two processes the "same" lock).
const COMMIT_LOCK: &str = ".commit.lock";

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

    /// Start-up recovery after a crash, for files last modified before `started` (a file
    /// written since belongs to a request of a running server):
    ///
    /// - a staged key (`<vim_id>.new-*`) whose live row's ciphertext it decrypts is the key of
    ///   a committed write that was not activated: it is renamed over `<vim_id>`; any other
    ///   staged key is removed;
    /// - a key file named like a VIM id without a live VIM is an orphan and is removed;
    /// - a half-written temporary file (`.*.tmp`) is removed.
    ///
    /// Files of any other name are left alone.
    pub async fn sweep(
        &self,
        store: &dyn VimStore,
        started: SystemTime,
    ) -> Result<KeySweep, VimError> {
        let live: std::collections::HashMap<String, crate::Vim> = store
            .list(&Scope::All, &[])
            .await?
            .into_iter()
            .map(|v| (v.id.clone(), v))
            .collect();
        let dir = self.dir.clone();
        blocking(move || sweep_dir(&dir, &live, started))
            .await?
            .map_err(|e| VimError::Internal(format!("sweeping the VIM key directory: {e}")))
    }
}

/// What [`FileKeyManager::sweep`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeySweep {
    /// Staged keys made current (their row had committed).
    pub promoted: usize,
    /// Staged, orphan and temporary files removed.
    pub removed: usize,
}

fn sweep_dir(
    dir: &Path,
    live: &std::collections::HashMap<String, crate::Vim>,
    started: SystemTime,
) -> io::Result<KeySweep> {
    let mut done = KeySweep::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(done),
        Err(e) => return Err(e),
    };
    let mut staged = Vec::new();
    let mut keys = Vec::new();
    for entry in entries {
        let entry = entry?;
        let meta = entry.metadata()?;
        if !meta.is_file() || meta.modified()? >= started {
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if name.starts_with('.') && name.ends_with(".tmp") {
            remove(&entry.path(), &mut done)?;
        } else if let Some((vim_id, _)) = name.split_once(STAGED_MARK) {
            if uuid::Uuid::parse_str(vim_id).is_ok() {
                staged.push((vim_id.to_owned(), entry.path()));
            }
        } else if uuid::Uuid::parse_str(&name).is_ok() {
            keys.push(name);
        }
    }
    // Staged keys first: promoting one creates `<vim_id>` for a row that had none.
    for (vim_id, path) in staged {
        let current = dir.join(&vim_id);
        let promote = match live.get(&vim_id) {
            // A row whose key is in Barbican uses no file.
            Some(vim)
                if vim
                    .auth_cred
                    .get("key_type")
                    .and_then(serde_json::Value::as_str)
                    != Some(super::KEY_TYPE_BARBICAN) =>
            {
                match stored_secrets(vim).first() {
                    Some((_, token)) => std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|text| FernetKey::from_base64(&text).ok())
                        .is_some_and(|key| key.decrypt(token).is_ok()),
                    None => !current.exists(),
                }
            }
            _ => false,
        };
        if promote {
            std::fs::rename(&path, &current)?;
            tracing::warn!(
                vim_id,
                "completed a VIM key update interrupted after its database write"
            );
            done.promoted += 1;
        } else {
            remove(&path, &mut done)?;
        }
    }
    for vim_id in keys {
        if !live.contains_key(&vim_id) {
            tracing::warn!(vim_id, "removing the key file of a VIM that does not exist");
            remove(&dir.join(&vim_id), &mut done)?;
        }
    }
    Ok(done)
}

fn remove(path: &Path, done: &mut KeySweep) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {
            done.removed += 1;
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
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
    async fn store(&self, vim_id: &str, key: &SecretString) -> Result<StagedKey, VimError> {
        self.key_path(vim_id)?;
        let staging = format!("{vim_id}{STAGED_MARK}{:016x}", rand::rngs::OsRng.next_u64());
        let path = self.dir.join(&staging);
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
                Ok(StagedKey {
                    vim_id: vim_id.to_owned(),
                    key_ref: KeyRef::FernetFile,
                    staging: Some(staging),
                })
            }
            Err(e) => {
                // Upstream turns the IOError into VimKeyNotFoundException.
                tracing::error!(vim_id, path = %path.display(), error = %e, "VIM key could not be written");
                Err(VimError::VimKeyNotFound(vim_id.to_owned()))
            }
        }
    }

    /// An exclusive flock(2) on `<dir>/.commit.lock`: every process using this directory
    /// (replicas on one host or on a shared file system with lock support) takes its turn
    /// there. Held for one row write and one rename, so it is short.
    async fn commit_turn(&self, staged: &StagedKey) -> Result<CommitTurn, VimError> {
        if staged.staging.is_none() {
            return Ok(CommitTurn::none());
        }
        let path = self.dir.join(COMMIT_LOCK);
        let locked = blocking({
            let path = path.clone();
            move || -> io::Result<std::fs::File> {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .read(true)
                    .write(true)
                    .mode(0o600)
                    .open(&path)?;
                rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)?;
                Ok(file)
            }
        })
        .await?;
        locked.map(CommitTurn::holding).map_err(|e| {
            tracing::error!(vim_id = %staged.vim_id, path = %path.display(), error = %e, "the VIM key commit lock could not be taken");
            VimError::Internal(format!("locking {}: {e}", path.display()))
        })
    }

    async fn activate(&self, staged: &StagedKey) -> Result<(), VimError> {
        let Some(staging) = &staged.staging else {
            return Ok(());
        };
        let vim_id = staged.vim_id.as_str();
        let path = self.key_path(vim_id)?;
        let from = self.dir.join(staging);
        let dir = self.dir.clone();
        // rename(2) replaces `<vim_id>` at once: a reader sees the old key or the new one.
        let renamed = blocking(move || {
            std::fs::rename(&from, &path)?;
            std::fs::File::open(&dir)?.sync_all()
        })
        .await?;
        renamed.map_err(|e| {
            tracing::error!(vim_id, error = %e, "the new VIM key could not be made current");
            VimError::VimKeyNotFound(vim_id.to_owned())
        })
    }

    async fn discard(&self, staged: &StagedKey) -> Result<(), VimError> {
        let Some(staging) = &staged.staging else {
            return self.delete(&staged.vim_id, &staged.key_ref).await;
        };
        let path = self.dir.join(staging);
        let removed = blocking(move || std::fs::remove_file(path)).await?;
        match removed {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => {
                tracing::warn!(vim_id = %staged.vim_id, error = %e, "a staged VIM key could not be removed");
                Ok(())
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
