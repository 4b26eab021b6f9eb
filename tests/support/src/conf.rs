//! `[ext_oauth2_auth]` sections shaped like the operator guide's samples, pointing at the test
//! authorization server; the same text configures `tacker-server` and the keystonemiddleware
//! reference, which is what makes the differential tests meaningful. [`rewrite_ini`] turns the
//! shipped `etc/samples/*.conf` into such configurations option by option.

use crate::authz::{AuthMethod, AuthzServer};
use crate::pki::TestPki;

/// An ordered `[ext_oauth2_auth]` option list; `set`/`remove` build variants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtOAuth2Conf {
    entries: Vec<(String, String)>,
}

impl ExtOAuth2Conf {
    /// Sets (replacing in place) or appends `key = value`.
    pub fn set(mut self, key: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key.to_owned(), value)),
        }
        self
    }

    /// Removes `key` if present.
    pub fn remove(mut self, key: &str) -> Self {
        self.entries.retain(|(k, _)| k != key);
        self
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// All entries in order.
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// The section as INI text, header included.
    pub fn to_section(&self) -> String {
        let mut out = String::from("[ext_oauth2_auth]\n");
        for (k, v) in &self.entries {
            out.push_str(&format!("{k} = {v}\n"));
        }
        out
    }

    /// A whole tacker.conf: `[DEFAULT]` with `default_lines`, then this section.
    pub fn to_conf(&self, default_lines: &str) -> String {
        format!("[DEFAULT]\n{default_lines}\n{}", self.to_section())
    }
}

/// The guide's sample configuration for `method` (its claim mappings, `scope=openstack`,
/// `cafile` = the test CA, `insecure=False`, `thumbprint_verify=False`), using the realm
/// client registered for that method. `tls_client_auth` gets `certfile`/`keyfile` of the
/// test client certificate; the other methods talk plain HTTPS to the authorization server
/// (add `certfile`/`keyfile` with `set` for the guide's mTLS variants).
pub fn ext_oauth2_section(authz: &AuthzServer, method: AuthMethod, pki: &TestPki) -> ExtOAuth2Conf {
    let client = authz.client(method.client_id());
    let mut conf = ExtOAuth2Conf::default()
        .set("use_ext_oauth2_auth", "True")
        .set("token_endpoint", authz.token_endpoint())
        .set("scope", "openstack")
        .set("introspect_endpoint", authz.introspect_endpoint())
        .set("audience", authz.issuer())
        .set("auth_method", method.as_str())
        .set("client_id", &client.client_id);
    match method {
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
            conf = conf.set(
                "client_secret",
                client.client_secret.clone().unwrap_or_default(),
            );
        }
        AuthMethod::PrivateKeyJwt => {
            conf = conf
                .set("jwt_key_file", pki.jwt_key.display().to_string())
                .set("jwt_algorithm", "RS256")
                .set("jwt_bearer_time_out", "7200");
        }
        AuthMethod::ClientSecretJwt => {
            conf = conf
                .set(
                    "client_secret",
                    client.client_secret.clone().unwrap_or_default(),
                )
                .set("jwt_algorithm", "HS512")
                .set("jwt_bearer_time_out", "7200");
        }
        AuthMethod::TlsClientAuth => {
            conf = conf
                .set("certfile", pki.client.cert.display().to_string())
                .set("keyfile", pki.client.key.display().to_string());
        }
    }
    conf.set("cafile", pki.ca.cert.display().to_string())
        .set("insecure", "False")
        .set("thumbprint_verify", "False")
        .set("http_connect_timeout", "5")
        .set("mapping_project_id", "project.id")
        .set("mapping_project_name", "project.name")
        .set("mapping_project_domain_id", "project.domain.id")
        .set("mapping_project_domain_name", "project.domain.name")
        .set("mapping_user_id", "user.id")
        .set("mapping_user_name", "user.name")
        .set("mapping_user_domain_id", "user.domain.id")
        .set("mapping_user_domain_name", "user.domain.name")
        .set("mapping_roles", "user.roles")
}

/// What [`rewrite_ini`] does with one option line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IniEdit {
    Keep,
    /// `key=value` with this value instead.
    Set(String),
    /// The line is dropped (e.g. so that `TackerOptions` fills in its own default).
    Remove,
}

/// `text` with every `key = value` (or `key=value`) line of every section passed to
/// `edit(section, key, value)`; section headers, comments and blank lines are kept as written.
/// Options before the first header belong to `DEFAULT`.
pub fn rewrite_ini(text: &str, mut edit: impl FnMut(&str, &str, &str) -> IniEdit) -> String {
    let mut section = String::from("DEFAULT");
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            section = name.trim().to_owned();
        } else if !t.is_empty() && !t.starts_with('#') && !t.starts_with(';') {
            if let Some((k, v)) = t.split_once('=') {
                match edit(&section, k.trim(), v.trim()) {
                    IniEdit::Keep => {}
                    IniEdit::Set(value) => {
                        out.push_str(&format!("{}={value}\n", k.trim()));
                        continue;
                    }
                    IniEdit::Remove => continue,
                }
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrite_ini_edits_options_by_section_and_keeps_the_rest() {
        let text = "# c = not an option\n[DEFAULT]\na=1\n\n[x]\na = 2\nb=3\n";
        let out = rewrite_ini(text, |section, key, value| match (section, key) {
            ("x", "a") => IniEdit::Set(format!("{value}0")),
            ("x", "b") => IniEdit::Remove,
            _ => IniEdit::Keep,
        });
        assert_eq!(out, "# c = not an option\n[DEFAULT]\na=1\n\n[x]\na=20\n");
    }
}
