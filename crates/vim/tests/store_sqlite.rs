//! `VimStore` contract tests on SQLite: constraints enforced by the database, scoping,
//! filters, atomic update, soft delete, and the oslo.db connection URL forms.

use chrono::{NaiveDateTime, Utc};
use serde_json::{json, Map};
use tacker_vim::{connect, Scope, Vim, VimError, VimFilter, VimStore};

fn vim(tenant: &str, name: &str, is_default: bool) -> Vim {
    Vim {
        id: uuid::Uuid::new_v4().to_string(),
        vim_type: "kubernetes".into(),
        tenant_id: tenant.into(),
        name: name.into(),
        description: "d".into(),
        placement_attr: Some(json!({"regions": ["default"]})),
        shared: false,
        is_default,
        created_at: Utc::now().naive_utc(),
        updated_at: None,
        deleted_at: None,
        extra: Map::new(),
        auth_url: "http://k8s".into(),
        vim_project: json!({"name": "default"}).as_object().unwrap().clone(),
        auth_cred: json!({"bearer_token": "gAAAA", "key_type": "barbican_key"})
            .as_object()
            .unwrap()
            .clone(),
        password: Some("gAAAApw".into()),
    }
}

async fn file_store() -> (tempfile::TempDir, std::sync::Arc<dyn VimStore>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", dir.path().join("sub.db").display());
    let store = connect(&url).await.unwrap();
    (dir, store)
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

#[tokio::test]
async fn round_trip_keeps_everything_but_sub_second_precision() {
    let (_d, store) = file_store().await;
    let v = vim("t1", "a", false);
    store.create(&v).await.unwrap();
    let got = store
        .get(&v.id, &Scope::Tenant("t1".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.auth_cred, v.auth_cred);
    assert_eq!(got.password, v.password);
    assert_eq!(got.vim_project, v.vim_project);
    assert_eq!(got.placement_attr, v.placement_attr);
    // Stored like MariaDB DATETIME: whole seconds (shows read back without a fraction).
    assert_eq!(got.created_at, v.created_at.with_nanosecond_zero());
    assert!(store
        .get(&v.id, &Scope::Tenant("t2".into()))
        .await
        .unwrap()
        .is_none());
    assert!(store.get(&v.id, &Scope::All).await.unwrap().is_some());
}

trait NanoZero {
    fn with_nanosecond_zero(self) -> Self;
}

impl NanoZero for NaiveDateTime {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap()
    }
}

#[tokio::test]
async fn unique_live_name_per_tenant_in_the_database() {
    let (_d, store) = file_store().await;
    store.create(&vim("t1", "a", false)).await.unwrap();
    assert!(matches!(
        store.create(&vim("t1", "a", false)).await,
        Err(VimError::DuplicateEntity)
    ));
    store.create(&vim("t2", "a", false)).await.unwrap();
}

#[tokio::test]
async fn one_live_default_per_tenant_names_the_existing_one() {
    let (_d, store) = file_store().await;
    let first = vim("t1", "a", true);
    store.create(&first).await.unwrap();
    match store.create(&vim("t1", "b", true)).await {
        Err(VimError::VimDefaultDuplicate(existing)) => assert_eq!(existing, first.id),
        other => panic!("{other:?}"),
    }
    store.create(&vim("t2", "b", true)).await.unwrap();
    // Deleting the default frees the slot.
    store.soft_delete(&first.id, now()).await.unwrap();
    store.create(&vim("t1", "c", true)).await.unwrap();
}

#[tokio::test]
async fn soft_delete_makes_name_reusable_and_hides_row() {
    let (_d, store) = file_store().await;
    let v = vim("t1", "a", false);
    store.create(&v).await.unwrap();
    store.soft_delete(&v.id, now()).await.unwrap();
    assert!(store.get(&v.id, &Scope::All).await.unwrap().is_none());
    assert!(matches!(
        store.soft_delete(&v.id, now()).await,
        Err(VimError::VimNotFound(_))
    ));
    let again = vim("t1", "a", false);
    store.create(&again).await.unwrap();
    store.soft_delete(&again.id, now()).await.unwrap();
    store.create(&vim("t1", "a", false)).await.unwrap();
    assert_eq!(store.list(&Scope::All, &[]).await.unwrap().len(), 1);
}

#[tokio::test]
async fn rename_to_existing_name_is_duplicate_and_leaves_no_lock() {
    let (_d, store) = file_store().await;
    store.create(&vim("t1", "a", false)).await.unwrap();
    let b = vim("t1", "b", false);
    store.create(&b).await.unwrap();
    let mut renamed = b.clone();
    renamed.name = "a".into();
    renamed.updated_at = Some(now());
    assert!(matches!(
        store.update(&renamed).await,
        Err(VimError::DuplicateEntity)
    ));
    // The row is unchanged and still writable and deletable.
    assert_eq!(
        store.get(&b.id, &Scope::All).await.unwrap().unwrap().name,
        "b"
    );
    renamed.name = "c".into();
    store.update(&renamed).await.unwrap();
    store.soft_delete(&b.id, now()).await.unwrap();
}

#[tokio::test]
async fn update_replaces_auth_data_atomically() {
    let (_d, store) = file_store().await;
    let mut v = vim("t1", "a", false);
    store.create(&v).await.unwrap();
    v.auth_cred = json!({"username": "u", "key_type": "fernet_key"})
        .as_object()
        .unwrap()
        .clone();
    v.password = None;
    v.is_default = true;
    v.updated_at = Some(now());
    store.update(&v).await.unwrap();
    let got = store.get(&v.id, &Scope::All).await.unwrap().unwrap();
    assert_eq!(got.auth_cred, v.auth_cred);
    assert_eq!(got.password, None);
    assert!(got.is_default);
    assert!(got.updated_at.is_some());
    let mut gone = vim("t1", "zz", false);
    gone.id = uuid::Uuid::new_v4().to_string();
    assert!(matches!(
        store.update(&gone).await,
        Err(VimError::VimNotFound(_))
    ));
}

#[tokio::test]
async fn list_filters_scope_and_order() {
    let (_d, store) = file_store().await;
    let mut ids = Vec::new();
    for (t, n, d) in [("t1", "a", true), ("t1", "b", false), ("t2", "c", false)] {
        let v = vim(t, n, d);
        ids.push(v.id.clone());
        store.create(&v).await.unwrap();
    }
    let all = store.list(&Scope::All, &[]).await.unwrap();
    let listed: Vec<&str> = all.iter().map(|v| v.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(listed, sorted);
    let t1 = store.list(&Scope::Tenant("t1".into()), &[]).await.unwrap();
    assert_eq!(t1.len(), 2);
    let f = |k: &str, vals: &[&str]| {
        VimFilter::parse(k, &vals.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    };
    assert_eq!(
        store
            .list(&Scope::All, &[f("name", &["a", "c"])])
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store
            .list(&Scope::All, &[f("is_default", &["1"])])
            .await
            .unwrap()[0]
            .name,
        "a"
    );
    assert_eq!(
        store
            .list(&Scope::All, &[f("id", &["nope"])])
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        store
            .list(&Scope::Tenant("t1".into()), &[f("tenant_id", &["t2"])])
            .await
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn in_use_is_false_without_legacy_vnf_table() {
    let (_d, store) = file_store().await;
    let v = vim("t1", "a", false);
    store.create(&v).await.unwrap();
    assert!(!store.in_use(&v.id, &Scope::All).await.unwrap());
}

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
    assert!(connect("mysql+pymysql://u:p@h/tacker").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_do_not_fail() {
    let (_d, store) = file_store().await;
    let mut tasks = Vec::new();
    for i in 0..100 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.create(&vim("t1", &format!("n{i}"), false)).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(store.list(&Scope::All, &[]).await.unwrap().len(), 100);
}
