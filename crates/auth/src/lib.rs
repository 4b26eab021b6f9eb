//! Inbound authentication for the Tacker-compatible API: the request identity
//! (`RequestContext`, Tacker's `tacker.context.Context` built by `tacker.auth:TackerKeystoneContext`)
//! and the OAuth 2.0 token filter that stands in for keystonemiddleware's
//! `external_oauth2_token` (RFC 7662 introspection, claim mapping, token cache in process or
//! shared with Python nodes through memcached, RFC 8705 certificate-bound tokens).

mod cache;
mod error;
#[cfg(test)]
mod fuzz_tests;
mod keystone_context;
mod layer;
mod mapping;
mod memcache;
mod memcache_crypt;
mod memo;
mod options;
mod token_data;
#[cfg(test)]
mod upstream_vectors;

pub use cache::{cache_key, memcache_key, CacheLimits};
pub use error::AuthError;
pub use keystone_context::{
    context_from_headers, IdentitySource, KeystoneContext, KeystoneContextLayer,
};
pub use layer::{ExternalOAuth2Layer, ExternalOAuth2Service, DEFAULT_INTROSPECTION_TIMEOUT};
pub use mapping::{AuthContext, Scope};
pub use options::{is_filter_option, ExtOAuth2Options, MappingOptions, SecurityStrategy};
pub use tacker_oauth2_client::{Clock, SystemClock};
