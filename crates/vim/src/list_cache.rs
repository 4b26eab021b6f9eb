//! Rendered `GET /v1.0/vims` bodies kept between writes.
//!
//! A body is kept under the [`DataVersion`] the store reported *before* the rows were read,
//! and served only to a request that reads the same version: any committed write, by this
//! process or another one on the same database, changes the version, so a VIM that got its
//! `201` is in the next list on every process (read-your-writes). Stores that cannot report a
//! version (PostgreSQL, MySQL) keep nothing here.
//!
//! The key is everything the body depends on besides the data: the caller's scope and policy
//! inputs (admin, `member` role, project) and the raw query string (filters and `fields`).
//! Bounded: at most [`MAX_ENTRIES`] bodies and [`MAX_BYTES`] in all; a body over
//! [`MAX_BODY`] is never kept.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use tacker_common::RequestContext;

use crate::store::DataVersion;

pub const MAX_ENTRIES: usize = 256;
pub const MAX_BYTES: usize = 8 << 20;
pub const MAX_BODY: usize = 1 << 20;

#[derive(Default)]
pub struct ListCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The version every entry was rendered under.
    version: Option<DataVersion>,
    entries: HashMap<String, Bytes>,
    bytes: usize,
}

/// The part of a request a list body depends on, besides the stored rows.
pub fn key(ctx: &RequestContext, query: &str) -> String {
    // The project is length-prefixed, so no project id and query can spell another pair.
    let project = ctx.project_id.as_deref();
    format!(
        "{}{}{}{}:{}{query}",
        u8::from(ctx.is_admin),
        u8::from(ctx.has_role("member")),
        u8::from(project.is_some()),
        project.map_or(0, str::len),
        project.unwrap_or(""),
    )
}

impl ListCache {
    /// The body rendered for `key` under `version`, if one is kept.
    pub fn get(&self, version: DataVersion, key: &str) -> Option<Bytes> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.version != Some(version) {
            return None;
        }
        inner.entries.get(key).cloned()
    }

    /// Keep `body`, rendered from rows read after `version` was. A different version replaces
    /// everything kept (those bodies can no longer be served to a request that reads the new
    /// version).
    pub fn put(&self, version: DataVersion, key: String, body: Bytes) {
        if body.len() > MAX_BODY {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.version != Some(version) {
            inner.version = Some(version);
            inner.entries.clear();
            inner.bytes = 0;
        }
        if inner.entries.len() >= MAX_ENTRIES || inner.bytes + body.len() > MAX_BYTES {
            inner.entries.clear();
            inner.bytes = 0;
        }
        inner.bytes += body.len();
        if let Some(old) = inner.entries.insert(key, body) {
            inner.bytes -= old.len();
        }
    }

    #[cfg(test)]
    fn len(&self) -> (usize, usize) {
        let inner = self.inner.lock().unwrap();
        (inner.entries.len(), inner.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tacker_common::Identity;

    fn ctx(admin: bool, project: Option<&str>, roles: &[&str]) -> RequestContext {
        RequestContext::from(Identity {
            is_admin: admin,
            project_id: project.map(str::to_owned),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            ..Identity::default()
        })
    }

    #[test]
    fn a_body_is_served_only_under_the_version_it_was_rendered_for() {
        let cache = ListCache::default();
        let (v1, v2) = (DataVersion::new(1, 0), DataVersion::new(1, 1));
        cache.put(v1, "k".into(), Bytes::from_static(b"one"));
        assert_eq!(cache.get(v1, "k").as_deref(), Some(&b"one"[..]));
        assert_eq!(cache.get(v2, "k"), None);
        assert_eq!(cache.get(v1, "other"), None);
        // A newer version replaces everything; the old one is gone even if asked for again.
        cache.put(v2, "k2".into(), Bytes::from_static(b"two"));
        assert_eq!(cache.get(v1, "k"), None);
        assert_eq!(cache.get(v2, "k"), None);
        assert_eq!(cache.get(v2, "k2").as_deref(), Some(&b"two"[..]));
    }

    #[test]
    fn keys_differ_by_everything_the_body_depends_on() {
        let keys = [
            key(&ctx(true, Some("p"), &["member"]), ""),
            key(&ctx(false, Some("p"), &["member"]), ""),
            key(&ctx(false, Some("p"), &["reader"]), ""),
            key(&ctx(false, Some("q"), &["member"]), ""),
            key(&ctx(false, None, &["member"]), ""),
            key(&ctx(false, Some(""), &["member"]), ""),
            key(&ctx(false, Some("p"), &["member"]), "fields=name"),
            key(&ctx(false, Some("p"), &["member"]), "name=x"),
        ];
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len(), "{keys:?}");
    }

    #[test]
    fn memory_is_bounded() {
        let cache = ListCache::default();
        let v = DataVersion::new(0, 0);
        for i in 0..(MAX_ENTRIES * 3) {
            cache.put(v, format!("k{i}"), Bytes::from(vec![b'x'; 100 << 10]));
            let (entries, bytes) = cache.len();
            assert!(
                entries <= MAX_ENTRIES && bytes <= MAX_BYTES,
                "{entries} {bytes}"
            );
        }
        cache.put(v, "big".into(), Bytes::from(vec![b'x'; MAX_BODY + 1]));
        assert_eq!(cache.get(v, "big"), None);
    }
}
