//! `tacker-server [check-config [--probe]] --config-file PATH [--config-file PATH ...]
//! [--config-dir DIR]`

use std::process::ExitCode;
use std::sync::Arc;

use tacker_server::listener::{self, ListenerConfig};
use tacker_server::{Cli, ServerConfig};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::parse_from(std::env::args_os().skip(1)) {
        Ok(cli) => cli.or_default_files(),
        Err(e) => e.exit(),
    };
    if let tacker_server::config::Command::CheckConfig { probe } = cli.command {
        return if tacker_server::check::run(&cli.sources, probe).await {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let (config, warnings) = match ServerConfig::load(&cli.sources) {
        Ok(loaded) => loaded,
        Err(e) => return fail(&e),
    };

    // RUST_LOG wins; otherwise `[DEFAULT] debug` picks DEBUG or INFO, as oslo.log.
    if let Err(e) = tacker_server::logging::init(config.default.debug, &config.default.logging) {
        return fail(&e);
    }
    for w in &warnings {
        tracing::warn!("{w}");
    }
    tracing::info!(
        files = ?config.files(),
        paste = %config.default.api_paste_config.display(),
        auth_strategy = config.default.auth_strategy.key(),
        "configuration loaded"
    );

    let listener_cfg = match ListenerConfig::from_options(&config.default.listener) {
        Ok(cfg) => cfg,
        Err(e) => return fail(&e),
    };
    // The recorder goes in before anything emits; without `[metrics] bind_port` nothing is
    // recorded.
    let metrics_addr = config.metrics.addr();
    let recorder = match metrics_addr.map(|_| tacker_server::metrics::install()) {
        Some(Err(e)) => return fail(&format!("[metrics]: {e}")),
        Some(Ok(handle)) => Some(handle),
        None => None,
    };
    let config = Arc::new(config);
    let (state, app) = match tacker_server::build(config).await {
        Ok(built) => built,
        Err(e) => return fail(&e),
    };
    if let (Some(addr), Some(handle)) = (metrics_addr, recorder) {
        if let Err(e) =
            tacker_server::metrics::serve(addr, handle, state.vims.store().clone()).await
        {
            return fail(&format!(
                "[metrics] bind_host:bind_port = {addr}: cannot listen: {e}"
            ));
        }
    }
    match listener::serve(listener_cfg, app, listener::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &dyn std::fmt::Display) -> ExitCode {
    // Logging may not be set up yet: the reason always goes to stderr.
    eprintln!("tacker-server: {e}");
    tracing::error!("{e}");
    ExitCode::FAILURE
}
