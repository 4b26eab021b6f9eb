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

    let staged = km.store(VIM_ID, &key).await.unwrap();
    assert_eq!(staged.key_ref, KeyRef::FernetFile);
    assert_eq!(mode(&dir), 0o700);
    let file = dir.join(VIM_ID);
    // Beside the current key until the row commits.
    assert!(!file.exists());
    let staging = dir.join(staged.staging.as_deref().unwrap());
    assert_eq!(mode(&staging), 0o600);
    km.activate(&staged).await.unwrap();
    assert!(!staging.exists());
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
async fn a_new_key_replaces_the_current_one_only_when_activated() {
    let tmp = tempfile::tempdir().unwrap();
    let km = FileKeyManager::new(tmp.path());
    let first = fernet::generate_key();
    let second = fernet::generate_key();
    let third = fernet::generate_key();
    km.activate(&km.store(VIM_ID, &first).await.unwrap())
        .await
        .unwrap();
    let file = tmp.path().join(VIM_ID);

    // Discarded (the row write failed): the current key is untouched, nothing else left.
    let staged = km.store(VIM_ID, &second).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        first.expose_secret()
    );
    km.discard(&staged).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        first.expose_secret()
    );
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);

    // Activated (the row committed): replaced at once.
    let staged = km.store(VIM_ID, &third).await.unwrap();
    km.activate(&staged).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        third.expose_secret()
    );
    assert_eq!(mode(&file), 0o600);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
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
    km.activate(&km.store(VIM_ID, &fernet::generate_key()).await.unwrap())
        .await
        .unwrap();
    assert!(tmp.path().join(VIM_ID).exists());
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

/// A live VIM whose bearer token is encrypted with `key`, stored with a file key reference.
fn vim_with_token(key: &SecretString, token: &str) -> tacker_vim::Vim {
    let auth_cred = serde_json::json!({
        "bearer_token": fernet::encrypt(key, &SecretString::from(token)).unwrap(),
        "auth_url": "http://127.0.0.1:1",
        "key_type": "fernet_key",
    });
    tacker_vim::Vim {
        id: uuid::Uuid::new_v4().to_string(),
        vim_type: "kubernetes".into(),
        tenant_id: "t1".into(),
        name: uuid::Uuid::new_v4().to_string(),
        description: String::new(),
        placement_attr: None,
        shared: false,
        is_default: false,
        created_at: chrono::Utc::now().naive_utc(),
        updated_at: None,
        deleted_at: None,
        extra: Default::default(),
        auth_url: "http://127.0.0.1:1".into(),
        vim_project: Default::default(),
        auth_cred: auth_cred.as_object().unwrap().clone(),
        password: None,
    }
}

/// Start-up recovery after a crash: a staged key whose row committed becomes current, a
/// staged key of a write that never committed and key files without a live VIM go, and
/// anything written after the start (a running server's) or not named like a key stays.
#[tokio::test]
async fn sweep_settles_what_a_crash_left_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let km = FileKeyManager::new(&dir);
    km.ensure_dir().unwrap();
    let store = tacker_vim::connect(&format!("sqlite:///{}", tmp.path().join("t.db").display()))
        .await
        .unwrap();

    // Created, committed, crashed before the key became current.
    let key_a = fernet::generate_key();
    let a = vim_with_token(&key_a, "token-a");
    store.create(&a).await.unwrap();
    let staged_a = km.store(&a.id, &key_a).await.unwrap();
    // Updated: the update's key was staged, the crash came before its commit.
    let key_b = fernet::generate_key();
    let b = vim_with_token(&key_b, "token-b");
    store.create(&b).await.unwrap();
    km.activate(&km.store(&b.id, &key_b).await.unwrap())
        .await
        .unwrap();
    let stale_b = km.store(&b.id, &fernet::generate_key()).await.unwrap();
    // A create that crashed before its commit; a deleted VIM's key; a half-written file.
    let never = uuid::Uuid::new_v4().to_string();
    let staged_never = km.store(&never, &fernet::generate_key()).await.unwrap();
    let gone = vim_with_token(&fernet::generate_key(), "x");
    store.create(&gone).await.unwrap();
    store
        .soft_delete(&gone.id, chrono::Utc::now().naive_utc())
        .await
        .unwrap();
    std::fs::write(dir.join(&gone.id), fernet::generate_key().expose_secret()).unwrap();
    std::fs::write(dir.join(".0123456789abcdef.tmp"), "half").unwrap();
    std::fs::write(dir.join("README"), "operator notes").unwrap();

    let started = std::time::SystemTime::now() + std::time::Duration::from_secs(1);
    // Written by a running server after the start: not touched.
    let busy = uuid::Uuid::new_v4().to_string();
    let busy_file = std::fs::File::create(dir.join(&busy)).unwrap();
    busy_file
        .set_modified(started + std::time::Duration::from_secs(5))
        .unwrap();

    let swept = km.sweep(store.as_ref(), started).await.unwrap();
    assert_eq!(swept.promoted, 1);
    assert_eq!(swept.removed, 4);
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let mut expected = vec![
        a.id.clone(),
        b.id.clone(),
        busy.clone(),
        "README".to_owned(),
    ];
    expected.sort();
    assert_eq!(left, expected);
    for staged in [&staged_a, &stale_b, &staged_never] {
        assert!(!dir.join(staged.staging.as_deref().unwrap()).exists());
    }
    for (vim, key, token) in [(&a, &key_a, "token-a"), (&b, &key_b, "token-b")] {
        let current = km.load(&vim.id, &KeyRef::FernetFile).await.unwrap();
        assert_eq!(current.expose_secret(), key.expose_secret());
        let stored = vim.auth_cred["bearer_token"].as_str().unwrap();
        assert_eq!(
            fernet::decrypt(&current, stored).unwrap().expose_secret(),
            token
        );
    }
}
