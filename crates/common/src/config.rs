//! Raw option sections as read from `tacker.conf` (oslo.config semantics: later files win) or
//! from a PasteDeploy `[filter:*]` section. Library crates turn a `Section` into their typed
//! options and name `origin`, section, option and value in every error.

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
