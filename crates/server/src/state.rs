//! The state shared by every app of one server process.

use std::sync::Arc;

use axum::Router;
use tacker_oauth2_client::SystemClock;
use tacker_outbound::BarbicanKeyManager;
use tacker_vim::drivers::{registry, DriverConfig};
use tacker_vim::vault::FileKeyManager;
use tacker_vim::KeyManager;
use tacker_vim::{VimError, VimState};

use crate::config::{redact_url, ServerConfig};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<ServerConfig>,
    pub vims: VimState,
}

impl AppState {
    /// Open the database named by `[database] connection` (migrations run) and set up the
    /// VIM drivers with file-based Fernet keys under `[vim_keys] openstack`.
    pub async fn open(config: Arc<ServerConfig>) -> Result<Self, String> {
        let store = tacker_vim::store::connect(&config.database.connection)
            .await
            .map_err(|e: VimError| {
                format!(
                    "{} [database] connection = \"{}\": {e}",
                    config
                        .files()
                        .last()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    redact_url(&config.database.connection)
                )
            })?;
        let driver_cfg = DriverConfig {
            fernet_key_dir: config.vim_keys.openstack.clone(),
            openstack_use_barbican: config.vim_keys.use_barbican,
            k8s_use_barbican: config.k8s_vim.use_barbican,
        };
        let file_keys = FileKeyManager::new(config.vim_keys.openstack.clone());
        // As upstream's driver start-up: the key directory exists (0700) before the first VIM.
        file_keys.ensure_dir().map_err(|e| {
            format!(
                "[vim_keys] openstack = \"{}\": cannot create the key directory: {e}",
                config.vim_keys.openstack.display()
            )
        })?;
        // Barbican only when a driver is configured to keep its keys there. The service
        // credentials come from `[ext_oauth2_auth]` (use_ext_oauth2_auth = True) or the
        // `[keystone_authtoken]` service user, as Tacker's service context.
        let barbican = if driver_cfg.openstack_use_barbican || driver_cfg.k8s_use_barbican {
            BarbicanKeyManager::from_options(
                config.key_manager.clone(),
                &config.service_auth,
                Arc::new(SystemClock),
            )?
            .map(|km| Arc::new(km) as Arc<dyn KeyManager>)
        } else {
            None
        };
        let drivers = registry(&driver_cfg, Arc::new(file_keys), barbican);
        Ok(Self {
            vims: VimState::new(store, drivers),
            config,
        })
    }

    /// `https` when the listener serves TLS (`[DEFAULT] use_ssl`), as WSGI `url_scheme`.
    pub fn scheme(&self) -> &'static str {
        if self.config.default.listener.use_ssl {
            "https"
        } else {
            "http"
        }
    }

    /// `bind_host:bind_port`, for requests without a `Host` header.
    pub fn fallback_host(&self) -> String {
        let d = &self.config.default.listener;
        if d.bind_host.contains(':') {
            format!("[{}]:{}", d.bind_host, d.bind_port)
        } else {
            format!("{}:{}", d.bind_host, d.bind_port)
        }
    }

    /// The `/v1.0` VIM resources, served by the `extensions` filter.
    pub fn vim_router(&self) -> Router {
        tacker_vim::api_router(self.vims.clone())
    }
}
