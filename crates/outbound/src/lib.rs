//! Calls this service makes on its own behalf: the client-credentials token source that
//! stands in for Tacker's `ExtOAuth2Auth` (`[ext_oauth2_auth] use_ext_oauth2_auth`), and the
//! Barbican key manager (`tacker/keymgr/barbican_key_manager.py`) with the Keystone client it
//! uses when external OAuth 2.0 is off.
//!
//! Configuration: [`ServiceAuthOptions::from_sections`] and [`KeyManagerOptions::from_section`]
//! when tacker.conf is loaded; start-up: [`BarbicanKeyManager::from_options`] (or
//! [`ServiceAuth::from_options`], [`TokenSource::new`] / [`KeystoneClient::new`], then
//! [`BarbicanKeyManager::new`]); the result implements `tacker_vim::KeyManager`.

mod barbican;
mod error;
mod keystone;
mod options;
mod token;

pub use barbican::{default_http_client, BarbicanKeyManager, KeyManagerOptions, ServiceAuth};
pub use error::TokenError;
pub use keystone::{KeystoneClient, KeystoneOptions, KeystoneSession};
pub use options::ServiceAuthOptions;
pub use token::{use_ext_oauth2_auth, AccessToken, TokenSource, TokenSourceOptions, GROUP};
