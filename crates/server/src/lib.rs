//! The `tacker-server` binary's library half: oslo.config-style configuration
//! (`tacker.conf`), PasteDeploy pipelines (`api-paste.ini`), the oslo.middleware filters, the
//! root / extensions / SOL013 apps and the HTTP(S) listener. Stands in for Tacker's
//! `tacker-server` (`tacker/cmd/eventlet/tacker_server.py`, `tacker/wsgi.py`).

pub mod apps;
pub mod check;
pub mod config;
pub mod filters;
pub mod key_manager;
pub mod listener;
pub mod logging;
pub mod metrics;
pub mod paste;
pub mod pipeline;
pub mod sol;
pub mod state;

use std::sync::Arc;

use axum::Router;

pub use config::{AuthStrategy, Cli, ConfigError, ServerConfig};
pub use paste::{PasteApp, PasteError};
pub use pipeline::{build_app, PipelineError};
pub use state::AppState;

/// Anything that stops the server from starting; the message names the file, section,
/// option and value at fault.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Paste(#[from] PasteError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// The database cannot be opened or migrated; the URL is shown without its password.
    #[error("{file} [database] connection = \"{connection}\": {source}")]
    Store {
        file: String,
        connection: String,
        source: tacker_vim::VimError,
    },
    /// `[vim_keys] openstack` cannot be created (upstream creates it at driver start-up).
    #[error("[vim_keys] openstack = \"{path}\": cannot create the key directory: {source}")]
    KeyDirectory {
        path: String,
        source: std::io::Error,
    },
    /// Barbican is configured for VIM keys but its options are wrong.
    #[error(transparent)]
    Barbican(#[from] tacker_outbound::BarbicanError),
}

/// Load `api-paste.ini`, open the store and build the whole application for `config`.
pub async fn build(config: Arc<ServerConfig>) -> Result<(AppState, Router), StartupError> {
    // The paste file is checked before the database is touched, so a bad pipeline never
    // creates or migrates a database.
    let paste = PasteApp::load_file(
        &config.default.api_paste_config,
        config.default.auth_strategy,
    )?;
    let state = AppState::open(config).await?;
    let app = build_app(&state, &paste)?;
    Ok((state, app))
}
