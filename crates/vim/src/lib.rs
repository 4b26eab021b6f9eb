//! The VIM registry: Tacker's `/v1.0/vims` API (`tacker/api/v1`, `tacker/nfvo/nfvo_plugin.py`,
//! `tacker/db/nfvo/nfvo_db.py`), its storage, the credential vault (Fernet keys in files or a key
//! manager) and the OpenStack / Kubernetes VIM drivers that check reachability on registration.

pub mod drivers;
pub mod error;
pub mod model;
pub mod vault;

pub use drivers::VimDriver;
pub use error::VimError;
pub use model::Vim;
pub use vault::{KeyManager, KeyRef};
