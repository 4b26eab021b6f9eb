//! `FileKeyManager`: `<[vim_keys] openstack>/<vim_id>`, directory 0700, files 0600, content
//! the 44-character key (readable by Python's `Fernet` as Tacker reads it).

use std::os::unix::fs::PermissionsExt;

use secrecy::{ExposeSecret, SecretString};
use tacker_vim::vault::{fernet, FileKeyManager, KeyManager, KeyRef};
use tacker_vim::VimError;

const VIM_ID: &str = "0c2b0c5e-1111-4222-8333-444455556666";

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn store_creates_dir_0700_and_file_0600_with_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("etc/tacker/vim/fernet_keys");
    let km = FileKeyManager::new(&dir);
    let key = fernet::generate_key();

    let key_ref = km.store(VIM_ID, &key).await.unwrap();
    assert_eq!(key_ref, KeyRef::FernetFile);
    assert_eq!(mode(&dir), 0o700);
    let file = dir.join(VIM_ID);
    assert_eq!(mode(&file), 0o600);
    // Exactly the key, no newline: the bytes upstream writes.
    assert_eq!(std::fs::read_to_string(&file).unwrap(), key.expose_secret());
    // Nothing else left in the directory (no temporary file).
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);

    let loaded = km.load(VIM_ID, &KeyRef::FernetFile).await.unwrap();
    assert_eq!(loaded.expose_secret(), key.expose_secret());
}

#[tokio::test]
async fn ensure_dir_creates_0700_and_keeps_an_existing_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let km = FileKeyManager::new(&dir);
    km.ensure_dir().unwrap();
    assert_eq!(mode(&dir), 0o700);
    km.ensure_dir().unwrap();
    assert_eq!(mode(&dir), 0o700);
}

#[tokio::test]
async fn store_replaces_an_existing_key_and_keeps_0600() {
    let tmp = tempfile::tempdir().unwrap();
    let km = FileKeyManager::new(tmp.path());
    let first = fernet::generate_key();
    let second = fernet::generate_key();
    km.store(VIM_ID, &first).await.unwrap();
    km.store(VIM_ID, &second).await.unwrap();
    let file = tmp.path().join(VIM_ID);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        second.expose_secret()
    );
    assert_eq!(mode(&file), 0o600);
}

#[tokio::test]
async fn a_key_file_written_by_tacker_is_read_with_or_without_newline() {
    let tmp = tempfile::tempdir().unwrap();
    let km = FileKeyManager::new(tmp.path());
    let key = fernet::generate_key();
    std::fs::write(
        tmp.path().join(VIM_ID),
        format!("{}\n", key.expose_secret()),
    )
    .unwrap();
    let loaded = km.load(VIM_ID, &KeyRef::FernetFile).await.unwrap();
    let token = fernet::encrypt(&loaded, &SecretString::from("pw")).unwrap();
    assert_eq!(fernet::decrypt(&key, &token).unwrap().expose_secret(), "pw");
}

#[tokio::test]
async fn write_failure_is_vim_key_not_found_and_leaves_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    // The "directory" is a regular file: nothing can be written under it.
    let not_a_dir = tmp.path().join("keys");
    std::fs::write(&not_a_dir, b"").unwrap();
    let km = FileKeyManager::new(&not_a_dir);
    let err = km.store(VIM_ID, &fernet::generate_key()).await.unwrap_err();
    assert!(
        matches!(&err, VimError::VimKeyNotFound(id) if id == VIM_ID),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("Unable to find key file for VIM {VIM_ID}")
    );
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn load_of_a_missing_key_is_vim_key_not_found() {
    let tmp = tempfile::tempdir().unwrap();
    let km = FileKeyManager::new(tmp.path());
    let err = km.load(VIM_ID, &KeyRef::FernetFile).await.unwrap_err();
    assert!(matches!(err, VimError::VimKeyNotFound(_)));
}

#[tokio::test]
async fn delete_removes_the_file_and_tolerates_a_missing_one() {
    let tmp = tempfile::tempdir().unwrap();
    let km = FileKeyManager::new(tmp.path());
    km.store(VIM_ID, &fernet::generate_key()).await.unwrap();
    km.delete(VIM_ID, &KeyRef::FernetFile).await.unwrap();
    assert!(!tmp.path().join(VIM_ID).exists());
    km.delete(VIM_ID, &KeyRef::FernetFile).await.unwrap();
}

#[tokio::test]
async fn barbican_references_are_not_files() {
    let tmp = tempfile::tempdir().unwrap();
    let km = FileKeyManager::new(tmp.path());
    let barbican = KeyRef::Barbican {
        secret_uuid: "s1".to_owned(),
    };
    assert!(matches!(
        km.delete(VIM_ID, &barbican).await,
        Err(VimError::KeyManager(_))
    ));
    assert!(matches!(
        km.load(VIM_ID, &barbican).await,
        Err(VimError::KeyManager(_))
    ));
}
