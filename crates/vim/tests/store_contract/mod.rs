//! The `VimStore` contract, engine by engine: each case takes a fresh, empty store and is run
//! by `store_sqlite.rs`, `store_postgres.rs` and `store_mysql.rs` under the same name (through
//! [`contract_tests!`], so no engine can skip a case). Constraints are enforced by the
//! database (concurrent writers included), plus scoping, filters, atomic update and soft
//! delete.

#![allow(dead_code)]

/// One `#[tokio::test]` per contract case. `$setup` is an async fn returning
/// `Option<(guard, Arc<dyn VimStore>)>`: a fresh empty store, kept alive (and cleaned up) by
/// the guard; `None` skips the case (the setup has said why).
macro_rules! contract_tests {
    ($setup:path) => {
        contract_tests!(@cases $setup;
            round_trip_keeps_everything_but_sub_second_precision,
            unique_live_name_per_tenant_in_the_database,
            one_live_default_per_tenant_names_the_existing_one,
            update_to_second_default_names_the_existing_one,
            soft_delete_makes_name_reusable_and_hides_row,
            rename_to_existing_name_is_duplicate_and_leaves_no_lock,
            update_replaces_auth_data_atomically,
            update_from_a_stale_row_is_a_conflict,
            concurrent_credential_updates_never_lose_a_check,
            list_filters_scope_and_order,
            list_filters_on_timestamp_columns,
            in_use_is_false_without_legacy_vnf_table,
            concurrent_writers_do_not_fail,
            concurrent_default_creates_leave_exactly_one_default,
            concurrent_same_name_creates_leave_exactly_one,
            ping_answers_while_the_database_is_up,
        );
    };
    (@cases $setup:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some((_guard, store)) = $setup().await else {
                    return;
                };
                store_contract::$case(store).await;
            }
        )*
    };
}

use std::sync::Arc;

use chrono::{NaiveDateTime, Timelike, Utc};
use serde_json::{json, Map};
use tacker_vim::{Scope, Vim, VimError, VimFilter, VimStore};

pub fn vim(tenant: &str, name: &str, is_default: bool) -> Vim {
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

pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// How many concurrent requests the concurrency cases fire.
const CONCURRENT: usize = 100;

pub async fn round_trip_keeps_everything_but_sub_second_precision(store: Arc<dyn VimStore>) {
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
    assert_eq!(got.created_at, v.created_at.with_nanosecond(0).unwrap());
    assert!(store
        .get(&v.id, &Scope::Tenant("t2".into()))
        .await
        .unwrap()
        .is_none());
    assert!(store.get(&v.id, &Scope::All).await.unwrap().is_some());
}

pub async fn unique_live_name_per_tenant_in_the_database(store: Arc<dyn VimStore>) {
    store.create(&vim("t1", "a", false)).await.unwrap();
    assert!(matches!(
        store.create(&vim("t1", "a", false)).await,
        Err(VimError::DuplicateEntity)
    ));
    store.create(&vim("t2", "a", false)).await.unwrap();
}

pub async fn one_live_default_per_tenant_names_the_existing_one(store: Arc<dyn VimStore>) {
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

pub async fn update_to_second_default_names_the_existing_one(store: Arc<dyn VimStore>) {
    let first = vim("t1", "a", true);
    store.create(&first).await.unwrap();
    let mut second = vim("t1", "b", false);
    store.create(&second).await.unwrap();
    second.is_default = true;
    second.updated_at = Some(now());
    match store.update(&second, &second).await {
        Err(VimError::VimDefaultDuplicate(existing)) => assert_eq!(existing, first.id),
        other => panic!("{other:?}"),
    }
    assert!(
        !store
            .get(&second.id, &Scope::All)
            .await
            .unwrap()
            .unwrap()
            .is_default
    );
    // Re-saving the default itself is no conflict with itself.
    let mut again = first.clone();
    again.description = "still default".into();
    store.update(&again, &first).await.unwrap();
}

pub async fn soft_delete_makes_name_reusable_and_hides_row(store: Arc<dyn VimStore>) {
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

pub async fn rename_to_existing_name_is_duplicate_and_leaves_no_lock(store: Arc<dyn VimStore>) {
    store.create(&vim("t1", "a", false)).await.unwrap();
    let b = vim("t1", "b", false);
    store.create(&b).await.unwrap();
    let mut renamed = b.clone();
    renamed.name = "a".into();
    renamed.updated_at = Some(now());
    assert!(matches!(
        store.update(&renamed, &b).await,
        Err(VimError::DuplicateEntity)
    ));
    // The row is unchanged and still writable and deletable.
    assert_eq!(
        store.get(&b.id, &Scope::All).await.unwrap().unwrap().name,
        "b"
    );
    renamed.name = "c".into();
    store.update(&renamed, &b).await.unwrap();
    store.soft_delete(&b.id, now()).await.unwrap();
}

pub async fn update_replaces_auth_data_atomically(store: Arc<dyn VimStore>) {
    let mut v = vim("t1", "a", false);
    store.create(&v).await.unwrap();
    let prior = v.clone();
    v.auth_cred = json!({"username": "u", "key_type": "fernet_key"})
        .as_object()
        .unwrap()
        .clone();
    v.password = None;
    v.is_default = true;
    v.updated_at = Some(now());
    store.update(&v, &prior).await.unwrap();
    let got = store.get(&v.id, &Scope::All).await.unwrap().unwrap();
    assert_eq!(got.auth_cred, v.auth_cred);
    assert_eq!(got.password, None);
    assert!(got.is_default);
    assert!(got.updated_at.is_some());
    let mut gone = vim("t1", "zz", false);
    gone.id = uuid::Uuid::new_v4().to_string();
    assert!(matches!(
        store.update(&gone, &gone).await,
        Err(VimError::VimNotFound(_))
    ));
}

/// An update that started from credentials another update has since replaced writes
/// nothing: the stored ciphertext stays the one its key opens.
pub async fn update_from_a_stale_row_is_a_conflict(store: Arc<dyn VimStore>) {
    let v = vim("t1", "a", false);
    store.create(&v).await.unwrap();
    let mut first = v.clone();
    first
        .auth_cred
        .insert("bearer_token".into(), json!("gAAAA-first"));
    first.password = None;
    store.update(&first, &v).await.unwrap();
    let mut stale = v.clone();
    stale.name = "renamed".into();
    stale
        .auth_cred
        .insert("bearer_token".into(), json!("gAAAA-stale"));
    match store.update(&stale, &v).await {
        Err(VimError::UpdateConflict(id)) => assert_eq!(id, v.id),
        other => panic!("{other:?}"),
    }
    let got = store.get(&v.id, &Scope::All).await.unwrap().unwrap();
    assert_eq!(got.auth_cred, first.auth_cred);
    assert_eq!(got.password, None);
    assert_eq!(got.name, "a");
    // Starting from the stored row works, and the row is not left locked.
    stale.name = "renamed".into();
    store.update(&stale, &got).await.unwrap();
    store.soft_delete(&v.id, now()).await.unwrap();
}

/// Concurrent updates that all start from the same row: exactly one writes, every other one
/// is refused (none is lost silently), and the stored credentials are the winner's.
pub async fn concurrent_credential_updates_never_lose_a_check(store: Arc<dyn VimStore>) {
    let v = vim("t1", "a", false);
    store.create(&v).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        let prior = v.clone();
        tasks.push(tokio::spawn(async move {
            let mut next = prior.clone();
            next.auth_cred
                .insert("bearer_token".into(), json!(format!("gAAAA-{i}")));
            (i, store.update(&next, &prior).await)
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (i, Ok(())) => winners.push(i),
            (_, Err(VimError::UpdateConflict(_))) => {}
            (_, Err(e)) => panic!("{e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let got = store.get(&v.id, &Scope::All).await.unwrap().unwrap();
    assert_eq!(
        got.auth_cred["bearer_token"],
        json!(format!("gAAAA-{}", winners[0]))
    );
}

pub async fn list_filters_scope_and_order(store: Arc<dyn VimStore>) {
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

/// Timestamp columns filter by the text the API shows; text that is no timestamp matches
/// nothing instead of failing.
pub async fn list_filters_on_timestamp_columns(store: Arc<dyn VimStore>) {
    let v = vim("t1", "a", false);
    store.create(&v).await.unwrap();
    let shown = v.created_at.format("%Y-%m-%d %H:%M:%S").to_string();
    let f = |k: &str, val: &str| VimFilter::parse(k, &[val.to_owned()]).unwrap();
    let hit = store
        .list(&Scope::All, &[f("created_at", &shown)])
        .await
        .unwrap();
    assert_eq!(hit.len(), 1);
    assert!(store
        .list(&Scope::All, &[f("created_at", "yesterday")])
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .list(&Scope::All, &[f("deleted_at", "0001-01-01 00:00:00")])
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn in_use_is_false_without_legacy_vnf_table(store: Arc<dyn VimStore>) {
    let v = vim("t1", "a", false);
    store.create(&v).await.unwrap();
    assert!(!store.in_use(&v.id, &Scope::All).await.unwrap());
}

pub async fn concurrent_writers_do_not_fail(store: Arc<dyn VimStore>) {
    let mut tasks = Vec::new();
    for i in 0..CONCURRENT {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.create(&vim("t1", &format!("n{i}"), false)).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        store.list(&Scope::All, &[]).await.unwrap().len(),
        CONCURRENT
    );
}

/// Concurrent creates of a default VIM in one tenant: the database (a partial unique index,
/// or on MySQL a row lock) lets exactly one win; every other request learns the winner's id.
pub async fn concurrent_default_creates_leave_exactly_one_default(store: Arc<dyn VimStore>) {
    let mut tasks = Vec::new();
    for i in 0..CONCURRENT {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let v = vim("t1", &format!("n{i}"), true);
            (v.id.clone(), store.create(&v).await)
        }));
    }
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (id, Ok(())) => winners.push(id),
            (_, Err(VimError::VimDefaultDuplicate(existing))) => losers.push(existing),
            (_, Err(other)) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one default must win");
    assert_eq!(losers.len(), CONCURRENT - 1);
    assert!(losers.iter().all(|existing| *existing == winners[0]));
    let defaults = store
        .list(
            &Scope::All,
            &[VimFilter::parse("is_default", &["true".into()]).unwrap()],
        )
        .await
        .unwrap();
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0].id, winners[0]);
    // A failed create leaves nothing behind.
    assert_eq!(store.list(&Scope::All, &[]).await.unwrap().len(), 1);
}

/// Concurrent creates of one name in one tenant: the unique key lets exactly one win.
pub async fn concurrent_same_name_creates_leave_exactly_one(store: Arc<dyn VimStore>) {
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENT {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.create(&vim("t1", "same", false)).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(VimError::DuplicateEntity) => {}
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(ok, 1, "exactly one create of the name must win");
    assert_eq!(store.list(&Scope::All, &[]).await.unwrap().len(), 1);
}

/// The health check's query: answered by a running database, whatever it holds.
pub async fn ping_answers_while_the_database_is_up(store: Arc<dyn VimStore>) {
    store.ping().await.unwrap();
    store.create(&vim("t1", "a", true)).await.unwrap();
    store.ping().await.unwrap();
}
