//! keystoneauth1's `identity.v3.Password(**kwargs)`: which keyword arguments it takes and the
//! `POST /v3/auth/tokens` body it builds from them.

use serde_json::{json, Map, Value};
use tacker_common::py::{py_str, truthy};

/// The keyword arguments keystoneauth1's `identity.v3.Password` accepts; any other is a
/// `TypeError` in its constructor.
pub const PASSWORD_PLUGIN_ARGS: &[&str] = &[
    "auth_url",
    "password",
    "user_id",
    "username",
    "user_domain_id",
    "user_domain_name",
    "project_id",
    "project_name",
    "project_domain_id",
    "project_domain_name",
    "domain_id",
    "domain_name",
    "system_scope",
    "trust_id",
    "unscoped",
    "reauthenticate",
    "include_catalog",
];

/// The token request body of a password plugin. `Debug` never shows it (it holds the
/// password).
#[derive(Clone)]
pub struct PasswordAuth {
    body: Value,
}

impl std::fmt::Debug for PasswordAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordAuth([REDACTED])")
    }
}

impl PasswordAuth {
    /// The plugin built from `kwargs` (JSON values as Python passes them). Empty values are
    /// ignored; a user id wins over a user name, and the scope is the first of system,
    /// domain id/name, project id/name, trust that is set (keystoneauth's order). An argument
    /// the plugin does not take is returned as `Err(name)`.
    pub fn from_kwargs(kwargs: &Map<String, Value>) -> Result<Self, String> {
        if let Some(unexpected) = kwargs
            .keys()
            .find(|k| !PASSWORD_PLUGIN_ARGS.contains(&k.as_str()))
        {
            return Err(unexpected.clone());
        }
        let arg = |k: &str| kwargs.get(k).filter(|v| truthy(v)).cloned();

        // keystoneauth `PasswordMethod.get_auth_data`: the password first.
        let mut user = Map::new();
        user.insert(
            "password".to_owned(),
            kwargs.get("password").cloned().unwrap_or(Value::Null),
        );
        if let Some(id) = arg("user_id") {
            user.insert("id".to_owned(), id);
        } else if let Some(name) = arg("username") {
            user.insert("name".to_owned(), name);
            if let Some(id) = arg("user_domain_id") {
                user.insert("domain".to_owned(), json!({ "id": id }));
            } else if let Some(name) = arg("user_domain_name") {
                user.insert("domain".to_owned(), json!({ "name": name }));
            }
        }

        let mut auth = Map::new();
        auth.insert(
            "identity".to_owned(),
            json!({ "methods": ["password"], "password": { "user": user } }),
        );
        let scope = if let Some(system) = arg("system_scope") {
            let system = py_str(&system);
            Some(json!({ "system": { system: true } }))
        } else if let Some(id) = arg("domain_id") {
            Some(json!({ "domain": { "id": id } }))
        } else if let Some(name) = arg("domain_name") {
            Some(json!({ "domain": { "name": name } }))
        } else if let Some(id) = arg("project_id") {
            Some(json!({ "project": { "id": id } }))
        } else if let Some(name) = arg("project_name") {
            let mut project = Map::new();
            project.insert("name".to_owned(), name);
            if let Some(id) = arg("project_domain_id") {
                project.insert("domain".to_owned(), json!({ "id": id }));
            } else if let Some(name) = arg("project_domain_name") {
                project.insert("domain".to_owned(), json!({ "name": name }));
            }
            Some(json!({ "project": project }))
        } else {
            arg("trust_id").map(|id| json!({ "OS-TRUST:trust": { "id": id } }))
        };
        if let Some(scope) = scope {
            auth.insert("scope".to_owned(), scope);
        }
        Ok(Self {
            body: json!({ "auth": auth }),
        })
    }

    pub(crate) fn body(&self) -> &Value {
        &self.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kwargs(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn project_name_and_domains() {
        let auth = PasswordAuth::from_kwargs(&kwargs(json!({
            "username": "nfv_user", "password": "devstack", "user_domain_name": "Default",
            "project_id": null, "project_name": "nfv",
            "project_domain_name": "Default", "auth_url": "http://ks/identity/v3"
        })))
        .unwrap();
        assert_eq!(
            auth.body,
            json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "password": "devstack", "name": "nfv_user", "domain": {"name": "Default"}}}},
                "scope": {"project": {"name": "nfv", "domain": {"name": "Default"}}}}})
        );
    }

    #[test]
    fn ids_win_and_empty_values_are_skipped() {
        let auth = PasswordAuth::from_kwargs(&kwargs(json!({
            "user_id": "u1", "username": "ignored", "password": "p",
            "project_id": "p1", "project_name": "ignored", "project_domain_name": ""
        })))
        .unwrap();
        assert_eq!(
            auth.body,
            json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {"password": "p", "id": "u1"}}},
                "scope": {"project": {"id": "p1"}}}})
        );
    }

    #[test]
    fn unexpected_argument_is_named() {
        let err =
            PasswordAuth::from_kwargs(&kwargs(json!({"username": "u", "password": "p", "foo": 1})))
                .unwrap_err();
        assert_eq!(err, "foo");
    }

    #[test]
    fn debug_hides_the_password() {
        let auth =
            PasswordAuth::from_kwargs(&kwargs(json!({"username": "u", "password": "hunter2"})))
                .unwrap();
        assert!(!format!("{auth:?}").contains("hunter2"));
    }
}
