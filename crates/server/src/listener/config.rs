//! The validated `[DEFAULT]` listener options ([`ListenerOptions`], parsed with the rest of
//! `tacker.conf` in `crate::config`) turned into a [`ListenerConfig`]: with `use_ssl` the
//! certificate files are loaded once here, so a bad key or certificate refuses start-up.

use std::path::Path;

use crate::config::{ConfiguredPath, ListenerOptions};

use super::{ListenerConfig, ListenerError};

/// The certificate files of `use_ssl = True`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// `ssl_cert_file`: PEM server certificate chain, leaf first; may also hold the key.
    pub cert_file: ConfiguredPath,
    /// `ssl_key_file`: PEM private key (PKCS#8, PKCS#1 or SEC1). `None`: the key is read from
    /// `ssl_cert_file`.
    pub key_file: Option<ConfiguredPath>,
    /// `ssl_ca_file`: PEM CA certificates. Set: client certificates are required and must
    /// chain to one of them.
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
    /// The listener of `options` (`ServerConfig::default.listener`). With `use_ssl` the
    /// files must exist (Tacker's "Unable to find ... : <path>") and load; without it the
    /// `ssl_*` files are ignored, as Tacker does.
    pub fn from_options(options: &ListenerOptions) -> Result<ListenerConfig, ListenerError> {
        let tls = if options.use_ssl {
            let cert_file =
                options
                    .ssl_cert_file
                    .clone()
                    .ok_or_else(|| ListenerError::MissingFile {
                        option: "ssl_cert_file",
                        path: String::new(),
                        at: "[DEFAULT] ssl_cert_file is not set".into(),
                    })?;
            let files = TlsFiles {
                cert_file,
                key_file: options.ssl_key_file.clone(),
                ca_file: options.ssl_ca_file.clone(),
            };
            // Fails start-up on a missing or unusable file; `Listener::bind` loads them again.
            super::tls::build(&files)?;
            Some(files)
        } else {
            None
        };
        Ok(ListenerConfig {
            tls,
            forwarded_client_cert: options.forwarded_client_cert.clone(),
            limits: options.limits.clone(),
            ..ListenerConfig::plain(options.addr)
        })
    }
}

#[cfg(test)]
mod tests {
    use tacker_common::config::Section;

    use std::time::Duration;

    use super::super::{ConnectionLimits, DEFAULT_DRAIN_TIMEOUT, HEADER_READ_TIMEOUT};
    use super::*;

    fn listener(pairs: &[(&str, &str)]) -> Result<ListenerConfig, String> {
        let mut s = Section::new("DEFAULT");
        for (k, v) in pairs {
            s.set(*k, *v, "tacker.conf");
        }
        let options = ListenerOptions::from_default_section(&s).map_err(|e| e.to_string())?;
        ListenerConfig::from_options(&options).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_tackers() {
        let cfg = listener(&[]).unwrap();
        assert_eq!(cfg.addr, "0.0.0.0:9890".parse().unwrap());
        assert!(cfg.tls.is_none());
        assert!(cfg.forwarded_client_cert.is_none());
        assert_eq!(cfg.drain_timeout, DEFAULT_DRAIN_TIMEOUT);
        assert_eq!(cfg.header_read_timeout, HEADER_READ_TIMEOUT);
    }

    #[test]
    fn connection_limits_defaults_and_oslo_options() {
        let d = listener(&[]).unwrap().limits;
        assert_eq!(d, ConnectionLimits::default());
        assert_eq!(d.idle_timeout, Some(Duration::from_secs(900)));
        assert_eq!(d.max_header_line, 16384);
        assert!(d.keep_alive);

        let cfg = listener(&[
            ("client_handshake_timeout", "3"),
            ("client_socket_timeout", "0"),
            ("request_body_timeout", "7"),
            ("max_header_line", "4096"),
            ("wsgi_keep_alive", "False"),
            ("max_connections", "100"),
        ])
        .unwrap();
        assert_eq!(
            cfg.limits,
            ConnectionLimits {
                handshake_timeout: Duration::from_secs(3),
                idle_timeout: None,
                body_timeout: Some(Duration::from_secs(7)),
                max_header_line: 4096,
                keep_alive: false,
                max_connections: 100,
            }
        );
        assert_eq!(
            listener(&[("request_body_timeout", "0")])
                .unwrap()
                .limits
                .body_timeout,
            None
        );
    }

    #[test]
    fn bad_connection_limits_name_option_and_value() {
        for (key, value) in [
            ("client_handshake_timeout", "0"),
            ("client_socket_timeout", "-1"),
            ("request_body_timeout", "soon"),
            ("max_header_line", "10"),
            ("max_connections", "0"),
            ("wsgi_keep_alive", "perhaps"),
        ] {
            let err = listener(&[(key, value)]).unwrap_err();
            assert!(
                err.starts_with(&format!("tacker.conf [DEFAULT] {key} = \"{value}\"")),
                "{err}"
            );
        }
    }

    #[test]
    fn ipv6_bind_host_with_and_without_brackets() {
        for host in ["::1", "[::1]"] {
            let cfg = listener(&[("bind_host", host), ("bind_port", "8080")]).unwrap();
            assert_eq!(cfg.addr, "[::1]:8080".parse().unwrap());
        }
    }

    #[test]
    fn bad_port_names_file_section_option_value() {
        let err = listener(&[("bind_port", "99999")]).unwrap_err();
        assert!(
            err.starts_with("tacker.conf [DEFAULT] bind_port = \"99999\""),
            "{err}"
        );
    }

    #[test]
    fn bad_bool_is_fatal() {
        let err = listener(&[("use_ssl", "maybe")]).unwrap_err();
        assert!(err.contains("[DEFAULT] use_ssl = \"maybe\""), "{err}");
    }

    #[test]
    fn use_ssl_without_cert_file_is_tackers_unable_to_find() {
        for pairs in [
            &[("use_ssl", "True")][..],
            &[("use_ssl", "True"), ("ssl_cert_file", "")][..],
        ] {
            let err = listener(pairs).unwrap_err();
            assert!(err.starts_with("Unable to find ssl_cert_file : "), "{err}");
        }
    }

    #[test]
    fn missing_cert_file_message() {
        let err = listener(&[
            ("use_ssl", "True"),
            ("ssl_cert_file", "/nonexistent/tacker.pem"),
        ])
        .unwrap_err();
        assert_eq!(
            err,
            "Unable to find ssl_cert_file : /nonexistent/tacker.pem \
             (tacker.conf [DEFAULT] ssl_cert_file = \"/nonexistent/tacker.pem\")"
        );
    }

    #[test]
    fn ssl_files_ignored_without_use_ssl() {
        let cfg = listener(&[
            ("use_ssl", "False"),
            ("ssl_cert_file", "/nonexistent/tacker.pem"),
        ])
        .unwrap();
        assert!(cfg.tls.is_none());
    }

    #[test]
    fn forwarded_header_needs_trusted_proxies() {
        let err = listener(&[("ssl_client_cert_header", "X-SSL-Client-Cert")]).unwrap_err();
        assert!(
            err.contains("[DEFAULT] ssl_client_cert_trusted_proxies"),
            "{err}"
        );
    }

    #[test]
    fn forwarded_header_with_proxies() {
        let cfg = listener(&[
            ("ssl_client_cert_header", "X-SSL-Client-Cert"),
            ("ssl_client_cert_trusted_proxies", "127.0.0.1, ::1"),
        ])
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
        let err = listener(&[
            ("ssl_client_cert_header", "X-SSL-Client-Cert"),
            ("ssl_client_cert_trusted_proxies", "127.0.0.1,proxy.example"),
        ])
        .unwrap_err();
        assert!(
            err.contains("\"proxy.example\" is not an IP address"),
            "{err}"
        );
    }
}
