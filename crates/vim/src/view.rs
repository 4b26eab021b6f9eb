//! The VIM object as every operation returns it (spec §2.3): key order, masking of
//! `auth_cred`, timestamps, constant `status`, `shared` never shown, and `fields`.
//!
//! [`VimView`] writes the typed row straight to the serializer (no `serde_json::Value` tree
//! per VIM, secrets masked on the way out); [`VimList`] is `{"vims": [...]}` the same way.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

use crate::mask::{MaskedValue, SECRET};
use crate::model::{write_timestamp, Vim, TIMESTAMP_MAX};

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
#[derive(Clone, Copy)]
pub struct VimView<'a> {
    pub vim: &'a Vim,
    pub fields: Option<&'a [String]>,
}

impl<'a> VimView<'a> {
    pub fn new(vim: &'a Vim, fields: Option<&'a [String]>) -> Self {
        Self { vim, fields }
    }

    fn shows(&self, key: &str) -> bool {
        self.fields.is_none_or(|f| f.iter().any(|x| x == key))
    }
}

impl Serialize for VimView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let vim = self.vim;
        let mut map = serializer.serialize_map(None)?;
        for key in VIEW_KEYS {
            if !self.shows(key) {
                continue;
            }
            match key {
                "id" => map.serialize_entry(key, &vim.id)?,
                "type" => map.serialize_entry(key, &vim.vim_type)?,
                "tenant_id" => map.serialize_entry(key, &vim.tenant_id)?,
                "name" => map.serialize_entry(key, &vim.name)?,
                "description" => map.serialize_entry(key, &vim.description)?,
                "placement_attr" => map.serialize_entry(key, &vim.placement_attr)?,
                "is_default" => map.serialize_entry(key, &vim.is_default)?,
                "created_at" => map.serialize_entry(key, &Timestamp(&vim.created_at))?,
                "updated_at" => {
                    map.serialize_entry(key, &vim.updated_at.as_ref().map(Timestamp))?
                }
                "extra" => map.serialize_entry(key, &vim.extra)?,
                "auth_url" => map.serialize_entry(key, &vim.auth_url)?,
                "vim_project" => map.serialize_entry(key, &vim.vim_project)?,
                "auth_cred" => map.serialize_entry(key, &ShownAuthCred(vim))?,
                _ => map.serialize_entry(key, "ACTIVE")?,
            }
        }
        map.end()
    }
}

/// `{"vim": {...}}`: the body of show, create and update.
pub struct OneVim<'a>(pub VimView<'a>);

impl Serialize for OneVim<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("vim", &self.0)?;
        map.end()
    }
}

/// `{"vims": [...]}`: the list body, each VIM a [`VimView`].
pub struct VimList<'a, I> {
    vims: I,
    fields: Option<&'a [String]>,
}

impl<'a, I> VimList<'a, I>
where
    I: Iterator<Item = &'a Vim> + Clone,
{
    pub fn new(vims: I, fields: Option<&'a [String]>) -> Self {
        Self { vims, fields }
    }
}

impl<'a, I> Serialize for VimList<'a, I>
where
    I: Iterator<Item = &'a Vim> + Clone,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Items<'s, 'a, I>(&'s VimList<'a, I>);
        impl<'a, I> Serialize for Items<'_, 'a, I>
        where
            I: Iterator<Item = &'a Vim> + Clone,
        {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(None)?;
                for vim in self.0.vims.clone() {
                    seq.serialize_element(&VimView::new(vim, self.0.fields))?;
                }
                seq.end()
            }
        }
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("vims", &Items(self))?;
        map.end()
    }
}

/// A stored timestamp as upstream shows it (`str(datetime)`).
struct Timestamp<'a>(&'a chrono::NaiveDateTime);

impl Serialize for Timestamp<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; TIMESTAMP_MAX];
        let len = write_timestamp(self.0, &mut buf);
        // Only ASCII digits and separators were written.
        serializer.serialize_str(std::str::from_utf8(&buf[..len]).unwrap_or_default())
    }
}

/// Tacker's `_make_vim_dict`: the stored `auth_cred` plus `password` (appended last, or in
/// place when `auth_cred` holds one, when the column is set), masked with
/// `mask_dict_password`; `oidc_token_url` is renamed to `oidc_x_url` while masking (it
/// contains `token`) and put back afterwards, which moves it to the end; a stored
/// `oidc_x_url` is overwritten by it, or else comes out as `oidc_token_url` too.
struct ShownAuthCred<'a>(&'a Vim);

impl Serialize for ShownAuthCred<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        const TEMP: &str = "oidc_x_url";
        let cred: &Map<String, Value> = &self.0.auth_cred;
        // Upstream: `if vim_auth_db[0].password:` (an empty string is not shown either).
        let password = self.0.password.as_ref().is_some_and(|p| !p.is_empty());
        // Upstream puts back whatever is under the temporary name, a stored `oidc_x_url`
        // included.
        let oidc = cred.get("oidc_token_url").or_else(|| cred.get(TEMP));
        let mut map = serializer.serialize_map(None)?;
        for (k, v) in cred {
            match k.as_str() {
                "oidc_token_url" | TEMP => continue,
                // Any value under `password` is masked whole.
                "password" if password => map.serialize_entry(k, SECRET)?,
                _ => map.serialize_entry(k, &MaskedValue(k, v))?,
            }
        }
        if password && !cred.contains_key("password") {
            map.serialize_entry("password", SECRET)?;
        }
        if let Some(url) = oidc {
            map.serialize_entry("oidc_token_url", &MaskedValue(TEMP, url))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::mask_auth_cred;
    use crate::model::format_timestamp;
    use proptest::prelude::*;
    use serde_json::json;
    use tacker_common::to_py_json;

    /// The view as a `serde_json::Value` tree, built step by step as upstream builds its dict:
    /// the oracle [`VimView`] must write byte for byte.
    fn tree_view(vim: &Vim, fields: Option<&[String]>) -> Map<String, Value> {
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
                "auth_cred" => {
                    let mut cred = vim.auth_cred.clone();
                    if let Some(pw) = vim.password.as_ref().filter(|p| !p.is_empty()) {
                        cred.insert("password".to_owned(), Value::String(pw.clone()));
                    }
                    Value::Object(mask_auth_cred(&cred))
                }
                _ => Value::String("ACTIVE".to_owned()),
            };
            out.insert(key.to_owned(), value);
        }
        out
    }

    fn vim(auth_cred: Value, password: Option<&str>) -> Vim {
        let ts = |s| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap();
        Vim {
            id: "6261579e-d6f3-49ad-8bc3-a9cb974778ff".into(),
            vim_type: "openstack".into(),
            tenant_id: "t\u{e9}nant".into(),
            name: "VIM0".into(),
            description: "d \"q\" \u{1f600}".into(),
            placement_attr: Some(json!({"regions": ["RegionOne"]})),
            shared: false,
            is_default: true,
            created_at: ts("2026-11-29 15:51:07.139986"),
            updated_at: Some(ts("2026-11-29 15:51:08")),
            deleted_at: None,
            extra: serde_json::from_value(json!({"area": "x", "n": 1.5})).unwrap(),
            auth_url: "http://127.0.0.1:5000/v3".into(),
            vim_project: serde_json::from_value(
                json!({"name": "nfv", "project_domain_name": "Default"}),
            )
            .unwrap(),
            auth_cred: serde_json::from_value(auth_cred).unwrap(),
            password: password.map(str::to_owned),
        }
    }

    #[test]
    fn streamed_view_is_the_tree_view_byte_for_byte() {
        let creds = [
            json!({"username": "nfv_user", "user_domain_name": "Default", "cert_verify": "True",
                   "project_id": null, "key_type": "barbican_key", "secret_uuid": "***"}),
            json!({"bearer_token": "gAAAA", "oidc_token_url": "https://idp/token?password=x",
                   "client_secret": "s", "note": "password=abc def", "nested": {"token": 5}}),
            json!({"oidc_x_url": "kept?", "oidc_token_url": "u", "password": {"a": "b"}}),
            json!({"oidc_x_url": "renamed", "username": "u"}),
            json!({"password": "stored", "username": "u"}),
            json!({}),
        ];
        for cred in creds {
            for password in [None, Some(""), Some("gAAAA-pw")] {
                let v = vim(cred.clone(), password);
                for fields in [
                    None,
                    Some(vec![
                        "name".to_owned(),
                        "auth_cred".to_owned(),
                        "shared".to_owned(),
                    ]),
                    Some(vec![]),
                ] {
                    let fields = fields.as_deref();
                    assert_eq!(
                        to_py_json(&VimView::new(&v, fields)),
                        to_py_json(&tree_view(&v, fields)),
                        "{cred} {password:?} {fields:?}"
                    );
                }
                let list = [v.clone(), v.clone()];
                assert_eq!(
                    to_py_json(&VimList::new(list.iter(), None)),
                    to_py_json(&json!({"vims": [tree_view(&v, None), tree_view(&v, None)]}))
                );
            }
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            Just("password".to_owned()),
            Just("oidc_token_url".to_owned()),
            Just("oidc_x_url".to_owned()),
            Just("bearer_Token".to_owned()),
            "[a-zA-Z_\u{212a}]{0,8}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|n| json!(n)),
            "(password|token|secret)?[ =:'\"a-zA-Z\u{212a}\u{e9}-]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                proptest::collection::vec((key.clone(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn streamed_auth_cred_matches_the_tree_for_any_credentials(
            cred in json_value(),
            password in proptest::option::of("[a-z]{0,3}"),
        ) {
            let Value::Object(_) = cred else { return Ok(()) };
            let v = vim(cred, password.as_deref());
            prop_assert_eq!(
                to_py_json(&VimView::new(&v, None)),
                to_py_json(&tree_view(&v, None))
            );
        }
    }
}
