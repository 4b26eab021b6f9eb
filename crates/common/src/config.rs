//! Raw option sections as read from `tacker.conf` (oslo.config semantics: later files win) or
//! from a PasteDeploy `[filter:*]` section. Library crates turn a `Section` into their typed
//! options and name `origin`, section, option and value in every error.
//!
//! The value conversions every crate shares live here once: [`parse_bool`] (oslo.config
//! `BoolOpt`) and [`Section::bool`].

use indexmap::IndexMap;

/// One option's raw string value and where it came from (a file path, or
/// `api-paste.ini [filter:name]`), for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionValue {
    pub value: String,
    pub origin: String,
}

/// The options of one INI section (e.g. `[ext_oauth2_auth]`), in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub options: IndexMap<String, OptionValue>,
}

impl Section {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            options: IndexMap::new(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&OptionValue> {
        self.options.get(key)
    }

    /// Insert or override `key` (later sources win).
    pub fn set(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
        origin: impl Into<String>,
    ) {
        self.options.insert(
            key.into(),
            OptionValue {
                value: value.into(),
                origin: origin.into(),
            },
        );
    }

    /// An oslo.config `BoolOpt` ([`parse_bool`]): `default` when the option is not set; any
    /// other spelling is refused with oslo's reason, naming origin, section, option and value.
    pub fn bool(&self, key: &str, default: bool) -> Result<bool, BadValue> {
        let Some(v) = self.get(key) else {
            return Ok(default);
        };
        parse_bool(&v.value).ok_or_else(|| BadValue {
            described: self.describe(key, &v.value),
            reason: format!("Unexpected boolean value '{}'", v.value),
        })
    }

    /// `<origin> [<section>] <key> = "<value>"`, the prefix of every bad-value message.
    /// Callers that handle secrets pass a redacted value.
    pub fn describe(&self, key: &str, shown_value: &str) -> String {
        let origin = self
            .get(key)
            .map(|v| v.origin.as_str())
            .unwrap_or("(default)");
        format!("{origin} [{}] {key} = \"{shown_value}\"", self.name)
    }
}

/// oslo.config `types.Boolean`, the type of every `BoolOpt`: `true`/`1`/`on`/`yes` and
/// `false`/`0`/`off`/`no`, in any case; anything else is not a boolean.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "on" | "yes" => Some(true),
        "false" | "0" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// An option value that does not convert to its type: `<origin> [<section>] <key> =
/// "<value>": <reason>`. Crates wrap it into their own error (keeping this text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadValue {
    /// `<origin> [<section>] <key> = "<value>"` ([`Section::describe`]).
    pub described: String,
    /// Why, in oslo.config's words (e.g. `Unexpected boolean value 'maybe'`).
    pub reason: String,
}

impl std::fmt::Display for BadValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.described, self.reason)
    }
}

impl std::error::Error for BadValue {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oslo_bool_spellings() {
        for v in ["True", "true", "1", "on", "ON", "yes", "YES", " yes "] {
            assert_eq!(parse_bool(v), Some(true), "{v}");
        }
        for v in ["False", "false", "0", "off", "Off", "no", "NO"] {
            assert_eq!(parse_bool(v), Some(false), "{v}");
        }
        for v in ["", "t", "f", "y", "n", "2", "maybe", "truee"] {
            assert_eq!(parse_bool(v), None, "{v}");
        }
    }

    #[test]
    fn bool_option_default_and_error_naming_origin_section_option_value() {
        let mut s = Section::new("vim_keys");
        assert_eq!(s.bool("use_barbican", true), Ok(true));
        s.set("use_barbican", "No", "tacker.conf");
        assert_eq!(s.bool("use_barbican", true), Ok(false));
        s.set("use_barbican", "sure", "tacker.conf");
        assert_eq!(
            s.bool("use_barbican", true).unwrap_err().to_string(),
            "tacker.conf [vim_keys] use_barbican = \"sure\": Unexpected boolean value 'sure'"
        );
    }
}
