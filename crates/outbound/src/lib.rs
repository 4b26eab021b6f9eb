//! Calls this service makes on its own behalf: the client-credentials token source that
//! stands in for Tacker's `ExtOAuth2Auth` (`[ext_oauth2_auth] use_ext_oauth2_auth`), and the
//! Barbican key manager (`tacker/keymgr/barbican_key_manager.py`) with the Keystone client it
//! uses when external OAuth 2.0 is off.
//!
//! Configuration: [`ServiceAuthOptions::from_sections`] and [`KeyManagerOptions::from_section`]
//! when tacker.conf is loaded; start-up: [`BarbicanClient::from_options`] (or
//! [`ServiceAuth::from_options`], [`TokenSource::new`] / [`KeystoneClient::new`], then
//! [`BarbicanClient::new`]). The server adapts the client to the VIM registry's key manager;
//! this crate knows nothing about VIMs.

mod barbican;
mod error;
mod keystone;
mod options;
mod token;

pub use barbican::{default_http_client, BarbicanClient, KeyManagerOptions, ServiceAuth};
pub use error::{BarbicanError, TokenError};
pub use keystone::{KeystoneClient, KeystoneOptions, KeystoneSession};
pub use options::ServiceAuthOptions;
pub use token::{use_ext_oauth2_auth, AccessToken, TokenSource, TokenSourceOptions, GROUP};
