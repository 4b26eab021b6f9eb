//! Client certificate forwarded by a trusted TLS-terminating front end (off by default).
//!
//! Tacker behind Apache mod_ssl gets `SSL_CLIENT_CERT` from the front end's TLS session, never
//! from the client. The equivalent here: a header named by the operator, honoured only on
//! connections from the listed proxy addresses and removed from every request, so a client
//! can never choose the certificate a token is checked against.

use std::io::BufReader;
use std::net::IpAddr;

use http::{HeaderMap, HeaderName};

/// `[DEFAULT] ssl_client_cert_header` and `ssl_client_cert_trusted_proxies`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardedClientCert {
    header: HeaderName,
    trusted_proxies: Vec<IpAddr>,
}

/// What the configured header said on one request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Forwarded {
    /// Not from a trusted proxy: whatever the header said was dropped.
    Untrusted,
    /// From a trusted proxy; `None` when it forwarded no (usable) certificate.
    Trusted(Option<Vec<u8>>),
}

impl ForwardedClientCert {
    /// `trusted_proxies` are compared after mapping IPv4-mapped IPv6 addresses to IPv4.
    pub fn new(header: HeaderName, trusted_proxies: Vec<IpAddr>) -> Self {
        Self {
            header,
            trusted_proxies: trusted_proxies
                .into_iter()
                .map(|ip| ip.to_canonical())
                .collect(),
        }
    }

    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    /// True when `peer` may set the header.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        self.trusted_proxies.contains(&peer.to_canonical())
    }

    /// Remove the header from `headers` and, if `peer` is trusted, decode it.
    pub(crate) fn take(&self, headers: &mut HeaderMap, peer: IpAddr) -> Forwarded {
        let values: Vec<_> = headers.get_all(&self.header).iter().cloned().collect();
        headers.remove(&self.header);
        if !self.trusts(peer) {
            if !values.is_empty() {
                tracing::warn!(
                    %peer,
                    header = %self.header,
                    "client certificate header from an untrusted address ignored"
                );
            }
            return Forwarded::Untrusted;
        }
        match values.as_slice() {
            [] => Forwarded::Trusted(None),
            [one] => {
                let der = one.to_str().ok().and_then(decode_pem_header);
                if der.is_none() {
                    tracing::warn!(
                        header = %self.header,
                        "forwarded client certificate is not a PEM certificate; ignored"
                    );
                }
                Forwarded::Trusted(der)
            }
            _ => {
                tracing::warn!(
                    header = %self.header,
                    "several forwarded client certificate headers; all ignored"
                );
                Forwarded::Trusted(None)
            }
        }
    }
}

/// DER of the first certificate in a header value as front ends send it: PEM (newlines may
/// be turned into spaces or tabs, as Apache and HAProxy do), URL-encoded PEM (nginx
/// `$ssl_client_escaped_cert`), or bare base64 DER.
pub(crate) fn decode_pem_header(value: &str) -> Option<Vec<u8>> {
    let value = if value.contains('%') {
        percent_decode(value)?
    } else {
        value.to_owned()
    };
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let body = match (value.find(BEGIN), value.find(END)) {
        (Some(b), Some(e)) if b + BEGIN.len() <= e => &value[b + BEGIN.len()..e],
        (None, None) => value.as_str(),
        _ => return None,
    };
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    if b64.is_empty() {
        return None;
    }
    let pem = format!("{BEGIN}\n{b64}\n{END}\n");
    let der = rustls_pemfile::certs(&mut BufReader::new(pem.as_bytes()))
        .next()?
        .ok()?
        .to_vec();
    // Only something that parses as X.509 is handed on as a certificate.
    x509_parser::parse_x509_certificate(&der).ok()?;
    Some(der)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_cert() -> (String, Vec<u8>) {
        // A fixed self-signed certificate would do; generating one keeps the test readable.
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["client".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), cert.der().to_vec())
    }

    fn encode_all(s: &str) -> String {
        s.bytes().map(|b| format!("%{b:02X}")).collect()
    }

    #[test]
    fn pem_forms_front_ends_send() {
        let (pem, der) = test_cert();
        assert_eq!(decode_pem_header(&pem).as_deref(), Some(der.as_slice()));
        assert_eq!(
            decode_pem_header(&pem.replace('\n', " ")).as_deref(),
            Some(der.as_slice())
        );
        assert_eq!(
            decode_pem_header(&pem.replace('\n', "\t")).as_deref(),
            Some(der.as_slice())
        );
        assert_eq!(
            decode_pem_header(&encode_all(&pem)).as_deref(),
            Some(der.as_slice())
        );
        let bare: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(decode_pem_header(&bare).as_deref(), Some(der.as_slice()));
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert_eq!(decode_pem_header(""), None);
        assert_eq!(decode_pem_header("not a cert"), None);
        assert_eq!(
            decode_pem_header("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"),
            None
        );
        assert_eq!(decode_pem_header("%zz"), None);
    }

    #[test]
    fn header_from_untrusted_peer_is_dropped_and_removed() {
        let (pem, _) = test_cert();
        let fwd = ForwardedClientCert::new(
            HeaderName::from_static("x-ssl-client-cert"),
            vec!["10.0.0.5".parse().unwrap()],
        );
        let mut headers = HeaderMap::new();
        headers.insert("x-ssl-client-cert", pem.replace('\n', " ").parse().unwrap());
        assert_eq!(
            fwd.take(&mut headers, "127.0.0.1".parse().unwrap()),
            Forwarded::Untrusted
        );
        assert!(headers.get("x-ssl-client-cert").is_none());
    }

    #[test]
    fn header_from_trusted_peer_is_decoded_and_removed() {
        let (pem, der) = test_cert();
        let fwd = ForwardedClientCert::new(
            HeaderName::from_static("x-ssl-client-cert"),
            vec!["127.0.0.1".parse().unwrap()],
        );
        let mut headers = HeaderMap::new();
        headers.insert("x-ssl-client-cert", pem.replace('\n', " ").parse().unwrap());
        assert_eq!(
            fwd.take(&mut headers, "::ffff:127.0.0.1".parse().unwrap()),
            Forwarded::Trusted(Some(der))
        );
        assert!(headers.get("x-ssl-client-cert").is_none());
    }

    #[test]
    fn duplicate_headers_from_trusted_peer_give_no_certificate() {
        let (pem, _) = test_cert();
        let fwd = ForwardedClientCert::new(
            HeaderName::from_static("x-ssl-client-cert"),
            vec!["127.0.0.1".parse().unwrap()],
        );
        let mut headers = HeaderMap::new();
        let v: http::HeaderValue = pem.replace('\n', " ").parse().unwrap();
        headers.append("x-ssl-client-cert", v.clone());
        headers.append("x-ssl-client-cert", v);
        assert_eq!(
            fwd.take(&mut headers, "127.0.0.1".parse().unwrap()),
            Forwarded::Trusted(None)
        );
    }
}
