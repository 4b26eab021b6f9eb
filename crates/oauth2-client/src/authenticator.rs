//! Client authentication added to form POSTs to the authorization server (introspection now,
//! client-credentials token requests for the outbound token source).

use std::fmt;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::{AuthMethod, ClientError, ClientOptions, Clock};

/// RFC 7523 §2.2 `client_assertion_type`.
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A form body plus the optional `Authorization` header value that authenticate one request.
/// Both may contain secrets: they are only exposed to the HTTP client.
pub struct AuthenticatedForm {
    /// `application/x-www-form-urlencoded` body (Python `urlencode`/`quote_plus` escaping).
    pub body: SecretString,
    /// `Basic ...` for `client_secret_basic`.
    pub authorization: Option<SecretString>,
}

impl fmt::Debug for AuthenticatedForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticatedForm")
            .field("body", &"[REDACTED]")
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

/// Signing material for JWT client assertions, or why there is none (reported per request,
/// as upstream, which only fails when an assertion is made).
enum Signer {
    Ready { key: EncodingKey, alg: Algorithm },
    Broken(String),
}

#[derive(Clone)]
enum Credentials {
    Basic {
        client_id: String,
        secret: SecretString,
    },
    Post {
        client_id: String,
        secret: SecretString,
    },
    Tls {
        client_id: String,
    },
    Jwt {
        client_id: String,
        audience: String,
        lifetime: u64,
        signer: Arc<RwLock<Arc<Signer>>>,
    },
}

/// Adds the configured `auth_method`'s client authentication to a form POST.
///
/// Cheap to clone; the private key of `private_key_jwt` is read at construction and by
/// [`ClientAuthenticator::reload`] (SIGHUP), never per request.
#[derive(Clone)]
pub struct ClientAuthenticator {
    method: AuthMethod,
    credentials: Credentials,
    jwt_key_file: Option<std::path::PathBuf>,
    jwt_algorithm: Option<String>,
    group: String,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for ClientAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAuthenticator")
            .field("method", &self.method)
            .field("jwt_key_file", &self.jwt_key_file)
            .field("jwt_algorithm", &self.jwt_algorithm)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    jti: String,
    // RFC 7519 §2 NumericDate: numbers, not upstream's strings (a deliberate fix).
    iat: i64,
    exp: i64,
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
}

impl ClientAuthenticator {
    /// Check the options the method needs, in upstream's order (`client_id`, then
    /// basic/post: `client_secret`; private_key_jwt: `jwt_key_file`, `jwt_bearer_time_out`,
    /// `jwt_algorithm`; client_secret_jwt: `client_secret`, `jwt_bearer_time_out`,
    /// `jwt_algorithm`), with upstream's "not set" message. The JWT methods also need
    /// `audience`. Key-file and algorithm problems are logged here and fail each request
    /// (upstream checks neither at construction).
    pub fn new(options: &ClientOptions, clock: Arc<dyn Clock>) -> Result<Self, ClientError> {
        let client_id = options
            .client_id
            .clone()
            .ok_or_else(|| options.not_set("client_id"))?;
        let secret = || {
            options
                .client_secret
                .clone()
                .ok_or_else(|| options.not_set("client_secret"))
        };
        let credentials = match options.auth_method {
            AuthMethod::ClientSecretBasic => Credentials::Basic {
                client_id,
                secret: secret()?,
            },
            AuthMethod::ClientSecretPost => Credentials::Post {
                client_id,
                secret: secret()?,
            },
            AuthMethod::TlsClientAuth => Credentials::Tls { client_id },
            AuthMethod::PrivateKeyJwt | AuthMethod::ClientSecretJwt => {
                let client_secret = if options.auth_method == AuthMethod::PrivateKeyJwt {
                    if options.jwt_key_file.is_none() {
                        return Err(options.not_set("jwt_key_file"));
                    }
                    None
                } else {
                    Some(secret()?)
                };
                let lifetime = options
                    .jwt_bearer_time_out
                    .ok_or_else(|| options.not_set("jwt_bearer_time_out"))?;
                if options.jwt_algorithm.is_none() {
                    return Err(options.not_set("jwt_algorithm"));
                }
                let audience = options
                    .audience
                    .clone()
                    .ok_or_else(|| options.not_set("audience"))?;
                let signer = load_signer(
                    options.auth_method,
                    options.jwt_algorithm.as_deref(),
                    options.jwt_key_file.as_deref(),
                    client_secret.as_ref(),
                    &options.group,
                );
                if let Signer::Broken(why) = &signer {
                    tracing::warn!("client assertions cannot be signed, every request to the authorization server will fail until this is fixed: {why}");
                }
                Credentials::Jwt {
                    client_id,
                    audience,
                    lifetime,
                    signer: Arc::new(RwLock::new(Arc::new(signer))),
                }
            }
        };
        Ok(Self {
            method: options.auth_method,
            credentials,
            jwt_key_file: options.jwt_key_file.clone(),
            jwt_algorithm: options.jwt_algorithm.clone(),
            group: options.group.clone(),
            clock,
        })
    }

    pub fn method(&self) -> AuthMethod {
        self.method
    }

    /// Re-read `jwt_key_file` (private_key_jwt only). On failure the previous key is kept,
    /// so a half-written file during rotation does not break a working service.
    pub fn reload(&self) -> Result<(), ClientError> {
        let Credentials::Jwt { signer, .. } = &self.credentials else {
            return Ok(());
        };
        if self.method != AuthMethod::PrivateKeyJwt {
            return Ok(());
        }
        let fresh = load_signer(
            self.method,
            self.jwt_algorithm.as_deref(),
            self.jwt_key_file.as_deref(),
            None,
            &self.group,
        );
        match fresh {
            Signer::Broken(why) => {
                let previous_ok = matches!(
                    **signer.read().unwrap_or_else(|p| p.into_inner()),
                    Signer::Ready { .. }
                );
                if !previous_ok {
                    // Nothing better to keep: store the new reason.
                    *signer.write().unwrap_or_else(|p| p.into_inner()) =
                        Arc::new(Signer::Broken(why.clone()));
                }
                Err(ClientError::Credentials(why))
            }
            ready => {
                *signer.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(ready);
                tracing::info!(jwt_key_file = ?self.jwt_key_file, "reloaded the client assertion key");
                Ok(())
            }
        }
    }

    /// Reload the private key on every SIGHUP, for the life of the current tokio runtime.
    /// The handler is registered before this returns, so a SIGHUP right after start-up is
    /// not lost. Returns `None` when nothing needs reloading, no runtime is running, or the
    /// signal cannot be listened for (logged).
    pub fn spawn_reload_on_sighup(&self) -> Option<tokio::task::JoinHandle<()>> {
        if self.method != AuthMethod::PrivateKeyJwt {
            return None;
        }
        let handle = tokio::runtime::Handle::try_current().ok()?;
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let _entered = handle.enter();
            let mut hup = match signal(SignalKind::hangup()) {
                Ok(hup) => hup,
                Err(e) => {
                    tracing::warn!(
                        "cannot listen for SIGHUP, jwt_key_file will not be reloaded: {e}"
                    );
                    return None;
                }
            };
            let this = self.clone();
            Some(handle.spawn(async move {
                while hup.recv().await.is_some() {
                    if let Err(e) = this.reload() {
                        tracing::error!("SIGHUP: keeping the previous client assertion key: {e}");
                    }
                }
            }))
        }
        #[cfg(not(unix))]
        {
            let _ = handle;
            None
        }
    }

    /// Form body for `params` with this method's client authentication. Field order as
    /// keystonemiddleware: the method's fields first, then `params`.
    pub fn form(&self, params: &[(&str, &str)]) -> Result<AuthenticatedForm, ClientError> {
        let mut body = String::new();
        let mut authorization = None;
        match &self.credentials {
            Credentials::Basic { client_id, secret } => {
                // Upstream (requests' HTTPBasicAuth) does not form-encode id and secret first,
                // unlike RFC 6749 §2.3.1; strict servers and Keycloak accept both for plain ids.
                let raw = format!("{client_id}:{}", secret.expose_secret());
                let encoded = base64::engine::general_purpose::STANDARD.encode(raw.as_bytes());
                authorization = Some(SecretString::from(format!("Basic {encoded}")));
            }
            Credentials::Post { client_id, secret } => {
                push(&mut body, "client_id", client_id);
                push(&mut body, "client_secret", secret.expose_secret());
            }
            Credentials::Tls { client_id } => push(&mut body, "client_id", client_id),
            Credentials::Jwt {
                client_id,
                audience,
                lifetime,
                signer,
            } => {
                let assertion = self.assertion(client_id, audience, *lifetime, signer)?;
                push(&mut body, "client_id", client_id);
                push(
                    &mut body,
                    "client_assertion_type",
                    JWT_BEARER_ASSERTION_TYPE,
                );
                push(&mut body, "client_assertion", assertion.expose_secret());
            }
        }
        for (k, v) in params {
            push(&mut body, k, v);
        }
        Ok(AuthenticatedForm {
            body: SecretString::from(body),
            authorization,
        })
    }

    fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        lifetime: u64,
        signer: &RwLock<Arc<Signer>>,
    ) -> Result<SecretString, ClientError> {
        let signer = signer.read().unwrap_or_else(|p| p.into_inner()).clone();
        let (key, alg) = match &*signer {
            Signer::Ready { key, alg } => (key, *alg),
            Signer::Broken(why) => return Err(ClientError::Credentials(why.clone())),
        };
        let iat = self.clock.now_unix().round() as i64;
        let claims = AssertionClaims {
            jti: uuid::Uuid::new_v4().to_string(),
            iat,
            exp: iat.saturating_add(i64::try_from(lifetime).unwrap_or(i64::MAX)),
            iss: client_id,
            sub: client_id,
            aud: audience,
        };
        jsonwebtoken::encode(&Header::new(alg), &claims, key)
            .map(SecretString::from)
            .map_err(|e| ClientError::Credentials(format!("cannot sign the client assertion: {e}")))
    }
}

fn load_signer(
    method: AuthMethod,
    algorithm: Option<&str>,
    key_file: Option<&std::path::Path>,
    secret: Option<&SecretString>,
    group: &str,
) -> Signer {
    let Some(name) = algorithm else {
        return Signer::Broken(crate::options::not_set_message("jwt_algorithm", group));
    };
    let Ok(alg) = name.parse::<Algorithm>() else {
        return Signer::Broken(format!(
            "[{group}] jwt_algorithm = \"{name}\": not a supported JWS algorithm"
        ));
    };
    let hmac = matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512);
    match method {
        AuthMethod::ClientSecretJwt => {
            if !hmac {
                return Signer::Broken(format!(
                    "[{group}] jwt_algorithm = \"{name}\": client_secret_jwt needs an HMAC algorithm (HS256, HS384, HS512)"
                ));
            }
            let Some(secret) = secret else {
                return Signer::Broken(crate::options::not_set_message("client_secret", group));
            };
            Signer::Ready {
                key: EncodingKey::from_secret(secret.expose_secret().as_bytes()),
                alg,
            }
        }
        _ => {
            let Some(path) = key_file else {
                return Signer::Broken(crate::options::not_set_message("jwt_key_file", group));
            };
            let shown = path.display();
            if hmac {
                // PyJWT refuses an asymmetric PEM key as an HMAC secret.
                return Signer::Broken(format!(
                    "[{group}] jwt_algorithm = \"{name}\": private_key_jwt needs an asymmetric algorithm (RS*, PS*, ES*, EdDSA)"
                ));
            }
            if !path.is_file() {
                return Signer::Broken(format!(
                    "[{group}] jwt_key_file = \"{shown}\": the file does not exist or is not a regular file"
                ));
            }
            let pem = match std::fs::read(path) {
                Ok(pem) => pem,
                Err(e) => {
                    return Signer::Broken(format!(
                        "[{group}] jwt_key_file = \"{shown}\": cannot read the file: {e}"
                    ))
                }
            };
            if pem.iter().all(u8::is_ascii_whitespace) {
                return Signer::Broken(format!(
                    "[{group}] jwt_key_file = \"{shown}\": the file is empty"
                ));
            }
            let key = match alg {
                Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512 => EncodingKey::from_rsa_pem(&pem),
                Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(&pem),
                _ => EncodingKey::from_ed_pem(&pem),
            };
            match key {
                Ok(key) => Signer::Ready { key, alg },
                Err(e) => Signer::Broken(format!(
                    "[{group}] jwt_key_file = \"{shown}\": not a {name} private key in PEM: {e}"
                )),
            }
        }
    }
}

/// Append `k=v` with Python's `urlencode` (`quote_plus`) escaping: unreserved `A-Za-z0-9_.-~`
/// kept, space as `+`, everything else `%XX`.
fn push(body: &mut String, key: &str, value: &str) {
    if !body.is_empty() {
        body.push('&');
    }
    quote_plus(body, key);
    body.push('=');
    quote_plus(body, value);
}

fn quote_plus(out: &mut String, s: &str) {
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push_str(&format!("{b:02X}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SystemClock;
    use tacker_common::config::Section;

    fn opts(pairs: &[(&str, &str)]) -> ClientOptions {
        let mut s = Section::new("ext_oauth2_auth");
        for (k, v) in pairs {
            s.set(*k, *v, "tacker.conf");
        }
        ClientOptions::from_section(&s).unwrap()
    }

    fn auth(pairs: &[(&str, &str)]) -> Result<ClientAuthenticator, ClientError> {
        ClientAuthenticator::new(&opts(pairs), Arc::new(SystemClock))
    }

    #[test]
    fn quote_plus_matches_python() {
        let mut s = String::new();
        quote_plus(&mut s, "a+b/c=d e~_.-*");
        assert_eq!(s, "a%2Bb%2Fc%3Dd+e~_.-%2A");
    }

    #[test]
    fn basic_header_not_form_encoded() {
        let a = auth(&[("client_id", "my id"), ("client_secret", "p:w")]).unwrap();
        let f = a
            .form(&[("token", "t"), ("token_type_hint", "access_token")])
            .unwrap();
        assert_eq!(
            f.body.expose_secret(),
            "token=t&token_type_hint=access_token"
        );
        let expected = base64::engine::general_purpose::STANDARD.encode("my id:p:w");
        assert_eq!(
            f.authorization.unwrap().expose_secret(),
            format!("Basic {expected}")
        );
    }

    #[test]
    fn post_and_tls_field_order() {
        let a = auth(&[
            ("auth_method", "client_secret_post"),
            ("client_id", "c"),
            ("client_secret", "s"),
        ])
        .unwrap();
        assert_eq!(
            a.form(&[("token", "t")]).unwrap().body.expose_secret(),
            "client_id=c&client_secret=s&token=t"
        );
        let a = auth(&[("auth_method", "tls_client_auth"), ("client_id", "c")]).unwrap();
        assert_eq!(
            a.form(&[("token", "t")]).unwrap().body.expose_secret(),
            "client_id=c&token=t"
        );
    }

    #[test]
    fn required_options_in_upstream_order() {
        let msg = |r: Result<ClientAuthenticator, ClientError>| r.unwrap_err().to_string();
        assert_eq!(
            msg(auth(&[])),
            "Configuration error. The parameter is not set for \"client_id\" in group [ext_oauth2_auth]."
        );
        assert!(msg(auth(&[("client_id", "c")])).contains("\"client_secret\""));
        assert!(msg(auth(&[
            ("client_id", "c"),
            ("auth_method", "private_key_jwt")
        ]))
        .contains("\"jwt_key_file\""));
        assert!(msg(auth(&[
            ("client_id", "c"),
            ("auth_method", "client_secret_jwt"),
            ("client_secret", "s"),
            ("jwt_bearer_time_out", "0"),
        ]))
        .contains("\"jwt_bearer_time_out\""));
        assert!(msg(auth(&[
            ("client_id", "c"),
            ("auth_method", "client_secret_jwt"),
            ("client_secret", "s")
        ]))
        .contains("\"jwt_algorithm\""));
    }

    #[test]
    fn client_secret_jwt_assertion_has_numeric_times() {
        let a = auth(&[
            ("auth_method", "client_secret_jwt"),
            ("client_id", "cid"),
            ("client_secret", "an-hmac-secret"),
            ("jwt_algorithm", "HS256"),
            ("jwt_bearer_time_out", "2800"),
            ("audience", "https://as/realms/x"),
        ])
        .unwrap();
        let f = a.form(&[("token", "t")]).unwrap();
        let body = f.body.expose_secret().to_string();
        let assertion = form_urlencoded::parse(body.as_bytes())
            .find(|(k, _)| k == "client_assertion")
            .unwrap()
            .1
            .into_owned();
        let mut v = jsonwebtoken::Validation::new(Algorithm::HS256);
        v.set_audience(&["https://as/realms/x"]);
        let data = jsonwebtoken::decode::<serde_json::Value>(
            &assertion,
            &jsonwebtoken::DecodingKey::from_secret(b"an-hmac-secret"),
            &v,
        )
        .unwrap();
        let c = data.claims;
        assert!(c["iat"].is_i64() && c["exp"].is_i64());
        assert_eq!(
            c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
            2800
        );
        assert_eq!(c["iss"], "cid");
        assert_eq!(c["sub"], "cid");
        assert!(c["jti"].as_str().is_some_and(|j| j.len() == 36));
        assert!(body.starts_with("client_id=cid&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion="));
        assert!(!body.contains("client_secret"));
    }

    #[test]
    fn wrong_algorithm_fails_per_request_not_at_construction() {
        let a = auth(&[
            ("auth_method", "client_secret_jwt"),
            ("client_id", "cid"),
            ("client_secret", "s"),
            ("jwt_algorithm", "RS256"),
            ("audience", "a"),
        ])
        .unwrap();
        assert!(matches!(a.form(&[]), Err(ClientError::Credentials(_))));
    }

    #[test]
    fn debug_redacts_secrets() {
        let a = auth(&[("client_id", "c"), ("client_secret", "very-secret")]).unwrap();
        let f = a.form(&[("token", "tok-123")]).unwrap();
        let dbg = format!("{a:?} {f:?}");
        assert!(
            !dbg.contains("very-secret") && !dbg.contains("tok-123"),
            "{dbg}"
        );
    }
}
