//! Claim mapping (keystonemiddleware `_get_token_data_from_metadata`): introspection response
//! → the identity of the request (`AuthContext`).

use std::sync::Arc;

use http::HeaderValue;
use serde_json::{Map, Value};
use tacker_common::py::truthy;
use tacker_common::{Identity, RequestContext, RequestId};

use crate::options::MappingOptions;
use crate::AuthError;

/// How the token is scoped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    Project {
        id: String,
        name: String,
        domain_id: String,
        domain_name: String,
    },
    Domain {
        id: String,
        name: String,
    },
    /// `OpenStack-System-Scope: all`.
    System,
}

/// The authenticated identity the `external_oauth2_token` filter derives from an
/// introspection answer (the typed form of upstream's `external.token_info` and identity
/// headers); cached per token. The app sees it as a [`RequestContext`].
#[derive(Clone, Debug, PartialEq)]
pub struct AuthContext {
    pub user_id: String,
    pub user_name: String,
    pub user_domain_id: String,
    pub user_domain_name: String,
    /// `X-Roles` as sent to the app: the claim string unchanged, or a list claim joined by `,`.
    pub roles_header: String,
    /// Role names (split on `,` and trimmed, empty items dropped).
    pub roles: Vec<String>,
    /// `admin` is one of the roles (case-insensitive; for string claims, upstream's untrimmed
    /// split decides).
    pub is_admin: bool,
    pub scope: Scope,
    /// The `mapping_expires_at` claim, or else the RFC 7662 `exp`, in Unix seconds.
    pub expires_at: Option<f64>,
    /// The full introspection response (`origin_token_metadata`).
    pub token_info: Arc<Map<String, Value>>,
    /// What every request on this identity gets (identity headers, request context),
    /// computed on first use and kept with the cached identity.
    pub(crate) derived: crate::layer::Derived,
}

impl AuthContext {
    /// The request context this identity gives the app: what `keystonecontext`
    /// (`oslo_context.RequestContext.from_environ`) would read from the identity headers the
    /// filter sets, built directly from the typed identity (the headers are set for wire
    /// parity only; nothing in this server parses them back).
    pub fn request_context(&self, request_id: Option<&RequestId>) -> RequestContext {
        RequestContext::from(self.identity()).with_request_id(request_id)
    }

    /// The caller's identity as the request context holds it (see [`Self::request_context`]).
    pub fn identity(&self) -> Identity {
        // Header values are set even when empty; from_environ treats empty as absent.
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let mut identity = Identity {
            // `X-User-Id`, else `X-User` (which carries the user name).
            user_id: some(&self.user_id).or_else(|| some(&self.user_name)),
            user_name: some(&self.user_name),
            user_domain_id: some(&self.user_domain_id),
            user_domain_name: some(&self.user_domain_name),
            roles: self.roles.clone(),
            // Policy rule `context_is_admin` = `role:admin`, case-insensitive (oslo.policy).
            is_admin: self.roles.iter().any(|r| r.eq_ignore_ascii_case("admin")),
            ..Identity::default()
        };
        match &self.scope {
            Scope::System => identity.system_scope = Some("all".to_owned()),
            Scope::Project {
                id,
                name,
                domain_id,
                domain_name,
            } => {
                identity.project_id = some(id);
                identity.project_name = some(name);
                identity.project_domain_id = some(domain_id);
                identity.project_domain_name = some(domain_name);
            }
            Scope::Domain { id, name } => {
                identity.domain_id = some(id);
                identity.domain_name = some(name);
            }
        }
        identity
    }
}

/// Resolve a mapping path. A name without `.` is a top-level claim; a dotted path walks
/// nested objects. Unlike upstream, a missing or empty intermediate object makes the value
/// absent: upstream would look the rest of the path up at the root (deliberate fix).
pub(crate) fn resolve<'a>(
    root: &'a Map<String, Value>,
    option: &str,
    path: &str,
) -> Result<Option<&'a Value>, AuthError> {
    if !path.contains('.') {
        return Ok(root.get(path));
    }
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(AuthError::Configuration(format!(
            "{option} = \"{path}\": the claim path has an empty segment"
        )));
    }
    let mut current = root;
    let (last, parents) = segments
        .split_last()
        .expect("split yields at least one item");
    for seg in parents {
        match current.get(*seg) {
            Some(Value::Object(m)) => current = m,
            Some(v) if truthy(v) => {
                return Err(AuthError::Forbidden(format!(
                    "{option} = \"{path}\": the claim \"{seg}\" is not an object"
                )))
            }
            _ => return Ok(None),
        }
    }
    Ok(current.get(*last))
}

#[derive(Clone, Copy)]
enum Want {
    Str,
    Bool,
    Int,
}

/// A mapped claim: `required` falsy → 403; unset option of a required field → 500.
fn claim<'a>(
    root: &'a Map<String, Value>,
    option: &str,
    path: Option<&str>,
    required: bool,
    want: Want,
    group: &str,
) -> Result<Option<&'a Value>, AuthError> {
    let Some(path) = path else {
        return if required {
            Err(AuthError::Configuration(
                tacker_oauth2_client::options::not_set_message(option, group),
            ))
        } else {
            Ok(None)
        };
    };
    let value = resolve(root, option, path)?.filter(|v| truthy(v));
    let Some(value) = value else {
        return if required {
            Err(AuthError::Forbidden(format!(
                "{option} = \"{path}\": the claim is missing or empty"
            )))
        } else {
            Ok(None)
        };
    };
    let ok = match want {
        Want::Str => value.is_string(),
        Want::Bool => value.is_boolean(),
        Want::Int => value.is_i64() || value.is_u64(),
    };
    if !ok {
        return Err(AuthError::Forbidden(format!(
            "{option} = \"{path}\": the claim has the wrong JSON type"
        )));
    }
    Ok(Some(value))
}

fn string(
    root: &Map<String, Value>,
    option: &str,
    path: Option<&str>,
    group: &str,
) -> Result<String, AuthError> {
    let v = claim(root, option, path, true, Want::Str, group)?
        .and_then(Value::as_str)
        .unwrap_or_default();
    header_safe(option, v)?;
    Ok(v.to_owned())
}

/// The value goes into a request header for the app; refuse what cannot be one.
fn header_safe(option: &str, value: &str) -> Result<(), AuthError> {
    HeaderValue::from_str(value).map(|_| ()).map_err(|_| {
        AuthError::Forbidden(format!(
            "{option}: the claim cannot be sent as a header value"
        ))
    })
}

/// Role names of an `X-Roles` value: split on `,`, trimmed, empty items dropped.
pub(crate) fn split_roles(roles_header: &str) -> Vec<String> {
    roles_header
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(String::from)
        .collect()
}

/// The roles of a cached token: a list claim's items as given (read again from the cached
/// introspection answer, since the cache's `roles` field is keystonemiddleware's
/// comma-joined text), else `roles_header` split as upstream does.
pub(crate) fn cached_roles(
    metadata: &Map<String, Value>,
    mapping: &MappingOptions,
    roles_header: &str,
) -> Vec<String> {
    let listed = mapping
        .roles
        .as_deref()
        .and_then(|path| resolve(metadata, "mapping_roles", path).ok().flatten())
        .and_then(Value::as_array)
        .and_then(|items| {
            items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<Vec<String>>>()
        })
        .filter(|items| items.join(",") == roles_header);
    listed.unwrap_or_else(|| split_roles(roles_header))
}

/// The token's expiry: `mapping_expires_at` (integer, 403 otherwise) if configured, else the
/// RFC 7662 `exp` claim if it is a number.
pub(crate) fn expires_at(
    root: &Map<String, Value>,
    mapping: &MappingOptions,
    group: &str,
) -> Result<Option<f64>, AuthError> {
    if mapping.expires_at.is_some() {
        return Ok(claim(
            root,
            "mapping_expires_at",
            mapping.expires_at.as_deref(),
            false,
            Want::Int,
            group,
        )?
        .and_then(Value::as_f64));
    }
    // Falsy (0) means "no expiry", as upstream treats a falsy `mapping_expires_at` value.
    Ok(root.get("exp").and_then(Value::as_f64).filter(|e| *e > 0.0))
}

/// Map an active introspection response to the request identity, in upstream's order:
/// roles, system scope, project or domain scope, user.
pub(crate) fn map_claims(
    root: Map<String, Value>,
    mapping: &MappingOptions,
    group: &str,
    expires_at: Option<f64>,
) -> Result<AuthContext, AuthError> {
    let m = &root;
    let roles_path = mapping.roles.as_deref();
    let Some(path) = roles_path else {
        return Err(AuthError::Configuration(
            tacker_oauth2_client::options::not_set_message("mapping_roles", group),
        ));
    };
    // A string claim is a comma-separated list, as upstream splits it; a list claim's items are
    // the roles as given (an item "ops,admin" is one role, never split into "admin").
    let (roles_header, is_admin, listed) =
        match resolve(m, "mapping_roles", path)?.filter(|v| truthy(v)) {
            None => {
                return Err(AuthError::Forbidden(format!(
                    "mapping_roles = \"{path}\": the claim is missing or empty"
                )))
            }
            // Upstream: `'admin' in roles.lower().split(',')`, no trimming.
            Some(Value::String(s)) => (
                s.clone(),
                s.to_lowercase().split(',').any(|r| r == "admin"),
                None,
            ),
            // Keycloak role mappers emit lists (deliberate extension).
            Some(Value::Array(items)) => {
                let mut names = Vec::with_capacity(items.len());
                for item in items {
                    match item.as_str() {
                        Some(s) => names.push(s),
                        None => {
                            return Err(AuthError::Forbidden(format!(
                        "mapping_roles = \"{path}\": the list holds a value that is not a string"
                    )))
                        }
                    }
                }
                let admin = names.iter().any(|r| r.to_lowercase() == "admin");
                let roles: Vec<String> = names.iter().map(|r| (*r).to_owned()).collect();
                (names.join(","), admin, Some(roles))
            }
            Some(_) => {
                return Err(AuthError::Forbidden(format!(
                    "mapping_roles = \"{path}\": the claim has the wrong JSON type"
                )))
            }
        };
    header_safe("mapping_roles", &roles_header)?;
    let roles = listed.unwrap_or_else(|| split_roles(&roles_header));

    let system = claim(
        m,
        "mapping_system_scope",
        mapping.system_scope.as_deref(),
        false,
        Want::Bool,
        group,
    )?
    .is_some_and(|v| v.as_bool() == Some(true));
    let scope = if system {
        Scope::System
    } else {
        let project_id = claim(
            m,
            "mapping_project_id",
            mapping.project_id.as_deref(),
            false,
            Want::Str,
            group,
        )?
        .and_then(Value::as_str)
        .map(String::from);
        match project_id {
            Some(id) => {
                header_safe("mapping_project_id", &id)?;
                Scope::Project {
                    id,
                    name: string(
                        m,
                        "mapping_project_name",
                        mapping.project_name.as_deref(),
                        group,
                    )?,
                    domain_id: string(
                        m,
                        "mapping_project_domain_id",
                        mapping.project_domain_id.as_deref(),
                        group,
                    )?,
                    domain_name: string(
                        m,
                        "mapping_project_domain_name",
                        mapping.project_domain_name.as_deref(),
                        group,
                    )?,
                }
            }
            None => Scope::Domain {
                id: string(
                    m,
                    "mapping_project_domain_id",
                    mapping.project_domain_id.as_deref(),
                    group,
                )?,
                name: string(
                    m,
                    "mapping_project_domain_name",
                    mapping.project_domain_name.as_deref(),
                    group,
                )?,
            },
        }
    };
    let user_id = string(m, "mapping_user_id", mapping.user_id.as_deref(), group)?;
    let user_name = string(m, "mapping_user_name", mapping.user_name.as_deref(), group)?;
    let user_domain_id = string(
        m,
        "mapping_user_domain_id",
        mapping.user_domain_id.as_deref(),
        group,
    )?;
    let user_domain_name = string(
        m,
        "mapping_user_domain_name",
        mapping.user_domain_name.as_deref(),
        group,
    )?;
    Ok(AuthContext {
        user_id,
        user_name,
        user_domain_id,
        user_domain_name,
        roles_header,
        roles,
        is_admin,
        scope,
        expires_at,
        token_info: Arc::new(root),
        derived: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn dotted_path_walks_objects_without_root_fallback() {
        let root = obj(json!({"id": "top", "access_project": {}, "a": {"b": {"c": "x"}}}));
        assert_eq!(resolve(&root, "k", "a.b.c").unwrap(), Some(&json!("x")));
        // Upstream would return the top-level "id" here (root-fallback quirk, not copied).
        assert_eq!(resolve(&root, "k", "access_project.id").unwrap(), None);
        assert_eq!(resolve(&root, "k", "missing.id").unwrap(), None);
    }

    #[test]
    fn empty_segment_is_configuration_error() {
        let root = obj(json!({}));
        for p in ["a..b", ".a", "a."] {
            assert!(matches!(
                resolve(&root, "k", p),
                Err(AuthError::Configuration(_))
            ));
        }
    }

    #[test]
    fn non_object_parent_is_forbidden() {
        let root = obj(json!({"user": "alice"}));
        assert!(matches!(
            resolve(&root, "k", "user.id"),
            Err(AuthError::Forbidden(_))
        ));
    }

    #[test]
    fn roles_untrimmed_admin_check_as_upstream() {
        let mapping = MappingOptions {
            roles: Some("roles".into()),
            project_domain_id: Some("d".into()),
            project_domain_name: Some("d".into()),
            user_id: Some("u".into()),
            user_name: Some("u".into()),
            user_domain_id: Some("d".into()),
            user_domain_name: Some("d".into()),
            ..Default::default()
        };
        let ctx = map_claims(
            obj(json!({"roles": "member, admin", "d": "x", "u": "y"})),
            &mapping,
            "g",
            None,
        )
        .unwrap();
        assert!(!ctx.is_admin);
        assert_eq!(ctx.roles, vec!["member", "admin"]);
        let ctx = map_claims(
            obj(json!({"roles": ["member", "Admin"], "d": "x", "u": "y"})),
            &mapping,
            "g",
            None,
        )
        .unwrap();
        assert!(ctx.is_admin);
        assert_eq!(ctx.roles_header, "member,Admin");
        // A list item is one role as given: "ops,admin" is not "admin".
        let claims = obj(json!({"roles": ["member", "ops,admin"], "d": "x", "u": "y"}));
        let ctx = map_claims(claims.clone(), &mapping, "g", None).unwrap();
        assert!(!ctx.is_admin);
        assert_eq!(ctx.roles, vec!["member", "ops,admin"]);
        // Also when read back from the shared cache's comma-joined text.
        assert_eq!(
            cached_roles(&claims, &mapping, &ctx.roles_header),
            vec!["member", "ops,admin"]
        );
        assert_eq!(
            cached_roles(&claims, &mapping, "member,reader"),
            vec!["member", "reader"]
        );
        assert!(matches!(
            map_claims(
                obj(json!({"roles": ["member", 1], "d": "x", "u": "y"})),
                &mapping,
                "g",
                None
            ),
            Err(AuthError::Forbidden(_))
        ));
        assert!(matches!(
            map_claims(
                obj(json!({"roles": [], "d": "x", "u": "y"})),
                &mapping,
                "g",
                None
            ),
            Err(AuthError::Forbidden(_))
        ));
    }
}
