//! `[DEFAULT]` listener options (Tacker `tacker/common/config.py` `bind_host`/`bind_port`,
//! `tacker/wsgi.py` `socket_opts`) turned into a [`ListenerConfig`].

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use tacker_common::config::Section;

use super::{ForwardedClientCert, ListenerConfig, ListenerError, DEFAULT_DRAIN_TIMEOUT};

/// `[DEFAULT] bind_host` default (Tacker: all IPv4 interfaces).
const DEFAULT_BIND_HOST: &str = "0.0.0.0";
/// `[DEFAULT] bind_port` default (Tacker's API port).
const DEFAULT_BIND_PORT: u16 = 9890;

/// A file path option with where it was set, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfiguredPath {
    pub path: PathBuf,
    /// `<origin> [DEFAULT] <option> = "<path>"`.
    pub at: String,
}

impl ConfiguredPath {
    /// A path set by code (tests, tools) rather than a config file.
    pub fn new(option: &str, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let at = format!(
            "(set by caller) [DEFAULT] {option} = \"{}\"",
            path.display()
        );
        Self { path, at }
    }

    fn from_section(sec: &Section, option: &str, value: &str) -> Self {
        Self {
            path: PathBuf::from(value),
            at: sec.describe(option, value),
        }
    }
}

/// The certificate files of `use_ssl = True`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// `ssl_cert_file` (string, required with `use_ssl`): PEM server certificate chain, leaf
    /// first; may also hold the private key.
    pub cert_file: ConfiguredPath,
    /// `ssl_key_file` (string, optional): PEM private key (PKCS#8, PKCS#1 or SEC1). Unset: the
    /// key is read from `ssl_cert_file`.
    pub key_file: Option<ConfiguredPath>,
    /// `ssl_ca_file` (string, optional): PEM CA certificates. Set: client certificates are
    /// required and must chain to one of them.
    pub ca_file: Option<ConfiguredPath>,
}

impl TlsFiles {
    /// Files set by code; `key` `None` = key inside `cert`, `ca` `Some` = mTLS.
    pub fn new(cert: impl AsRef<Path>, key: Option<&Path>, ca: Option<&Path>) -> Self {
        Self {
            cert_file: ConfiguredPath::new("ssl_cert_file", cert.as_ref()),
            key_file: key.map(|k| ConfiguredPath::new("ssl_key_file", k)),
            ca_file: ca.map(|c| ConfiguredPath::new("ssl_ca_file", c)),
        }
    }
}

impl ListenerConfig {
    /// Read the listener options from the `[DEFAULT]` section:
    ///
    /// | option | type | default |
    /// |---|---|---|
    /// | `bind_host` | IPv4/IPv6 address or host name | `0.0.0.0` |
    /// | `bind_port` | port 0-65535 | `9890` |
    /// | `use_ssl` | bool | `False` |
    /// | `ssl_cert_file` | path | unset (required with `use_ssl`) |
    /// | `ssl_key_file` | path | unset (key inside `ssl_cert_file`) |
    /// | `ssl_ca_file` | path | unset (no client certificates asked for) |
    /// | `ssl_client_cert_header` | header name | unset (off) |
    /// | `ssl_client_cert_trusted_proxies` | list of IP addresses | empty |
    ///
    /// With `use_ssl` the files must exist (Tacker's "Unable to find ... : <path>") and are
    /// loaded once here, so a bad key or certificate refuses start-up.
    pub fn from_default_section(sec: &Section) -> Result<ListenerConfig, ListenerError> {
        let host = str_opt(sec, "bind_host").unwrap_or(DEFAULT_BIND_HOST);
        let port = match str_opt(sec, "bind_port") {
            None => DEFAULT_BIND_PORT,
            Some(v) => v.parse::<u16>().map_err(|_| ListenerError::BadValue {
                at: sec.describe("bind_port", v),
                reason: "expected a port number between 0 and 65535".into(),
            })?,
        };
        let addr = resolve(host, port).ok_or_else(|| ListenerError::BadValue {
            at: sec.describe("bind_host", host),
            reason: format!(
                "Unable to listen on {host}:{port}: not an address or a resolvable host name"
            ),
        })?;

        let use_ssl = match str_opt(sec, "use_ssl") {
            None => false,
            Some(v) => parse_bool(v).ok_or_else(|| ListenerError::BadValue {
                at: sec.describe("use_ssl", v),
                reason: "expected a boolean (true/false, yes/no, on/off, 1/0)".into(),
            })?,
        };

        let tls = if use_ssl {
            // oslo.config StrOpt: an empty value is falsy, so `ssl_key_file =` / `ssl_ca_file =`
            // mean "unset", while an unset or empty `ssl_cert_file` is reported as not found.
            let cert = raw_opt(sec, "ssl_cert_file").unwrap_or("");
            let files = TlsFiles {
                cert_file: ConfiguredPath::from_section(sec, "ssl_cert_file", cert),
                key_file: str_opt(sec, "ssl_key_file")
                    .map(|v| ConfiguredPath::from_section(sec, "ssl_key_file", v)),
                ca_file: str_opt(sec, "ssl_ca_file")
                    .map(|v| ConfiguredPath::from_section(sec, "ssl_ca_file", v)),
            };
            // Fails start-up on a missing or unusable file; `Listener::bind` loads them again.
            super::tls::build(&files)?;
            Some(files)
        } else {
            None
        };

        let forwarded_client_cert = forwarded_from_section(sec)?;

        Ok(ListenerConfig {
            addr,
            tls,
            forwarded_client_cert,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        })
    }
}

fn forwarded_from_section(sec: &Section) -> Result<Option<ForwardedClientCert>, ListenerError> {
    let header = str_opt(sec, "ssl_client_cert_header");
    let proxies = str_opt(sec, "ssl_client_cert_trusted_proxies");
    let Some(header_value) = header else {
        if let Some(p) = proxies {
            tracing::warn!(
                "{}: ignored because ssl_client_cert_header is not set",
                sec.describe("ssl_client_cert_trusted_proxies", p)
            );
        }
        return Ok(None);
    };
    let header = http::HeaderName::from_bytes(header_value.as_bytes()).map_err(|_| {
        ListenerError::BadValue {
            at: sec.describe("ssl_client_cert_header", header_value),
            reason: "not a valid HTTP header name".into(),
        }
    })?;
    let proxies_value = proxies.unwrap_or("");
    let mut trusted = Vec::new();
    for item in proxies_value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let ip = item
            .parse::<IpAddr>()
            .map_err(|_| ListenerError::BadValue {
                at: sec.describe("ssl_client_cert_trusted_proxies", proxies_value),
                reason: format!("{item:?} is not an IP address"),
            })?;
        trusted.push(ip.to_canonical());
    }
    if trusted.is_empty() {
        // A header name without trusted senders would let any client choose its certificate
        // or, read strictly, never apply: both are configuration mistakes.
        return Err(ListenerError::BadValue {
            at: sec.describe("ssl_client_cert_trusted_proxies", proxies_value),
            reason: "ssl_client_cert_header is set, so the proxy addresses trusted to set it must be listed".into(),
        });
    }
    Ok(Some(ForwardedClientCert::new(header, trusted)))
}

/// The trimmed value, `None` when unset.
fn raw_opt<'a>(sec: &'a Section, key: &str) -> Option<&'a str> {
    sec.get(key).map(|v| v.value.trim())
}

/// The trimmed value, `None` when unset or empty (oslo: `opt =` leaves a StrOpt falsy).
fn str_opt<'a>(sec: &'a Section, key: &str) -> Option<&'a str> {
    raw_opt(sec, key).filter(|v| !v.is_empty())
}

/// oslo.config `types.Boolean`: case-insensitive true/1/on/yes and false/0/off/no.
fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "on" | "yes" => Some(true),
        "false" | "0" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// `socket.getaddrinfo(host, port, AF_UNSPEC, SOCK_STREAM)[0]` as Tacker does: the first
/// address of a host name, or the literal address (IPv6 with or without brackets).
fn resolve(host: &str, port: u16) -> Option<SocketAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, port));
    }
    (bare, port).to_socket_addrs().ok()?.next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(pairs: &[(&str, &str)]) -> Section {
        let mut s = Section::new("DEFAULT");
        for (k, v) in pairs {
            s.set(*k, *v, "tacker.conf");
        }
        s
    }

    #[test]
    fn defaults_are_tackers() {
        let cfg = ListenerConfig::from_default_section(&section(&[])).unwrap();
        assert_eq!(cfg.addr, "0.0.0.0:9890".parse().unwrap());
        assert!(cfg.tls.is_none());
        assert!(cfg.forwarded_client_cert.is_none());
        assert_eq!(cfg.drain_timeout, DEFAULT_DRAIN_TIMEOUT);
    }

    #[test]
    fn ipv6_bind_host_with_and_without_brackets() {
        for host in ["::1", "[::1]"] {
            let cfg = ListenerConfig::from_default_section(&section(&[
                ("bind_host", host),
                ("bind_port", "8080"),
            ]))
            .unwrap();
            assert_eq!(cfg.addr, "[::1]:8080".parse().unwrap());
        }
    }

    #[test]
    fn bad_port_names_file_section_option_value() {
        let err = ListenerConfig::from_default_section(&section(&[("bind_port", "99999")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("tacker.conf [DEFAULT] bind_port = \"99999\""),
            "{err}"
        );
    }

    #[test]
    fn bad_bool_is_fatal() {
        let err = ListenerConfig::from_default_section(&section(&[("use_ssl", "maybe")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("[DEFAULT] use_ssl = \"maybe\""), "{err}");
    }

    #[test]
    fn oslo_booleans() {
        for v in ["True", "true", "1", "on", "YES"] {
            assert_eq!(parse_bool(v), Some(true), "{v}");
        }
        for v in ["False", "0", "off", "no"] {
            assert_eq!(parse_bool(v), Some(false), "{v}");
        }
        assert_eq!(parse_bool("t"), None);
    }

    #[test]
    fn use_ssl_without_cert_file_is_tackers_unable_to_find() {
        let err = ListenerConfig::from_default_section(&section(&[("use_ssl", "True")]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("Unable to find ssl_cert_file : "), "{err}");
    }

    #[test]
    fn missing_cert_file_message() {
        let err = ListenerConfig::from_default_section(&section(&[
            ("use_ssl", "True"),
            ("ssl_cert_file", "/nonexistent/tacker.pem"),
        ]))
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "Unable to find ssl_cert_file : /nonexistent/tacker.pem \
             (tacker.conf [DEFAULT] ssl_cert_file = \"/nonexistent/tacker.pem\")"
        );
    }

    #[test]
    fn ssl_files_ignored_without_use_ssl() {
        let cfg = ListenerConfig::from_default_section(&section(&[
            ("use_ssl", "False"),
            ("ssl_cert_file", "/nonexistent/tacker.pem"),
        ]))
        .unwrap();
        assert!(cfg.tls.is_none());
    }

    #[test]
    fn forwarded_header_needs_trusted_proxies() {
        let err = ListenerConfig::from_default_section(&section(&[(
            "ssl_client_cert_header",
            "X-SSL-Client-Cert",
        )]))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("[DEFAULT] ssl_client_cert_trusted_proxies"),
            "{err}"
        );
    }

    #[test]
    fn forwarded_header_with_proxies() {
        let cfg = ListenerConfig::from_default_section(&section(&[
            ("ssl_client_cert_header", "X-SSL-Client-Cert"),
            ("ssl_client_cert_trusted_proxies", "127.0.0.1, ::1"),
        ]))
        .unwrap();
        let fwd = cfg.forwarded_client_cert.unwrap();
        assert_eq!(fwd.header().as_str(), "x-ssl-client-cert");
        assert!(fwd.trusts("127.0.0.1".parse().unwrap()));
        assert!(fwd.trusts("::ffff:127.0.0.1".parse().unwrap()));
        assert!(fwd.trusts("::1".parse().unwrap()));
        assert!(!fwd.trusts("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn bad_proxy_address_is_fatal() {
        let err = ListenerConfig::from_default_section(&section(&[
            ("ssl_client_cert_header", "X-SSL-Client-Cert"),
            ("ssl_client_cert_trusted_proxies", "127.0.0.1,proxy.example"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("\"proxy.example\" is not an IP address"),
            "{err}"
        );
    }
}
