//! rustls server configuration from the `ssl_*` files, and its reload on SIGHUP.
//!
//! The configuration lives in axum-server's [`RustlsConfig`]; each handshake takes the one
//! current when the connection was accepted, so a reload changes what new handshakes see and
//! leaves established connections alone.

use std::io::BufReader;
use std::sync::Arc;

use axum_server::tls_rustls::RustlsConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use super::config::TlsFiles;
use super::ListenerError;
use crate::config::ConfiguredPath;

/// What a (re)load put in place, as logged: the server certificate's subject and expiry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadedCertificate {
    /// RFC 4514-style subject of the leaf certificate, e.g. `CN=tacker.host`.
    pub subject: String,
    /// `notAfter` of the leaf certificate, e.g. `Nov 29 17:00:00 2027 +00:00`.
    pub not_after: String,
    /// DER of the leaf certificate.
    pub der: Vec<u8>,
    /// Number of CA certificates client certificates must chain to (0: no client auth).
    pub client_cas: usize,
}

/// The current server TLS configuration; [`ReloadHandle::reload`] replaces it.
#[derive(Clone)]
pub struct ReloadHandle {
    files: Arc<TlsFiles>,
    current: RustlsConfig,
}

impl std::fmt::Debug for ReloadHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadHandle")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl ReloadHandle {
    pub(crate) fn load(files: TlsFiles) -> Result<Self, ListenerError> {
        let (config, loaded) = build(&files)?;
        log_loaded(&files, &loaded, "loaded");
        Ok(Self {
            files: Arc::new(files),
            current: RustlsConfig::from_config(config),
        })
    }

    /// The files this listener reads.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    /// Read the certificate, key and CA files again. On success new handshakes use them and
    /// the subject/not-after is logged; on failure the previous configuration stays and the
    /// error is logged (and returned).
    pub fn reload(&self) -> Result<LoadedCertificate, ListenerError> {
        match build(&self.files) {
            Ok((config, loaded)) => {
                self.current.reload_from_config(config);
                log_loaded(&self.files, &loaded, "reloaded");
                Ok(loaded)
            }
            Err(e) => {
                tracing::error!(error = %e, "TLS reload failed; keeping the previous certificates");
                Err(e)
            }
        }
    }

    /// The configuration the listener's acceptor reads at every handshake.
    pub(crate) fn rustls_config(&self) -> RustlsConfig {
        self.current.clone()
    }
}

fn log_loaded(files: &TlsFiles, loaded: &LoadedCertificate, what: &str) {
    tracing::info!(
        cert_file = %files.cert_file.path.display(),
        subject = %loaded.subject,
        not_after = %loaded.not_after,
        client_cert_required = loaded.client_cas > 0,
        client_cas = loaded.client_cas,
        "TLS certificate {what}"
    );
}

/// Build the rustls configuration: TLS 1.2 and 1.3 only, the aws-lc-rs provider's default
/// (AEAD, forward-secret) cipher suites and key exchange groups (X25519MLKEM768 preferred), ALPN h2 then http/1.1, and with `ssl_ca_file` a
/// verifier that requires a client certificate chaining to those CAs (Tacker:
/// `ssl.CERT_REQUIRED` with `ca_certs = ssl_ca_file`).
pub(crate) fn build(
    files: &TlsFiles,
) -> Result<(Arc<ServerConfig>, LoadedCertificate), ListenerError> {
    let cert_pem = read_existing(&files.cert_file, "ssl_cert_file")?;
    let chain = parse_certs(&cert_pem, &files.cert_file)?;
    let key = match &files.key_file {
        Some(key_file) => {
            let key_pem = read_existing(key_file, "ssl_key_file")?;
            parse_key(&key_pem, key_file, "no PEM private key found")?
        }
        None => parse_key(
            &cert_pem,
            &files.cert_file,
            "no PEM private key found and ssl_key_file is not set",
        )?,
    };
    let ca = match &files.ca_file {
        Some(ca_file) => {
            let ca_pem = read_existing(ca_file, "ssl_ca_file")?;
            Some((parse_certs(&ca_pem, ca_file)?, ca_file))
        }
        None => None,
    };

    let provider = Arc::new(provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ListenerError::Tls {
            at: files.cert_file.at.clone(),
            reason: e.to_string(),
        })?;

    let client_cas;
    let builder = match ca {
        Some((cas, ca_file)) => {
            let mut roots = RootCertStore::empty();
            for ca in cas {
                roots.add(ca).map_err(|e| ListenerError::BadFile {
                    at: ca_file.at.clone(),
                    reason: format!("not a usable CA certificate: {e}"),
                })?;
            }
            client_cas = roots.len();
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| ListenerError::Tls {
                    at: ca_file.at.clone(),
                    reason: e.to_string(),
                })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => {
            client_cas = 0;
            builder.with_no_client_auth()
        }
    };

    let key_at = files.key_file.as_ref().unwrap_or(&files.cert_file);
    let leaf = chain[0].clone();
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| ListenerError::Tls {
            at: format!("{} / {}", files.cert_file.at, key_at.at),
            reason: e.to_string(),
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];

    let loaded = describe(&leaf, client_cas, &files.cert_file)?;
    Ok((Arc::new(config), loaded))
}

/// The crypto provider of every listener: aws-lc-rs, the provider rustls recommends (its ring
/// provider is deprecated for lacking post-quantum key exchange). Its default cipher suites are
/// the same nine AEAD suites, in the same order, that the ring provider offered.
fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

fn read_existing(file: &ConfiguredPath, option: &'static str) -> Result<Vec<u8>, ListenerError> {
    if !file.path.exists() {
        return Err(ListenerError::MissingFile {
            option,
            path: file.path.display().to_string(),
            at: file.at.clone(),
        });
    }
    std::fs::read(&file.path).map_err(|e| ListenerError::BadFile {
        at: file.at.clone(),
        reason: format!("cannot read: {e}"),
    })
}

fn parse_certs(
    pem: &[u8],
    file: &ConfiguredPath,
) -> Result<Vec<CertificateDer<'static>>, ListenerError> {
    let certs = rustls_pemfile::certs(&mut BufReader::new(pem))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ListenerError::BadFile {
            at: file.at.clone(),
            reason: format!("bad PEM: {e}"),
        })?;
    if certs.is_empty() {
        return Err(ListenerError::BadFile {
            at: file.at.clone(),
            reason: "no PEM certificate found".into(),
        });
    }
    Ok(certs)
}

fn parse_key(
    pem: &[u8],
    file: &ConfiguredPath,
    missing: &str,
) -> Result<PrivateKeyDer<'static>, ListenerError> {
    rustls_pemfile::private_key(&mut BufReader::new(pem))
        .map_err(|e| ListenerError::BadFile {
            at: file.at.clone(),
            reason: format!("bad PEM: {e}"),
        })?
        .ok_or_else(|| ListenerError::BadFile {
            at: file.at.clone(),
            reason: missing.into(),
        })
}

fn describe(
    leaf: &CertificateDer<'_>,
    client_cas: usize,
    file: &ConfiguredPath,
) -> Result<LoadedCertificate, ListenerError> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(leaf).map_err(|e| ListenerError::BadFile {
            at: file.at.clone(),
            reason: format!("not an X.509 certificate: {e}"),
        })?;
    if !cert.validity().is_valid() {
        tracing::warn!(
            cert_file = %file.path.display(),
            not_before = %cert.validity().not_before,
            not_after = %cert.validity().not_after,
            "the server certificate is not valid now"
        );
    }
    Ok(LoadedCertificate {
        subject: cert.subject().to_string(),
        not_after: cert.validity().not_after.to_string(),
        der: leaf.to_vec(),
        client_cas,
    })
}

#[cfg(test)]
mod tests {
    use super::provider;

    /// TLS 1.3 and ECDHE TLS 1.2 AEAD suites only, strongest first: the set and order the
    /// listener has always offered (rustls' ring provider before it was deprecated).
    #[test]
    fn cipher_suites_are_the_nine_aead_suites_in_order() {
        let names: Vec<String> = provider()
            .cipher_suites
            .iter()
            .map(|s| format!("{:?}", s.suite()))
            .collect();
        assert_eq!(
            names,
            [
                "TLS13_AES_256_GCM_SHA384",
                "TLS13_AES_128_GCM_SHA256",
                "TLS13_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            ]
        );
    }
}
