//! The `vims` resource attribute map (`tacker/extensions/nfvo.py`) and the legacy v1.0
//! controller's `prepare_request_body` (`tacker/api/v1/base.py`): the exact order of the
//! checks and the exact messages of spec §2.4 / §2.10.

use serde_json::{Map, Value};
use tacker_common::RequestContext;

use crate::VimError;
use tacker_common::py::{py_bytes_repr, py_str, truthy};

/// One entry of `RESOURCE_ATTRIBUTE_MAP['vims']`.
struct Attr {
    name: &'static str,
    allow_post: bool,
    allow_put: bool,
    /// Attributes with a default are optional in POST.
    has_default: bool,
    rule: Rule,
}

#[derive(Clone, Copy)]
enum Rule {
    None,
    Uuid,
    String(Option<usize>),
    NotEmptyString,
    DictNotEmpty,
    DictOrNoData,
    Boolean,
}

/// Map order matters: required/forbidden checks and validation run in this order.
const ATTRS: [Attr; 15] = [
    attr("id", false, false, false, Rule::Uuid),
    attr("tenant_id", true, false, false, Rule::String(None)),
    attr("type", true, false, false, Rule::NotEmptyString),
    attr("auth_url", true, false, false, Rule::String(None)),
    attr("auth_cred", true, true, false, Rule::DictNotEmpty),
    attr("vim_project", true, true, false, Rule::DictNotEmpty),
    attr("name", true, true, false, Rule::String(Some(NAME_MAX_LEN))),
    attr("description", true, true, true, Rule::String(None)),
    attr("status", false, false, false, Rule::String(None)),
    attr("placement_attr", false, false, true, Rule::None),
    attr("shared", false, false, false, Rule::None),
    attr("is_default", true, true, true, Rule::Boolean),
    attr("created_at", false, false, false, Rule::None),
    attr("updated_at", false, false, false, Rule::None),
    attr("extra", true, true, true, Rule::DictOrNoData),
];

const NAME_MAX_LEN: usize = 255;

const fn attr(
    name: &'static str,
    allow_post: bool,
    allow_put: bool,
    has_default: bool,
    rule: Rule,
) -> Attr {
    Attr {
        name,
        allow_post,
        allow_put,
        has_default,
        rule,
    }
}

/// A validated `POST /v1.0/vims` body.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateRequest {
    pub tenant_id: String,
    pub vim_type: String,
    pub auth_url: String,
    pub auth_cred: Map<String, Value>,
    pub vim_project: Map<String, Value>,
    pub name: String,
    pub description: String,
    pub is_default: bool,
    pub extra: Map<String, Value>,
}

/// A validated `PUT /v1.0/vims/{id}` body: only the attributes that were sent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UpdateRequest {
    pub auth_cred: Option<Map<String, Value>>,
    pub vim_project: Option<Map<String, Value>>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_default: Option<bool>,
    pub extra: Option<Map<String, Value>>,
}

/// Decode a request body as Tacker's JSON deserializer does: no body → `None`, anything that
/// is not JSON → `MalformedRequestBody`.
pub fn parse_body(raw: &[u8]) -> Result<Option<Value>, VimError> {
    if raw.is_empty() {
        return Ok(None);
    }
    serde_json::from_slice(raw)
        .map(Some)
        .map_err(|_| VimError::MalformedRequestBody)
}

fn bad(msg: impl Into<String>) -> VimError {
    VimError::BadRequest(msg.into())
}

/// Deliberate fix: bodies that upstream crashes on (a JSON list, string or number where an
/// object is expected) get the message upstream's PUT gives for a non-dict body.
fn invalid_format(raw: &[u8]) -> VimError {
    VimError::BadBody(format!("Invalid format: {}", py_bytes_repr(raw)))
}

/// Steps 1-7 of spec §2.4 for a create request.
pub fn prepare_create(
    ctx: &RequestContext,
    body: Option<Value>,
    raw: &[u8],
) -> Result<CreateRequest, VimError> {
    let body = match body {
        Some(b) if truthy(&b) => b,
        _ => return Err(bad("Resource body required")),
    };
    let Value::Object(body) = body else {
        return Err(invalid_format(raw));
    };
    let mut res = resource_dict(ctx, body, true, raw)?;

    for a in &ATTRS {
        if a.allow_post {
            if !a.has_default && !res.contains_key(a.name) {
                return Err(bad(format!(
                    "Failed to parse request. Required attribute '{}' not specified",
                    a.name
                )));
            }
        } else if res.contains_key(a.name) {
            return Err(bad(format!("Attribute '{}' not allowed in POST", a.name)));
        }
    }
    if !res.contains_key("description") {
        res.insert("description".into(), Value::String(String::new()));
    }
    if !res.contains_key("is_default") {
        res.insert("is_default".into(), Value::Bool(false));
    }
    if !res.contains_key("extra") {
        res.insert("extra".into(), Value::Null);
    }
    validate(&mut res)?;

    Ok(CreateRequest {
        tenant_id: take_string(&mut res, "tenant_id"),
        vim_type: take_string(&mut res, "type"),
        auth_url: take_string(&mut res, "auth_url"),
        auth_cred: take_dict(&mut res, "auth_cred"),
        vim_project: take_dict(&mut res, "vim_project"),
        name: take_string(&mut res, "name"),
        description: take_string(&mut res, "description"),
        is_default: res.get("is_default").and_then(to_boolean).unwrap_or(false),
        extra: take_dict(&mut res, "extra"),
    })
}

/// Steps 1-2 of spec §2.10 for an update request (the body is already known to be present).
pub fn prepare_update(
    ctx: &RequestContext,
    body: Option<Value>,
    raw: &[u8],
) -> Result<UpdateRequest, VimError> {
    // Upstream: `payload = body.copy()`; anything without `.copy()` is "Invalid format".
    let body = match body {
        Some(Value::Object(o)) => o,
        Some(Value::Array(a)) if a.is_empty() => return Err(bad("Resource body required")),
        _ => return Err(invalid_format(raw)),
    };
    if body.is_empty() {
        return Err(bad("Resource body required"));
    }
    let mut res = resource_dict(ctx, body, false, raw)?;
    for a in &ATTRS {
        if res.contains_key(a.name) && !a.allow_put {
            return Err(bad(format!("Cannot update read-only attribute {}", a.name)));
        }
    }
    validate(&mut res)?;
    Ok(UpdateRequest {
        auth_cred: res
            .contains_key("auth_cred")
            .then(|| take_dict(&mut res, "auth_cred")),
        vim_project: res
            .contains_key("vim_project")
            .then(|| take_dict(&mut res, "vim_project")),
        name: res
            .contains_key("name")
            .then(|| take_string(&mut res, "name")),
        description: res
            .contains_key("description")
            .then(|| take_string(&mut res, "description")),
        is_default: res.get("is_default").and_then(to_boolean),
        extra: res
            .contains_key("extra")
            .then(|| take_dict(&mut res, "extra")),
    })
}

/// Bulk check, `vim` key, tenant population (`_populate_tenant_id`) and unknown attributes.
fn resource_dict(
    ctx: &RequestContext,
    mut body: Map<String, Value>,
    is_create: bool,
    raw: &[u8],
) -> Result<Map<String, Value>, VimError> {
    if body.contains_key("vims") {
        return Err(bad("Bulk operation not supported"));
    }
    let res = match body.shift_remove("vim") {
        None | Some(Value::Null) => return Err(bad("Unable to find 'vim' in request body")),
        Some(Value::Object(o)) => o,
        Some(other) => {
            // Upstream tests `'tenant_id' in res_dict` on whatever it got; without a
            // project that yields the tenant message (recorded), everything else crashed.
            let mentions_tenant = match &other {
                Value::String(s) => s.contains("tenant_id"),
                Value::Array(a) => a.contains(&Value::String("tenant_id".into())),
                _ => false,
            };
            if is_create
                && ctx.project_id.is_none()
                && !mentions_tenant
                && !matches!(other, Value::Number(_) | Value::Bool(_))
            {
                return Err(bad(NO_TENANT));
            }
            return Err(invalid_format(raw));
        }
    };
    let mut res = res;
    if let Some(t) = res.get("tenant_id") {
        let own = ctx
            .project_id
            .as_deref()
            .map(|p| Value::String(p.to_owned()));
        if own.as_ref() != Some(t) && !ctx.is_admin {
            return Err(bad(
                "Specifying 'tenant_id' other than authenticated tenant in request requires admin privileges",
            ));
        }
    }
    if is_create && !res.contains_key("tenant_id") {
        match &ctx.project_id {
            Some(p) => {
                res.insert("tenant_id".into(), Value::String(p.clone()));
            }
            None => return Err(bad(NO_TENANT)),
        }
    }
    // `project_id` is accepted and ignored (excluded from the unknown-attribute check).
    res.shift_remove("project_id");
    let unknown: Vec<&str> = res
        .keys()
        .map(String::as_str)
        .filter(|k| !ATTRS.iter().any(|a| a.name == *k))
        .collect();
    if !unknown.is_empty() {
        return Err(bad(format!(
            "Unrecognized attribute(s) '{}'",
            unknown.join(", ")
        )));
    }
    Ok(res)
}

const NO_TENANT: &str = "Running without keystone AuthN requires that tenant_id is specified";

/// Conversions then validators, in attribute-map order; the first failure wins.
fn validate(res: &mut Map<String, Value>) -> Result<(), VimError> {
    for a in &ATTRS {
        let Some(value) = res.get_mut(a.name) else {
            continue;
        };
        // `extra`: convert_none_to_empty_dict.
        if a.name == "extra" && value.is_null() {
            *value = Value::Object(Map::new());
        }
        if let Some(reason) = check(a.rule, value) {
            return Err(bad(format!(
                "Invalid input for {}. Reason: {reason}.",
                a.name
            )));
        }
    }
    Ok(())
}

fn check(rule: Rule, v: &Value) -> Option<String> {
    let shown = py_str(v);
    match rule {
        Rule::None => None,
        Rule::Uuid => match v {
            Value::String(s) if uuid::Uuid::parse_str(s).is_ok() => None,
            _ => Some(format!("'{shown}' is not a valid UUID")),
        },
        Rule::String(max) => match v {
            Value::String(s) => match max {
                Some(m) if s.chars().count() > m => {
                    Some(format!("'{shown}' exceeds maximum length of {m}"))
                }
                _ => None,
            },
            _ => Some(format!("'{shown}' is not a valid string")),
        },
        Rule::NotEmptyString => match v {
            Value::String(s) if s.trim().is_empty() => {
                Some(format!("'{shown}' Blank strings are not permitted"))
            }
            Value::String(_) => None,
            _ => Some(format!("'{shown}' is not a valid string")),
        },
        Rule::DictNotEmpty => match v {
            Value::Object(o) if !o.is_empty() => None,
            _ => Some(format!(
                "'{shown}' is not a valid dictionary or it is an empty dictionary"
            )),
        },
        Rule::DictOrNoData => match v {
            Value::Object(_) => None,
            other if !truthy(other) => None,
            _ => Some(format!("'{shown}' is not a dictionary")),
        },
        Rule::Boolean => match to_boolean(v) {
            Some(_) => None,
            None => Some(format!("'{shown}' is not a valid boolean value")),
        },
    }
}

/// `attributes.convert_to_boolean`: booleans, the integers 0/1 and the strings
/// "true"/"false"/"1"/"0" in any case.
pub fn to_boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.to_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn take_string(res: &mut Map<String, Value>, key: &str) -> String {
    match res.shift_remove(key) {
        Some(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Validated dicts; a falsy non-dict `extra` (`""`, `0`, `[]`) becomes `{}`.
fn take_dict(res: &mut Map<String, Value>, key: &str) -> Map<String, Value> {
    match res.shift_remove(key) {
        Some(Value::Object(o)) => o,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tacker_common::Identity;

    fn member(project: &str) -> RequestContext {
        RequestContext::from(Identity {
            user_id: Some("u".into()),
            project_id: Some(project.into()),
            roles: vec!["member".into()],
            ..Identity::default()
        })
    }

    fn create(ctx: &RequestContext, body: Value) -> Result<CreateRequest, String> {
        let raw = serde_json::to_vec(&body).unwrap();
        prepare_create(ctx, Some(body), &raw).map_err(|e| e.to_string())
    }

    fn valid() -> Value {
        json!({"vim": {"name": "v", "type": "openstack", "auth_url": "http://k",
            "auth_cred": {"username": "u", "password": "p"}, "vim_project": {"name": "p"}}})
    }

    #[test]
    fn tenant_is_filled_from_the_token() {
        let r = create(&member("p1"), valid()).unwrap();
        assert_eq!(r.tenant_id, "p1");
        assert_eq!(r.description, "");
        assert!(!r.is_default);
        assert!(r.extra.is_empty());
    }

    #[test]
    fn foreign_tenant_needs_admin() {
        let mut b = valid();
        b["vim"]["tenant_id"] = json!("p2");
        assert_eq!(
            create(&member("p1"), b).unwrap_err(),
            "Specifying 'tenant_id' other than authenticated tenant in request requires admin privileges"
        );
    }

    #[test]
    fn project_id_is_ignored() {
        let mut b = valid();
        b["vim"]["project_id"] = json!("whatever");
        assert!(create(&member("p1"), b).is_ok());
    }

    #[test]
    fn null_renders_as_none() {
        let mut b = valid();
        b["vim"]["is_default"] = json!(null);
        assert_eq!(
            create(&member("p1"), b).unwrap_err(),
            "Invalid input for is_default. Reason: 'None' is not a valid boolean value."
        );
    }

    #[test]
    fn boolean_strings_are_parsed() {
        for (v, want) in [("TRUE", true), ("false", false), ("1", true), ("0", false)] {
            let mut b = valid();
            b["vim"]["is_default"] = json!(v);
            assert_eq!(create(&member("p1"), b).unwrap().is_default, want);
        }
    }

    #[test]
    fn update_rejects_read_only_tenant_even_when_own() {
        let raw = br#"{"vim": {"tenant_id": "p1"}}"#;
        let body = serde_json::from_slice(raw).unwrap();
        assert_eq!(
            prepare_update(&member("p1"), Some(body), raw)
                .unwrap_err()
                .to_string(),
            "Cannot update read-only attribute tenant_id"
        );
    }

    #[test]
    fn update_without_body_is_invalid_format() {
        assert_eq!(
            prepare_update(&member("p1"), None, b"")
                .unwrap_err()
                .to_string(),
            "Bad body request: Invalid format: b''"
        );
    }
}
