//! `[ext_oauth2_auth]` options that say how to reach and authenticate to the authorization
//! server, and the oslo.config-style value conversions shared with `tacker-auth`.
//!
//! keystonemiddleware reads every option through `_get_config_option`, where any falsy value
//! (`None`, `''`, `0`, `False`) counts as "not set"; the readers here return `None` for those.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use tacker_common::config::Section;

use crate::ClientError;

/// `auth_method`: how this service authenticates to the authorization server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// RFC 6749 §2.3.1 HTTP Basic (`client_id:client_secret`, not form-encoded, as upstream).
    ClientSecretBasic,
    /// RFC 6749 §2.3.1 `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// RFC 8705 §2.1 mutual TLS with `certfile`/`keyfile`; `client_id` in the form body.
    TlsClientAuth,
    /// RFC 7523 assertion signed with the private key in `jwt_key_file`.
    PrivateKeyJwt,
    /// RFC 7523 assertion signed (HMAC) with `client_secret`.
    ClientSecretJwt,
}

impl AuthMethod {
    pub const CHOICES: [&'static str; 5] = [
        "client_secret_basic",
        "client_secret_post",
        "tls_client_auth",
        "private_key_jwt",
        "client_secret_jwt",
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::TlsClientAuth => "tls_client_auth",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::ClientSecretJwt => "client_secret_jwt",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "client_secret_basic" => Self::ClientSecretBasic,
            "client_secret_post" => Self::ClientSecretPost,
            "tls_client_auth" => Self::TlsClientAuth,
            "private_key_jwt" => Self::PrivateKeyJwt,
            "client_secret_jwt" => Self::ClientSecretJwt,
            _ => return None,
        })
    }
}

/// Connection and client-authentication options of `[ext_oauth2_auth]`, converted but not yet
/// checked for presence (upstream checks presence later, in a fixed order; see
/// [`crate::ClientAuthenticator::new`]).
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Section name, for "not set" messages (`ext_oauth2_auth`).
    pub group: String,
    /// `certfile` (str, default unset): client certificate for mTLS to the AS; a combined
    /// cert+key PEM when `keyfile` is unset.
    pub certfile: Option<PathBuf>,
    /// `keyfile` (str, default unset): private key of `certfile`; ignored without it.
    pub keyfile: Option<PathBuf>,
    /// `cafile` (str, default unset = system roots): CA bundle to verify the AS.
    pub cafile: Option<PathBuf>,
    /// `insecure` (bool, default false): true disables TLS verification of the AS.
    pub insecure: bool,
    /// `http_connect_timeout` (int seconds, default unset = no timeout): bounds each call.
    pub http_connect_timeout: Option<Duration>,
    /// `audience` (str): `aud` of client assertions, and the `WWW-Authenticate` uri.
    pub audience: Option<String>,
    /// `auth_method` (choice, default `client_secret_basic`).
    pub auth_method: AuthMethod,
    /// `client_id` (str): this service's client id at the AS.
    pub client_id: Option<String>,
    /// `client_secret` (str, secret): for the basic, post and secret-JWT methods.
    pub client_secret: Option<SecretString>,
    /// `jwt_key_file` (str): PEM private key for `private_key_jwt`.
    pub jwt_key_file: Option<PathBuf>,
    /// `jwt_algorithm` (str): JWS `alg` of client assertions (`HS256`, `RS256`, ...).
    pub jwt_algorithm: Option<String>,
    /// `jwt_bearer_time_out` (int seconds, default 3600): assertion lifetime.
    pub jwt_bearer_time_out: Option<u64>,
}

/// The option names this module reads.
pub const CLIENT_OPTION_NAMES: [&str; 12] = [
    "certfile",
    "keyfile",
    "cafile",
    "insecure",
    "http_connect_timeout",
    "audience",
    "auth_method",
    "client_id",
    "client_secret",
    "jwt_key_file",
    "jwt_algorithm",
    "jwt_bearer_time_out",
];

impl ClientOptions {
    /// Convert the options of `section` (already merged: paste keys over tacker.conf).
    /// Only conversion errors are reported here, with upstream's
    /// `Unable to convert the value of option ...` text prefixed by file, section and value.
    pub fn from_section(section: &Section) -> Result<Self, ClientError> {
        let auth_method = match section.get("auth_method") {
            None => AuthMethod::ClientSecretBasic,
            Some(v) => AuthMethod::parse(v.value.trim()).ok_or_else(|| {
                convert_error(
                    section,
                    "auth_method",
                    &v.value,
                    &format!(
                        "Valid values are [{}], but found '{}'",
                        AuthMethod::CHOICES.join(", "),
                        v.value
                    ),
                )
            })?,
        };
        Ok(Self {
            group: section.name.clone(),
            certfile: read_str(section, "certfile").map(PathBuf::from),
            keyfile: read_str(section, "keyfile").map(PathBuf::from),
            cafile: read_str(section, "cafile").map(PathBuf::from),
            insecure: read_bool(section, "insecure", false)?,
            http_connect_timeout: read_int(section, "http_connect_timeout", None)?
                .map(|s| non_negative(section, "http_connect_timeout", s))
                .transpose()?
                .map(Duration::from_secs),
            audience: read_str(section, "audience"),
            auth_method,
            client_id: read_str(section, "client_id"),
            client_secret: read_str(section, "client_secret").map(SecretString::from),
            jwt_key_file: read_str(section, "jwt_key_file").map(PathBuf::from),
            jwt_algorithm: read_str(section, "jwt_algorithm"),
            jwt_bearer_time_out: read_int(section, "jwt_bearer_time_out", Some(3600))?
                .map(|s| non_negative(section, "jwt_bearer_time_out", s))
                .transpose()?,
        })
    }

    /// Upstream's `Configuration error. The parameter is not set for "<key>" in group [...]`.
    pub fn not_set(&self, key: &str) -> ClientError {
        ClientError::Config(not_set_message(key, &self.group))
    }
}

fn non_negative(section: &Section, key: &str, value: i64) -> Result<u64, ClientError> {
    u64::try_from(value).map_err(|_| {
        convert_error(
            section,
            key,
            &value.to_string(),
            "must be a non-negative number of seconds",
        )
    })
}

/// `Configuration error. The parameter is not set for "<key>" in group [<group>].`
pub fn not_set_message(key: &str, group: &str) -> String {
    format!("Configuration error. The parameter is not set for \"{key}\" in group [{group}].")
}

/// `<origin> [<section>] <key> = "<value>": Unable to convert the value of option "<key>"
/// into correct type: <detail>` (upstream's text after the location prefix).
pub fn convert_error(section: &Section, key: &str, shown: &str, detail: &str) -> ClientError {
    ClientError::Config(format!(
        "{}: Unable to convert the value of option \"{key}\" into correct type: {detail}",
        section.describe(key, shown)
    ))
}

/// A string option; empty means unset ("falsy means unset").
pub fn read_str(section: &Section, key: &str) -> Option<String> {
    section
        .get(key)
        .map(|v| v.value.clone())
        .filter(|v| !v.is_empty())
}

/// An oslo.config `BoolOpt` ([`Section::bool`]), its error in keystonemiddleware's words.
pub fn read_bool(section: &Section, key: &str, default: bool) -> Result<bool, ClientError> {
    section.bool(key, default).map_err(|bad| {
        ClientError::Config(format!(
            "{}: Unable to convert the value of option \"{key}\" into correct type: {}",
            bad.described, bad.reason
        ))
    })
}

/// An oslo.config int (Python `int()`); `0` counts as unset, as every upstream read does.
pub fn read_int(
    section: &Section,
    key: &str,
    default: Option<i64>,
) -> Result<Option<i64>, ClientError> {
    let value = match section.get(key) {
        None => default,
        Some(v) if v.value.trim().is_empty() => None,
        Some(v) => Some(v.value.trim().parse::<i64>().map_err(|_| {
            convert_error(
                section,
                key,
                &v.value,
                &format!("invalid literal for int() with base 10: '{}'", v.value),
            )
        })?),
    };
    Ok(value.filter(|n| *n != 0))
}

/// Like [`read_int`] but keeps `0` (for options where 0 has a meaning, e.g. `token_cache_time`).
pub fn read_int_keep_zero(section: &Section, key: &str, default: i64) -> Result<i64, ClientError> {
    match section.get(key) {
        None => Ok(default),
        Some(v) => v.value.trim().parse::<i64>().map_err(|_| {
            convert_error(
                section,
                key,
                &v.value,
                &format!("invalid literal for int() with base 10: '{}'", v.value),
            )
        }),
    }
}

/// An oslo.config list: comma-separated, items trimmed, empty items dropped.
pub fn read_list(section: &Section, key: &str) -> Vec<String> {
    section
        .get(key)
        .map(|v| {
            v.value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn section(pairs: &[(&str, &str)]) -> Section {
        let mut s = Section::new("ext_oauth2_auth");
        for (k, v) in pairs {
            s.set(*k, *v, "tacker.conf");
        }
        s
    }

    #[test]
    fn defaults_and_falsy_means_unset() {
        let o = ClientOptions::from_section(&section(&[
            ("client_id", ""),
            ("http_connect_timeout", "0"),
        ]))
        .unwrap();
        assert_eq!(o.auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(o.client_id, None);
        assert_eq!(o.http_connect_timeout, None);
        assert_eq!(o.jwt_bearer_time_out, Some(3600));
        assert!(!o.insecure);
    }

    #[test]
    fn jwt_bearer_time_out_zero_is_unset() {
        let o = ClientOptions::from_section(&section(&[("jwt_bearer_time_out", "0")])).unwrap();
        assert_eq!(o.jwt_bearer_time_out, None);
    }

    #[test]
    fn bad_auth_method_names_file_section_option_value() {
        let err = ClientOptions::from_section(&section(&[("auth_method", "client_secret_jwtt")]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("tacker.conf [ext_oauth2_auth] auth_method = \"client_secret_jwtt\": Unable to convert the value of option \"auth_method\" into correct type"), "{err}");
    }

    #[test]
    fn bad_bool_and_int() {
        assert!(ClientOptions::from_section(&section(&[("insecure", "maybe")])).is_err());
        let err = ClientOptions::from_section(&section(&[("http_connect_timeout", "ten")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid literal for int()"), "{err}");
    }

    #[test]
    fn secret_is_not_in_debug() {
        let o =
            ClientOptions::from_section(&section(&[("client_secret", "s3cr3t-value")])).unwrap();
        assert_eq!(
            o.client_secret.as_ref().unwrap().expose_secret(),
            "s3cr3t-value"
        );
        assert!(!format!("{o:?}").contains("s3cr3t-value"));
    }
}
