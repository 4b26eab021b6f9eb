//! The paste filters, one tower layer each, named after the filter
//! (`keystonecontext` lives in `tacker_auth` next to the identity it builds).

mod catch_errors;
mod extensions;
mod noauth;
mod request_id;

pub use catch_errors::{CatchErrors, CatchErrorsLayer};
pub use extensions::ExtensionsLayer;
pub use noauth::{NoAuthContext, NoAuthContextLayer};
pub use request_id::{RequestIdLayer, RequestIdService};
