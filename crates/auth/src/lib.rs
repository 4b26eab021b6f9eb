//! Inbound authentication for the Tacker-compatible API: the request identity
//! (`RequestContext`, Tacker's `tacker.context.Context` built by `tacker.auth:TackerKeystoneContext`)
//! and the OAuth 2.0 token filter that stands in for keystonemiddleware's
//! `external_oauth2_token` (RFC 7662 introspection, claim mapping, token cache, RFC 8705
//! certificate-bound tokens).

mod context;
mod keystone_context;

pub use context::{PeerCertificate, RequestContext, RequestId};
pub use keystone_context::{context_from_headers, KeystoneContext, KeystoneContextLayer};
