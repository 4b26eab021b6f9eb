//! How this service authenticates on its own behalf, read once from tacker.conf when the
//! configuration is loaded: Tacker's `generate_tacker_service_context()` choice between the
//! `[ext_oauth2_auth]` client-credentials token source (`use_ext_oauth2_auth = True`) and the
//! `[keystone_authtoken]` service user.

use std::sync::Arc;

use tacker_common::config::Section;
use tacker_oauth2_client::Clock;

use crate::barbican::{default_http_client, BarbicanClient, KeyManagerOptions, ServiceAuth};
use crate::keystone::{KeystoneClient, KeystoneOptions};
use crate::token::{use_ext_oauth2_auth, TokenSource, TokenSourceOptions};
use crate::{BarbicanError, TokenError};

/// `[ext_oauth2_auth] use_ext_oauth2_auth` and the options of the mode it picks, converted.
/// `Debug` redacts the secrets.
#[derive(Clone, Debug)]
pub enum ServiceAuthOptions {
    /// `use_ext_oauth2_auth = True`: tokens from `[ext_oauth2_auth] token_endpoint`.
    ExtOAuth2(TokenSourceOptions),
    /// `use_ext_oauth2_auth` false (the default): the `[keystone_authtoken]` service user.
    Keystone(KeystoneOptions),
    /// `use_ext_oauth2_auth` false and `[keystone_authtoken]` lacks a required option (the
    /// message names it): nothing can reach Barbican, which only matters to a VIM driver
    /// that keeps its keys there.
    Unavailable(String),
}

impl ServiceAuthOptions {
    /// Read both groups (tacker.conf values, `$` references already substituted). A bad
    /// `use_ext_oauth2_auth`, and in external mode a missing or bad token source option,
    /// refuse start-up with upstream's text; an incomplete `[keystone_authtoken]` does not.
    pub fn from_sections(
        ext_oauth2_auth: &Section,
        keystone_authtoken: &Section,
    ) -> Result<Self, TokenError> {
        if use_ext_oauth2_auth(ext_oauth2_auth)? {
            return Ok(Self::ExtOAuth2(TokenSourceOptions::from_section(
                ext_oauth2_auth,
            )?));
        }
        Ok(match KeystoneOptions::from_section(keystone_authtoken) {
            Ok(options) => Self::Keystone(options),
            Err(why) => Self::Unavailable(why.to_string()),
        })
    }
}

impl ServiceAuth {
    /// The service credentials of `options`: the token source's HTTP client and client
    /// authentication are built now (a file that cannot be read refuses start-up).
    /// [`ServiceAuthOptions::Unavailable`] is the error, with its message.
    pub fn from_options(
        options: &ServiceAuthOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, BarbicanError> {
        match options {
            ServiceAuthOptions::ExtOAuth2(token) => {
                Ok(Self::ExtOAuth2(TokenSource::from_options(token, clock)?))
            }
            ServiceAuthOptions::Keystone(keystone) => Ok(Self::Keystone(KeystoneClient::new(
                keystone.clone(),
                default_http_client()?,
                clock,
            ))),
            ServiceAuthOptions::Unavailable(why) => Err(BarbicanError::Config(why.clone())),
        }
    }
}

impl BarbicanClient {
    /// The Barbican client of the server's configuration:
    /// * external mode: the token source of `[ext_oauth2_auth]`, reloading `jwt_key_file` on
    ///   SIGHUP; a file that cannot be used is an error (refuse start-up);
    /// * Keystone mode: the `[keystone_authtoken]` service user;
    /// * neither usable: `Ok(None)` (logged): the drivers then answer each Barbican-bound
    ///   registration with a `KeyManagerError`, and servers that never use Barbican start.
    pub fn from_options(
        key_manager: KeyManagerOptions,
        service_auth: &ServiceAuthOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Option<Self>, BarbicanError> {
        let auth = match ServiceAuth::from_options(service_auth, clock) {
            Ok(auth) => auth,
            Err(why) if matches!(service_auth, ServiceAuthOptions::Unavailable(_)) => {
                tracing::warn!("Barbican key manager disabled: {why}");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        if let ServiceAuth::ExtOAuth2(source) = &auth {
            // private_key_jwt: the key is read once here and again on each SIGHUP.
            source.spawn_reload_on_sighup();
        }
        Self::new(key_manager, auth).map(Some)
    }
}
