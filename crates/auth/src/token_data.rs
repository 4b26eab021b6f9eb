//! The `token_data` dict that keystonemiddleware 13.0.1's `external_oauth2_token` caches, as
//! bytes: what a Python node and this server both read from and write to a shared memcached.
//!
//! Upstream (`external_oauth2_token.py`):
//! * `_parse_necessary_info` builds, in this key order: `origin_token_metadata` (the whole
//!   introspection response), `roles` (the roles claim string), `is_admin` (`"true"` /
//!   `"false"`), then `system_scope: "all"`, or `project_id`, `project_name`,
//!   `project_domain_id`, `project_domain_name`, or `domain_id`, `domain_name`, and last
//!   `user_id`, `user_name`, `user_domain_id`, `user_domain_name`.
//! * An inactive token is cached as `{"origin_token_metadata": <response>}`.
//! * `_cache.TokenCache.set` stores `jsonutils.dumps(data).encode('utf-8')`: Python's
//!   `json.dumps` text (`", "` / `": "` separators, ASCII only). python-memcached stores bytes
//!   with client flags 0.
//! * On a hit `_fetch_token` uses the dict as it is, without mapping the claims again: a
//!   value that is not a dict with `origin_token_metadata` is rejected, a falsy
//!   `origin_token_metadata.active` is the negative cache, and `mapping_expires_at` is read
//!   from `origin_token_metadata` (a wrong type is a 403).

use std::sync::Arc;

use serde_json::{Map, Value};
use tacker_common::py::truthy;

use crate::cache::Cached;
use crate::mapping::{cached_roles, expires_at, AuthContext, Scope};
use crate::options::MappingOptions;
use crate::AuthError;

/// The bytes stored for `cached`, as `jsonutils.dumps(token_data).encode('utf-8')`.
pub(crate) fn encode(cached: &Cached) -> Vec<u8> {
    let mut data = Map::new();
    match cached {
        Cached::Inactive => {
            // The introspection answer of an inactive token is `{"active": false}` (RFC 7662
            // §2.2: nothing else should be disclosed); upstream caches that answer as is.
            let mut metadata = Map::new();
            metadata.insert("active".into(), Value::Bool(false));
            data.insert("origin_token_metadata".into(), Value::Object(metadata));
        }
        Cached::Valid(ctx) => {
            data.insert(
                "origin_token_metadata".into(),
                Value::Object((*ctx.token_info).clone()),
            );
            let mut put = |k: &str, v: &str| {
                data.insert(k.to_owned(), Value::String(v.to_owned()));
            };
            put("roles", &ctx.roles_header);
            put("is_admin", if ctx.is_admin { "true" } else { "false" });
            match &ctx.scope {
                Scope::System => put("system_scope", "all"),
                Scope::Project {
                    id,
                    name,
                    domain_id,
                    domain_name,
                } => {
                    put("project_id", id);
                    put("project_name", name);
                    put("project_domain_id", domain_id);
                    put("project_domain_name", domain_name);
                }
                Scope::Domain { id, name } => {
                    put("domain_id", id);
                    put("domain_name", name);
                }
            }
            put("user_id", &ctx.user_id);
            put("user_name", &ctx.user_name);
            put("user_domain_id", &ctx.user_domain_id);
            put("user_domain_name", &ctx.user_domain_name);
        }
    }
    tacker_common::to_py_json(&Value::Object(data)).into_bytes()
}

/// Read a cached value. `Ok(None)`: the bytes are not a `token_data` this server can use
/// (not JSON, not a dict, fields missing or of the wrong type, not header-safe); the caller
/// treats that as a miss. `Err`: upstream's answer to a readable entry (a
/// `mapping_expires_at` claim of the wrong type is a 403 on a hit, as on a fresh introspection).
pub(crate) fn decode(
    bytes: &[u8],
    mapping: &MappingOptions,
    group: &str,
) -> Result<Option<Cached>, AuthError> {
    let Ok(Value::Object(mut data)) = serde_json::from_slice::<Value>(bytes) else {
        return Ok(None);
    };
    let Some(Value::Object(metadata)) = data.shift_remove("origin_token_metadata") else {
        return Ok(None);
    };
    if !metadata.get("active").is_some_and(truthy) {
        return Ok(Some(Cached::Inactive));
    }
    let text = |key: &str| -> Option<String> {
        data.get(key)
            .and_then(Value::as_str)
            .filter(|s| http::HeaderValue::from_str(s).is_ok())
            .map(str::to_owned)
    };
    let fields = (|| {
        let roles_header = text("roles")?;
        let scope = if data.get("system_scope").is_some_and(truthy) {
            Scope::System
        } else if data.get("project_id").is_some_and(truthy) {
            Scope::Project {
                id: text("project_id")?,
                name: text("project_name")?,
                domain_id: text("project_domain_id")?,
                domain_name: text("project_domain_name")?,
            }
        } else {
            Scope::Domain {
                id: text("domain_id")?,
                name: text("domain_name")?,
            }
        };
        Some((
            roles_header,
            scope,
            text("user_id")?,
            text("user_name")?,
            text("user_domain_id")?,
            text("user_domain_name")?,
        ))
    })();
    let Some((roles_header, scope, user_id, user_name, user_domain_id, user_domain_name)) = fields
    else {
        return Ok(None);
    };
    let expires_at = expires_at(&metadata, mapping, group)?;
    Ok(Some(Cached::Valid(Arc::new(AuthContext {
        user_id,
        user_name,
        user_domain_id,
        user_domain_name,
        roles: cached_roles(&metadata, mapping, &roles_header),
        // `_set_request_env` sets X-Is-Admin-Project from this field, not from the roles.
        is_admin: data.get("is_admin").and_then(Value::as_str) == Some("true"),
        roles_header,
        scope,
        expires_at,
        token_info: Arc::new(metadata),
        derived: Default::default(),
    }))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapping() -> MappingOptions {
        MappingOptions {
            expires_at: Some("exp".into()),
            ..MappingOptions::default()
        }
    }

    fn ctx(scope: Scope) -> AuthContext {
        AuthContext {
            user_id: "u1".into(),
            user_name: "alice".into(),
            user_domain_id: "default".into(),
            user_domain_name: "Default".into(),
            roles_header: "admin,member".into(),
            roles: vec!["admin".into(), "member".into()],
            is_admin: true,
            scope,
            expires_at: Some(2_000_000_000.0),
            token_info: Arc::new(
                json!({"active": true, "exp": 2_000_000_000_i64, "name": "é"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
            derived: Default::default(),
        }
    }

    #[test]
    fn project_scope_in_upstream_key_order_and_python_json() {
        let project = Scope::Project {
            id: "p1".into(),
            name: "demo".into(),
            domain_id: "default".into(),
            domain_name: "Default".into(),
        };
        let bytes = encode(&Cached::Valid(Arc::new(ctx(project))));
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"origin_token_metadata": {"active": true, "exp": 2000000000, "name": "\u00e9"}, "roles": "admin,member", "is_admin": "true", "project_id": "p1", "project_name": "demo", "project_domain_id": "default", "project_domain_name": "Default", "user_id": "u1", "user_name": "alice", "user_domain_id": "default", "user_domain_name": "Default"}"#
        );
    }

    #[test]
    fn every_scope_round_trips() {
        for scope in [
            Scope::System,
            Scope::Domain {
                id: "d".into(),
                name: "D".into(),
            },
            Scope::Project {
                id: "p".into(),
                name: "P".into(),
                domain_id: "d".into(),
                domain_name: "D".into(),
            },
        ] {
            let original = ctx(scope);
            let bytes = encode(&Cached::Valid(Arc::new(original.clone())));
            match decode(&bytes, &mapping(), "ext_oauth2_auth").unwrap() {
                Some(Cached::Valid(read)) => assert_eq!(*read, original),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn negative_entry_is_upstream_shape() {
        let bytes = encode(&Cached::Inactive);
        assert_eq!(bytes, br#"{"origin_token_metadata": {"active": false}}"#);
        assert!(matches!(
            decode(&bytes, &mapping(), "g").unwrap(),
            Some(Cached::Inactive)
        ));
    }

    #[test]
    fn unreadable_values_are_misses() {
        for bad in [
            &b"garbage"[..],
            b"\"test\"",
            b"{}",
            b"{\"origin_token_metadata\": \"x\"}",
            b"{\"origin_token_metadata\": {\"active\": true}}",
            br#"{"origin_token_metadata": {"active": true}, "roles": "r", "user_id": 1}"#,
            br#"{"origin_token_metadata": {"active": true}, "roles": "r\n", "domain_id": "d", "domain_name": "d", "user_id": "u", "user_name": "u", "user_domain_id": "d", "user_domain_name": "d"}"#,
        ] {
            assert!(
                decode(bad, &mapping(), "g").unwrap().is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn wrong_expiry_type_on_a_hit_is_forbidden_as_upstream() {
        let bytes = br#"{"origin_token_metadata": {"active": true, "exp": "soon"}, "roles": "r", "is_admin": "false", "domain_id": "d", "domain_name": "d", "user_id": "u", "user_name": "u", "user_domain_id": "d", "user_domain_name": "d"}"#;
        assert!(matches!(
            decode(bytes, &mapping(), "g"),
            Err(AuthError::Forbidden(_))
        ));
    }
}
