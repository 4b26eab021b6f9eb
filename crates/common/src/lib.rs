//! What Tacker's Python stack gives every part of the service for free, reproduced here once:
//! oslo.config-style option sections (`config`), JSON bodies as Python's `json.dumps` writes
//! them (`pyjson`: `", "` / `": "` separators, ASCII-only output), WebOb's default HTML
//! error pages (`webob`), and the request-scoped values every layer shares (`context`:
//! oslo.context's `RequestContext`, the request id, the TLS peer certificate).

pub mod accept;
pub mod clock;
pub mod config;
mod context;
pub mod ini;
pub mod py;
mod pyjson;
pub mod webob;

pub use context::{Identity, MissingContext, PeerCertificate, RequestContext, RequestId};
pub use pyjson::{to_py_json, PyJson};
pub use webob::WebObError;
