//! Rendered VIM lists are kept between writes (`list_cache`), and never outlive one: two
//! routers on one SQLite file, each with its own store and pool (as two `tacker-server`
//! processes would be), plus plain SQL from a third connection (as Python Tacker or an
//! operator's `sqlite3` would write). Every write through any of them is in the next list of
//! the other (read-your-writes), for each caller's view, with and without `fields`; the
//! in-memory database too.

mod driver_support;

use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tacker_common::{Identity, RequestContext};
use tacker_vim::drivers::{registry, DriverConfig};
use tacker_vim::vault::{FileKeyManager, KeyManager};
use tacker_vim::{api_router, connect, VimState};
use tower::ServiceExt;

async fn router(url: &str, keys: &std::path::Path) -> axum::Router {
    let store = connect(url).await.unwrap();
    let cfg = DriverConfig {
        fernet_key_dir: keys.to_owned(),
        openstack_use_barbican: false,
        k8s_use_barbican: false,
        endpoints: Default::default(),
    };
    let files: Arc<dyn KeyManager> = Arc::new(FileKeyManager::new(&cfg.fernet_key_dir));
    api_router(VimState::new(store, registry(&cfg, files, None)))
}

fn member(project: &str) -> RequestContext {
    RequestContext::from(Identity {
        user_id: Some(format!("user-{project}")),
        project_id: Some(project.to_owned()),
        roles: vec!["member".to_owned()],
        ..Identity::default()
    })
}

fn admin() -> RequestContext {
    RequestContext::from(Identity {
        project_id: Some("admin-project".to_owned()),
        roles: vec!["admin".to_owned(), "member".to_owned()],
        is_admin: true,
        ..Identity::default()
    })
}

async fn call(
    router: &axum::Router,
    ctx: &RequestContext,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
        .unwrap();
    req.extensions_mut().insert(ctx.clone());
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Names in `GET uri`, asked twice (the second answer may come from the kept body and must
/// be the same).
async fn names(router: &axum::Router, ctx: &RequestContext, uri: &str) -> Vec<String> {
    let (status, first) = call(router, ctx, Method::GET, uri, None).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (_, second) = call(router, ctx, Method::GET, uri, None).await;
    assert_eq!(first, second, "a kept list differs from the rendered one");
    first["vims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn create(router: &axum::Router, ctx: &RequestContext, name: &str, k8s: &str) -> String {
    let body = json!({"vim": {"name": name, "type": "kubernetes", "auth_url": k8s,
        "auth_cred": {"bearer_token": "t"}, "vim_project": {"name": "default"}}});
    let (status, body) = call(router, ctx, Method::POST, "/vims", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["vim"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_write_anywhere_is_in_the_next_list_of_every_process() {
    let k8s = driver_support::accepting_kubernetes().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tacker.db");
    let url = format!("sqlite:///{}", db.display());
    let keys = dir.path().join("keys");
    let a = router(&url, &keys).await;
    let b = router(&url, &keys).await;
    let (p1, p2) = (member("p1"), member("p2"));

    // Lists rendered and kept on A, for three callers and a `fields` query.
    assert!(names(&a, &p1, "/vims").await.is_empty());
    assert!(names(&a, &p2, "/vims").await.is_empty());
    assert!(names(&a, &admin(), "/vims?fields=name").await.is_empty());

    // Created through B: in A's next list, for the callers who may see it, only.
    let id = create(&b, &p1, "vim-b", &k8s.uri()).await;
    assert_eq!(names(&a, &p1, "/vims").await, ["vim-b"]);
    assert!(names(&a, &p2, "/vims").await.is_empty());
    assert_eq!(names(&a, &admin(), "/vims?fields=name").await, ["vim-b"]);

    // Renamed through B.
    let (status, body) = call(
        &b,
        &p1,
        Method::PUT,
        &format!("/vims/{id}"),
        Some(json!({"vim": {"name": "renamed-b"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(names(&a, &p1, "/vims").await, ["renamed-b"]);

    // Written through A: in A's and B's next lists.
    create(&a, &p2, "vim-a", &k8s.uri()).await;
    assert_eq!(names(&a, &p2, "/vims").await, ["vim-a"]);
    assert_eq!(names(&b, &p2, "/vims").await, ["vim-a"]);
    let mut all = names(&a, &admin(), "/vims?fields=name").await;
    all.sort();
    assert_eq!(all, ["renamed-b", "vim-a"]);

    // Plain SQL from a connection of its own (another program on the same file).
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query("UPDATE vims SET name = 'by-sql' WHERE id = ?")
            .bind(&id)
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    assert_eq!(names(&a, &p1, "/vims").await, ["by-sql"]);
    assert_eq!(names(&b, &p1, "/vims").await, ["by-sql"]);

    // Deleted through B.
    let (status, body) = call(&b, &p1, Method::DELETE, &format!("/vims/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(names(&a, &p1, "/vims").await.is_empty());
    assert_eq!(names(&a, &admin(), "/vims?fields=name").await, ["vim-a"]);
}

#[tokio::test]
async fn the_in_memory_database_lists_its_own_writes() {
    let k8s = driver_support::accepting_kubernetes().await;
    let dir = tempfile::tempdir().unwrap();
    let app = router("sqlite://", &dir.path().join("keys")).await;
    let p1 = member("p1");
    assert!(names(&app, &p1, "/vims").await.is_empty());
    let id = create(&app, &p1, "one", &k8s.uri()).await;
    assert_eq!(names(&app, &p1, "/vims").await, ["one"]);
    let (status, _) = call(&app, &p1, Method::DELETE, &format!("/vims/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(names(&app, &p1, "/vims").await.is_empty());
}
