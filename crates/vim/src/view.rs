//! The VIM object as every operation returns it (spec §2.3): key order, masking of
//! `auth_cred`, timestamps, constant `status`, `shared` never shown, and `fields`.

use serde_json::{Map, Value};

use crate::mask::mask_auth_cred;
use crate::model::{format_timestamp, Vim};

/// Key order as upstream emits it.
pub const VIEW_KEYS: [&str; 14] = [
    "id",
    "type",
    "tenant_id",
    "name",
    "description",
    "placement_attr",
    "is_default",
    "created_at",
    "updated_at",
    "extra",
    "auth_url",
    "vim_project",
    "auth_cred",
    "status",
];

/// The masked VIM object; with `fields`, only the requested keys in canonical order
/// (unknown names, and the invisible `shared`, contribute nothing).
pub fn vim_view(vim: &Vim, fields: Option<&[String]>) -> Map<String, Value> {
    let mut out = Map::new();
    for key in VIEW_KEYS {
        if let Some(f) = fields {
            if !f.iter().any(|x| x == key) {
                continue;
            }
        }
        let value = match key {
            "id" => Value::String(vim.id.clone()),
            "type" => Value::String(vim.vim_type.clone()),
            "tenant_id" => Value::String(vim.tenant_id.clone()),
            "name" => Value::String(vim.name.clone()),
            "description" => Value::String(vim.description.clone()),
            "placement_attr" => vim.placement_attr.clone().unwrap_or(Value::Null),
            "is_default" => Value::Bool(vim.is_default),
            "created_at" => Value::String(format_timestamp(&vim.created_at)),
            "updated_at" => vim
                .updated_at
                .as_ref()
                .map(|t| Value::String(format_timestamp(t)))
                .unwrap_or(Value::Null),
            "extra" => Value::Object(vim.extra.clone()),
            "auth_url" => Value::String(vim.auth_url.clone()),
            "vim_project" => Value::Object(vim.vim_project.clone()),
            "auth_cred" => Value::Object(shown_auth_cred(vim)),
            _ => Value::String("ACTIVE".to_owned()),
        };
        out.insert(key.to_owned(), value);
    }
    out
}

/// The stored `auth_cred` plus `password` (appended last when the column is set), masked.
fn shown_auth_cred(vim: &Vim) -> Map<String, Value> {
    let mut cred = vim.auth_cred.clone();
    // Upstream: `if vim_auth_db[0].password:` (an empty string is not shown either).
    if let Some(pw) = vim.password.as_ref().filter(|p| !p.is_empty()) {
        cred.insert("password".to_owned(), Value::String(pw.clone()));
    }
    mask_auth_cred(&cred)
}
