//! The options of the `external_oauth2_token` filter: `[ext_oauth2_auth]` of tacker.conf,
//! overridden by the keys of the paste `[filter:external_oauth2_token]` section
//! (keystonemiddleware `_common/config.Config`: paste local_conf wins).
//!
//! tacker.conf's section is converted once, when the configuration is loaded
//! ([`ExtOAuth2Options::from_conf`]); each paste filter section then overrides it
//! ([`ExtOAuth2Options::with_paste`]).

use secrecy::SecretString;
use tacker_common::config::Section;
use tacker_oauth2_client::options::{
    convert_error, read_bool, read_int, read_int_keep_zero, read_list, read_str,
    CLIENT_OPTION_NAMES,
};
use tacker_oauth2_client::ClientOptions;

use crate::AuthError;

/// `memcache_security_strategy` (choices `None`/`MAC`/`ENCRYPT`, case-insensitive), as the
/// protection upstream applies: `_memcache_crypt.protect_data` encrypts only for the exact
/// text `ENCRYPT`, so `encrypt` or `Encrypt` is [`SecurityStrategy::Mac`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityStrategy {
    Mac,
    Encrypt,
}

/// Claim paths (`mapping_*`): a claim name, or a dotted path into nested objects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MappingOptions {
    /// `mapping_project_id` (optional; absent or falsy claim = domain scope).
    pub project_id: Option<String>,
    /// `mapping_project_name` (required for project scope).
    pub project_name: Option<String>,
    /// `mapping_project_domain_id` (project scope; domain id for domain scope).
    pub project_domain_id: Option<String>,
    /// `mapping_project_domain_name`.
    pub project_domain_name: Option<String>,
    /// `mapping_user_id` (default `client_id`).
    pub user_id: Option<String>,
    /// `mapping_user_name` (default `username`).
    pub user_name: Option<String>,
    /// `mapping_user_domain_id` (required, no default).
    pub user_domain_id: Option<String>,
    /// `mapping_user_domain_name` (required, no default).
    pub user_domain_name: Option<String>,
    /// `mapping_roles` (required): a comma-separated string or a JSON list of strings.
    pub roles: Option<String>,
    /// `mapping_system_scope` (optional): a JSON boolean claim.
    pub system_scope: Option<String>,
    /// `mapping_expires_at` (optional): a JSON integer claim.
    pub expires_at: Option<String>,
}

/// Every option of the filter, converted. `Debug` redacts the secrets.
#[derive(Clone, Debug)]
pub struct ExtOAuth2Options {
    /// Where the values came from, for messages naming file, section and option.
    sources: Sources,
    /// Connection and client authentication (`certfile` ... `jwt_bearer_time_out`).
    pub client: ClientOptions,
    /// `introspect_endpoint` (str, required): RFC 7662 endpoint.
    pub introspect_endpoint: Option<String>,
    /// `thumbprint_verify` (bool, default false): RFC 8705 certificate-bound tokens.
    pub thumbprint_verify: bool,
    pub mapping: MappingOptions,
    /// `memcached_servers` (list, deprecated name `memcache_servers`): the shared token cache
    /// (`host:port`, `inet:host:port`, `inet6:[addr]:port`, as python-memcached parses them).
    pub memcached_servers: Vec<String>,
    /// `token_cache_time` (int seconds, default 300): -1 disables the cache, 0 caches up to
    /// the token's `exp`.
    pub token_cache_time: i64,
    /// `memcache_security_strategy` (default `None`).
    pub memcache_security_strategy: Option<SecurityStrategy>,
    /// `memcache_security_strategy` as typed (not `None`): upstream derives the cache keys
    /// from this text, so `MAC` and `mac` name different entries.
    pub memcache_security_strategy_as_typed: Option<String>,
    /// `memcache_secret_key` (secret): required with a strategy.
    pub memcache_secret_key: Option<SecretString>,
    /// `memcache_pool_dead_retry` (int, default 300).
    pub memcache_pool_dead_retry: Option<i64>,
    /// `memcache_pool_maxsize` (int, default 10).
    pub memcache_pool_maxsize: Option<i64>,
    /// `memcache_pool_socket_timeout` (int, default 3).
    pub memcache_pool_socket_timeout: Option<i64>,
    /// `memcache_pool_unused_timeout` (int, default 60).
    pub memcache_pool_unused_timeout: Option<i64>,
    /// `memcache_pool_conn_get_timeout` (int, default 10).
    pub memcache_pool_conn_get_timeout: Option<i64>,
    /// `memcache_use_advanced_pool` (bool, default true).
    pub memcache_use_advanced_pool: bool,
}

const FILTER_OPTION_NAMES: [&str; 25] = [
    "introspect_endpoint",
    "thumbprint_verify",
    "mapping_project_id",
    "mapping_project_name",
    "mapping_project_domain_id",
    "mapping_project_domain_name",
    "mapping_user_id",
    "mapping_user_name",
    "mapping_user_domain_id",
    "mapping_user_domain_name",
    "mapping_roles",
    "mapping_system_scope",
    "mapping_expires_at",
    "memcached_servers",
    "token_cache_time",
    "memcache_security_strategy",
    "memcache_secret_key",
    "memcache_pool_dead_retry",
    "memcache_pool_maxsize",
    "memcache_pool_socket_timeout",
    "memcache_pool_unused_timeout",
    "memcache_pool_conn_get_timeout",
    "memcache_use_advanced_pool",
    // keystoneauth's common options, registered but never used upstream.
    "auth_type",
    "auth_section",
];

/// Paste keys that are not options (PasteDeploy and keystonemiddleware's special keys).
const PASTE_SPECIAL_KEYS: [&str; 10] = [
    "here",
    "__file__",
    "configkey",
    "oslo_config_project",
    "oslo_config_file",
    "oslo_config_config",
    "log_name",
    "paste.filter_factory",
    "use",
    "auth_plugin",
];

/// `paste` over `conf`, with the deprecated name `memcache_servers` read as
/// `memcached_servers` (the new name wins when both are set).
fn merge(conf: &Section, paste: &Section) -> Section {
    let mut merged = conf.clone();
    let paste_has_new_name = paste.get("memcached_servers").is_some();
    for (key, value) in &paste.options {
        let key = match key.as_str() {
            // Whatever the order of the two lines, the new name wins.
            "memcache_servers" if paste_has_new_name => continue,
            "memcache_servers" => "memcached_servers",
            key => key,
        };
        merged.options.insert(key.to_owned(), value.clone());
    }
    if paste.get("memcached_servers").is_none() && conf.get("memcached_servers").is_none() {
        if let Some(v) = conf.get("memcache_servers") {
            merged.options.insert("memcached_servers".into(), v.clone());
        }
    }
    merged
}

/// Whether `key` is an option (or special paste key) the `external_oauth2_token` filter reads,
/// for tools that report unknown options (`tacker-server check-config`).
pub fn is_filter_option(key: &str) -> bool {
    is_known(key)
}

fn is_known(key: &str) -> bool {
    CLIENT_OPTION_NAMES.contains(&key)
        || FILTER_OPTION_NAMES.contains(&key)
        || PASTE_SPECIAL_KEYS.contains(&key)
        || key == "memcache_servers"
}

/// The raw sections the options were converted from: tacker.conf's `[ext_oauth2_auth]` and
/// the paste filter's keys. `Debug` shows option names only (values may be secrets).
#[derive(Clone, Default)]
struct Sources {
    conf: Section,
    paste: Section,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("conf", &self.conf.options.keys().collect::<Vec<_>>())
            .field("paste", &self.paste.options.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ExtOAuth2Options {
    /// Convert tacker.conf's `[ext_oauth2_auth]` (at configuration load: a bad value stops
    /// start-up). Presence of required options is checked when the filter is built, after
    /// the paste section had its say.
    pub fn from_conf(conf: &Section) -> Result<Self, AuthError> {
        let mut options = Self::convert(&merge(conf, &Section::default()))?;
        options.sources.conf = conf.clone();
        Ok(options)
    }

    /// These options with the keys of a paste `[filter:...]` section winning (the first
    /// construction step upstream). Unknown paste keys are warned about; conversion errors
    /// are fatal and name the paste section.
    pub fn with_paste(&self, paste: &Section) -> Result<Self, AuthError> {
        if paste.options.is_empty() {
            return Ok(self.clone());
        }
        for key in paste.options.keys().filter(|k| !is_known(k)) {
            tracing::warn!("The option \"{key}\" is not known to keystonemiddleware");
        }
        // Convert the paste keys on their own first, so a bad value is reported with the paste
        // section's name and origin rather than tacker.conf's.
        Self::convert(paste)?;
        let conf = &self.sources.conf;
        let mut options = Self::convert(&merge(conf, paste))?;
        options.sources = Sources {
            conf: conf.clone(),
            paste: paste.clone(),
        };
        Ok(options)
    }

    /// tacker.conf's `conf` with the paste section's `paste` winning, in one step.
    pub fn load(conf: &Section, paste: &Section) -> Result<Self, AuthError> {
        Self::from_conf(conf)?.with_paste(paste)
    }

    /// `<origin> [<section>] <key> = "<shown>"` of the section `key` came from (the paste
    /// section when it sets `key`), naming the deprecated `memcache_servers` when that is the
    /// spelling the operator wrote.
    pub fn describe(&self, key: &str, shown: &str) -> String {
        let key = match key {
            "memcached_servers"
                if self.sources.paste.get(key).is_none()
                    && self.sources.conf.get(key).is_none() =>
            {
                "memcache_servers"
            }
            other => other,
        };
        if self.sources.paste.get(key).is_some() {
            self.sources.paste.describe(key, shown)
        } else {
            self.sources.conf.describe(key, shown)
        }
    }

    fn convert(s: &Section) -> Result<Self, AuthError> {
        let strategy = match s.get("memcache_security_strategy") {
            None => None,
            Some(v) => match v.value.trim().to_ascii_lowercase().as_str() {
                "none" => None,
                "mac" => Some(SecurityStrategy::Mac),
                "encrypt" if v.value.trim() == "ENCRYPT" => Some(SecurityStrategy::Encrypt),
                "encrypt" => Some(SecurityStrategy::Mac),
                _ => {
                    return Err(convert_error(
                        s,
                        "memcache_security_strategy",
                        &v.value,
                        &format!(
                            "Valid values are [None, MAC, ENCRYPT], but found '{}'",
                            v.value
                        ),
                    )
                    .into())
                }
            },
        };
        let m = |key: &str| read_str(s, key);
        let with_default = |key: &str, default: &str| match s.get(key) {
            None => Some(default.to_owned()),
            Some(_) => read_str(s, key),
        };
        let int = |key: &str, default: i64| read_int(s, key, Some(default));
        Ok(Self {
            sources: Sources::default(),
            client: ClientOptions::from_section(s)?,
            introspect_endpoint: m("introspect_endpoint"),
            thumbprint_verify: read_bool(s, "thumbprint_verify", false)?,
            mapping: MappingOptions {
                project_id: m("mapping_project_id"),
                project_name: m("mapping_project_name"),
                project_domain_id: m("mapping_project_domain_id"),
                project_domain_name: m("mapping_project_domain_name"),
                user_id: with_default("mapping_user_id", "client_id"),
                user_name: with_default("mapping_user_name", "username"),
                user_domain_id: m("mapping_user_domain_id"),
                user_domain_name: m("mapping_user_domain_name"),
                roles: m("mapping_roles"),
                system_scope: m("mapping_system_scope"),
                expires_at: m("mapping_expires_at"),
            },
            memcached_servers: read_list(s, "memcached_servers"),
            token_cache_time: read_int_keep_zero(s, "token_cache_time", 300)?,
            memcache_security_strategy: strategy,
            memcache_security_strategy_as_typed: strategy
                .and(s.get("memcache_security_strategy"))
                .map(|v| v.value.trim().to_owned()),
            memcache_secret_key: m("memcache_secret_key").map(SecretString::from),
            memcache_pool_dead_retry: int("memcache_pool_dead_retry", 300)?,
            memcache_pool_maxsize: int("memcache_pool_maxsize", 10)?,
            memcache_pool_socket_timeout: int("memcache_pool_socket_timeout", 3)?,
            memcache_pool_unused_timeout: int("memcache_pool_unused_timeout", 60)?,
            memcache_pool_conn_get_timeout: int("memcache_pool_conn_get_timeout", 10)?,
            memcache_use_advanced_pool: read_bool(s, "memcache_use_advanced_pool", true)?,
        })
    }

    /// Upstream's "not set" error for `key` of this group.
    pub(crate) fn not_set(&self, key: &str) -> AuthError {
        self.client.not_set(key).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(name: &str, options: &[(&str, &str)]) -> Section {
        let mut s = Section::new(name);
        for (k, v) in options {
            s.set(*k, *v, "test.conf");
        }
        s
    }

    fn servers(conf: &[(&str, &str)], paste: &[(&str, &str)]) -> Option<String> {
        merge(
            &section("ext_oauth2_auth", conf),
            &section("filter:external_oauth2_token", paste),
        )
        .get("memcached_servers")
        .map(|v| v.value.clone())
    }

    #[test]
    fn the_new_memcached_servers_name_wins_over_the_deprecated_one() {
        let new = ("memcached_servers", "127.0.0.1:11211");
        let old = ("memcache_servers", "127.0.0.1:11311");
        let want = Some("127.0.0.1:11211".to_owned());
        // Both in one section, in either order.
        assert_eq!(servers(&[], &[new, old]), want);
        assert_eq!(servers(&[], &[old, new]), want);
        assert_eq!(servers(&[new, old], &[]), want);
        assert_eq!(servers(&[old, new], &[]), want);
        // Only the deprecated name: it is used.
        assert_eq!(servers(&[old], &[]), Some("127.0.0.1:11311".to_owned()));
        assert_eq!(servers(&[], &[old]), Some("127.0.0.1:11311".to_owned()));
        // The filter section over the config file, as for every option.
        assert_eq!(servers(&[new], &[old]), Some("127.0.0.1:11311".to_owned()));
    }
}
