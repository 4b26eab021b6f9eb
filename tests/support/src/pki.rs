//! A throw-away PKI for one test: a trusted CA, a server certificate for 127.0.0.1 / ::1 /
//! localhost, client certificates, an untrusted CA with the same subject names (negative
//! tests), and an RSA key for `private_key_jwt`. Everything is written as PEM files into a
//! temporary directory that lives as long as the `TestPki`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use sha2::{Digest, Sha256};

/// Subject CN of both CAs (the untrusted one deliberately has the same name).
pub const CA_CN: &str = "Tacker Test CA";
/// Subject CN of the default client certificate (`tls_client_auth_subject_dn = CN=<this>`).
pub const CLIENT_CN: &str = "tacker_client";

/// A certificate and its private key on disk.
#[derive(Clone, Debug)]
pub struct CertFiles {
    /// PEM certificate file.
    pub cert: PathBuf,
    /// PEM PKCS#8 private key file.
    pub key: PathBuf,
    /// Certificate and key concatenated in one PEM file (`ssl_cert_file` holding both).
    pub combined: PathBuf,
    pub cert_pem: String,
    pub key_pem: String,
    pub der: Vec<u8>,
}

impl CertFiles {
    /// RFC 8705 §3.1 `x5t#S256`: base64url (no padding) of SHA-256 over the DER certificate.
    pub fn thumbprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(&self.der))
    }

    /// A reqwest identity presenting this certificate.
    pub fn identity(&self) -> reqwest::Identity {
        reqwest::Identity::from_pem(format!("{}{}", self.cert_pem, self.key_pem).as_bytes())
            .expect("identity from test PEM")
    }
}

struct Issuer {
    cert: Certificate,
    key: KeyPair,
}

/// See the module documentation. Dropping it removes the files.
pub struct TestPki {
    dir: tempfile::TempDir,
    trusted: Issuer,
    untrusted: Issuer,
    /// The trusted CA (`ca.pem`): `cafile`, `ssl_ca_file`.
    pub ca: CertFiles,
    /// Server certificate for 127.0.0.1, ::1 and localhost, signed by `ca`.
    pub server: CertFiles,
    /// Client certificate `CN=tacker_client`, signed by `ca`.
    pub client: CertFiles,
    /// Another trusted client certificate (`CN=other_client`): "another client's certificate".
    pub other_client: CertFiles,
    /// A CA that nobody trusts, with the same subject as `ca`.
    pub untrusted_ca: CertFiles,
    /// `CN=tacker_client` again, but signed by `untrusted_ca`.
    pub untrusted_client: CertFiles,
    /// A server certificate for 127.0.0.1 signed by `untrusted_ca`.
    pub untrusted_server: CertFiles,
    /// RSA private key (PKCS#8 PEM) for `private_key_jwt` (`jwt_key_file`).
    pub jwt_key: PathBuf,
    /// The matching public key (SPKI PEM), registered at the authorization server.
    pub jwt_public_key: PathBuf,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki")
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl TestPki {
    /// Generates everything (ECDSA P-256 certificates; RSA-2048 JWT key via `openssl` or `node`).
    pub fn new() -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("tacker-pki-").tempdir()?;
        let (trusted, ca) = new_ca(dir.path(), "ca")?;
        let (untrusted, untrusted_ca) = new_ca(dir.path(), "untrusted_ca")?;
        let server = issue(
            dir.path(),
            "server",
            &trusted,
            "localhost",
            &["127.0.0.1", "::1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        let client = issue(
            dir.path(),
            "client",
            &trusted,
            CLIENT_CN,
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        let other_client = issue(
            dir.path(),
            "other_client",
            &trusted,
            "other_client",
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        let untrusted_client = issue(
            dir.path(),
            "untrusted_client",
            &untrusted,
            CLIENT_CN,
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        let untrusted_server = issue(
            dir.path(),
            "untrusted_server",
            &untrusted,
            "localhost",
            &["127.0.0.1", "::1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        let jwt_key = dir.path().join("jwt_rsa.key");
        let jwt_public_key = dir.path().join("jwt_rsa.pub");
        generate_rsa(&jwt_key, &jwt_public_key)?;
        Ok(Self {
            dir,
            trusted,
            untrusted,
            ca,
            server,
            client,
            other_client,
            untrusted_ca,
            untrusted_client,
            untrusted_server,
            jwt_key,
            jwt_public_key,
        })
    }

    /// The directory holding all files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Issues a further client certificate `CN=<cn>` from the trusted CA, written as
    /// `<file_stem>.pem` / `<file_stem>.key`.
    pub fn issue_client(&self, file_stem: &str, cn: &str) -> Result<CertFiles> {
        issue(
            self.dir.path(),
            file_stem,
            &self.trusted,
            cn,
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        )
    }

    /// Issues a further server certificate for `sans` from the trusted CA (certificate
    /// rotation tests), written as `<file_stem>.pem` / `<file_stem>.key`.
    pub fn issue_server(&self, file_stem: &str, cn: &str, sans: &[&str]) -> Result<CertFiles> {
        issue(
            self.dir.path(),
            file_stem,
            &self.trusted,
            cn,
            sans,
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// Issues a client certificate from the untrusted CA.
    pub fn issue_untrusted_client(&self, file_stem: &str, cn: &str) -> Result<CertFiles> {
        issue(
            self.dir.path(),
            file_stem,
            &self.untrusted,
            cn,
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        )
    }

    /// An HTTPS client trusting only `ca`, optionally presenting `identity`.
    pub fn https_client(&self, identity: Option<&CertFiles>) -> reqwest::Client {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(
                reqwest::Certificate::from_pem(self.ca.cert_pem.as_bytes()).expect("CA PEM"),
            )
            .redirect(reqwest::redirect::Policy::none());
        if let Some(id) = identity {
            builder = builder.identity(id.identity());
        }
        builder.build().expect("reqwest client")
    }
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn new_ca(dir: &Path, stem: &str) -> Result<(Issuer, CertFiles)> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = dn(CA_CN);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key)?;
    let files = write(dir, stem, &cert, &key)?;
    Ok((Issuer { cert, key }, files))
}

fn issue(
    dir: &Path,
    stem: &str,
    issuer: &Issuer,
    cn: &str,
    sans: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> Result<CertFiles> {
    let key = KeyPair::generate()?;
    let mut params =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
    params.distinguished_name = dn(cn);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    let cert = params.signed_by(&key, &issuer.cert, &issuer.key)?;
    write(dir, stem, &cert, &key)
}

fn write(dir: &Path, stem: &str, cert: &Certificate, key: &KeyPair) -> Result<CertFiles> {
    let cert_pem = cert.pem();
    let key_pem = key.serialize_pem();
    let cert_path = dir.join(format!("{stem}.pem"));
    let key_path = dir.join(format!("{stem}.key"));
    let combined = dir.join(format!("{stem}-combined.pem"));
    std::fs::write(&cert_path, &cert_pem)?;
    std::fs::write(&key_path, &key_pem)?;
    std::fs::write(&combined, format!("{cert_pem}{key_pem}"))?;
    Ok(CertFiles {
        cert: cert_path,
        key: key_path,
        combined,
        cert_pem,
        key_pem,
        der: cert.der().to_vec(),
    })
}

/// ring (rcgen's backend) cannot generate RSA keys; the OpenSSL CLI or Node.js (needed for the
/// authorization server anyway) can.
fn generate_rsa(private: &Path, public: &Path) -> Result<()> {
    let openssl = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(private)
        .output();
    if !matches!(&openssl, Ok(out) if out.status.success()) {
        let script = "const c=require('crypto');const fs=require('fs');\
            const {privateKey}=c.generateKeyPairSync('rsa',{modulusLength:2048});\
            fs.writeFileSync(process.argv[1],privateKey.export({type:'pkcs8',format:'pem'}));";
        let status = Command::new("node")
            .arg("-e")
            .arg(script)
            .arg(private)
            .status()
            .context("neither openssl nor node could generate the RSA test key")?;
        if !status.success() {
            bail!("node failed to generate the RSA test key");
        }
    }
    let script = "const c=require('crypto');const fs=require('fs');\
        const k=c.createPublicKey(fs.readFileSync(process.argv[1]));\
        fs.writeFileSync(process.argv[2],k.export({type:'spki',format:'pem'}));";
    let out = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(private)
        .arg("-out")
        .arg(public)
        .output();
    if !matches!(&out, Ok(o) if o.status.success()) {
        let status = Command::new("node")
            .arg("-e")
            .arg(script)
            .arg(private)
            .arg(public)
            .status()
            .context("derive the RSA public key")?;
        if !status.success() {
            bail!("could not derive the RSA public key");
        }
    }
    Ok(())
}
