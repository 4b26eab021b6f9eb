//! `VimStore` contract tests on SQLite (the shared cases in `store_contract`), plus the
//! oslo.db SQLite connection URL forms.

#[macro_use]
mod store_contract;

use std::sync::Arc;

use store_contract::vim;
use tacker_vim::{connect, Scope, VimStore};

/// A fresh database file in a temporary directory, removed with the directory.
async fn file_store() -> Option<(tempfile::TempDir, Arc<dyn VimStore>)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", dir.path().join("sub.db").display());
    let store = connect(&url).await.unwrap();
    Some((dir, store))
}

contract_tests!(file_store);

#[tokio::test]
async fn connect_in_memory_shares_one_database() {
    let store = connect("sqlite://").await.unwrap();
    let v = vim("t1", "a", false);
    store.create(&v).await.unwrap();
    for _ in 0..3 {
        assert!(store.get(&v.id, &Scope::All).await.unwrap().is_some());
    }
}

#[tokio::test]
async fn connect_absolute_path_creates_the_file_and_reopens_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let url = format!("sqlite:///{}", path.display());
    assert!(url.starts_with("sqlite:////"));
    let v = vim("t1", "a", false);
    {
        let store = connect(&url).await.unwrap();
        store.create(&v).await.unwrap();
    }
    assert!(path.exists());
    // Migrations are idempotent: a second start on the same file works and sees the data.
    let store = connect(&url).await.unwrap();
    assert!(store.get(&v.id, &Scope::All).await.unwrap().is_some());
}

#[tokio::test]
async fn connect_rejects_unknown_schemes() {
    assert!(connect("oracle+cx_oracle://u:p@h/tacker").await.is_err());
}

/// The database holds the VIMs' encrypted credentials: a new file and its WAL are 0600,
/// whatever the umask.
#[tokio::test]
async fn a_new_database_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("private.db");
    let store = connect(&format!("sqlite:///{}", path.display()))
        .await
        .unwrap();
    store.create(&vim("t1", "a", false)).await.unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    let wal = dir.path().join("private.db-wal");
    assert!(wal.exists());
    assert_eq!(mode(&wal), 0o600);
}
