//! How this service authenticates itself to the external OAuth 2.0 authorization server.
//!
//! Shared by both directions: the inbound introspection client (keystonemiddleware
//! `external_oauth2_token`, crate `tacker-auth`) and the outbound client-credentials token
//! source (Tacker's `tacker.common.ext_oauth2_auth.ExtOAuth2Auth`, crate `tacker-outbound`).
//! It owns the `[ext_oauth2_auth]` connection options (`certfile`, `keyfile`, `cafile`,
//! `insecure`, `http_connect_timeout`) and the five client authentication methods.

mod authenticator;
mod client;
mod error;
pub mod options;

pub use authenticator::{AuthenticatedForm, ClientAuthenticator};
pub use client::{build_http_client, OAuth2Client};
pub use error::ClientError;
pub use options::{AuthMethod, ClientOptions};
pub use tacker_common::clock::{Clock, SystemClock};
