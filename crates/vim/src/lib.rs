//! The VIM registry: Tacker's `/v1.0/vims` API (`tacker/api/v1`, `tacker/nfvo/nfvo_plugin.py`,
//! `tacker/db/nfvo/nfvo_db.py`), its storage, the credential vault (Fernet keys in files or a key
//! manager) and the OpenStack / Kubernetes VIM drivers that check reachability on registration.

mod api;
mod attributes;
pub mod drivers;
pub mod error;
#[cfg(test)]
mod fuzz_tests;
mod list_cache;
mod mask;
pub mod model;
mod policy;
pub mod store;
pub mod vault;
mod view;

pub use api::{api_router, api_routes, VimState};
pub use drivers::{DriverRegistry, VimDriver};
pub use error::VimError;
pub use mask::{mask_dict_password, mask_password};
pub use model::Vim;
pub use store::{
    connect, connect_with, MySqlVimStore, PoolOptions, PostgresVimStore, Scope, SqliteVimStore,
    VimFilter, VimStore,
};
pub use vault::{KeyManager, KeyRef};
