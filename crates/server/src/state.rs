//! The state shared by every app of one server process.

use std::sync::Arc;

use axum::Router;
use tacker_oauth2_client::SystemClock;
use tacker_outbound::BarbicanClient;
use tacker_vim::drivers::{registry, DriverConfig};
use tacker_vim::vault::FileKeyManager;
use tacker_vim::KeyManager;
use tacker_vim::VimState;

use crate::config::{redact_url, ServerConfig};
use crate::key_manager::BarbicanKeys;
use crate::StartupError;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<ServerConfig>,
    pub vims: VimState,
}

impl AppState {
    /// Open the database named by `[database] connection` (migrations run) and set up the
    /// VIM drivers with file-based Fernet keys under `[vim_keys] openstack`.
    pub async fn open(config: Arc<ServerConfig>) -> Result<Self, StartupError> {
        let started = std::time::SystemTime::now();
        let store = tacker_vim::connect_with(&config.database.connection, &config.database.pool)
            .await
            .map_err(|source| StartupError::Store {
                file: config
                    .files()
                    .last()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                connection: redact_url(&config.database.connection),
                source,
            })?;
        let driver_cfg = DriverConfig {
            fernet_key_dir: config.vim_keys.openstack.clone(),
            openstack_use_barbican: config.vim_keys.use_barbican,
            k8s_use_barbican: config.k8s_vim.use_barbican,
            endpoints: config.vim_endpoints.clone(),
        };
        let file_keys = FileKeyManager::new(config.vim_keys.openstack.clone());
        // As upstream's driver start-up: the key directory exists (0700) before the first VIM.
        file_keys
            .ensure_dir()
            .map_err(|source| StartupError::KeyDirectory {
                path: config.vim_keys.openstack.display().to_string(),
                source,
            })?;
        // Barbican only when a driver is configured to keep its keys there. The service
        // credentials come from `[ext_oauth2_auth]` (use_ext_oauth2_auth = True) or the
        // `[keystone_authtoken]` service user, as Tacker's service context.
        let barbican = if driver_cfg.openstack_use_barbican || driver_cfg.k8s_use_barbican {
            BarbicanClient::from_options(
                config.key_manager.clone(),
                &config.service_auth,
                Arc::new(SystemClock),
            )?
            .map(|client| Arc::new(BarbicanKeys(client)) as Arc<dyn KeyManager>)
        } else {
            None
        };
        // A crash may have left staged or orphan key files behind: settle those written
        // before this start (newer ones belong to a running server sharing the directory).
        // A file written shortly before the start may be another replica's create or update
        // whose row has not committed yet: only files older than the grace period are
        // settled now, the rest once they are that old.
        let grace = config.vim_keys.orphan_key_grace;
        let settled_now = started.checked_sub(grace).unwrap_or(std::time::UNIX_EPOCH);
        settle_key_directory(&file_keys, store.as_ref(), settled_now).await;
        if !grace.is_zero() {
            let (file_keys, store) = (file_keys.clone(), store.clone());
            tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                settle_key_directory(&file_keys, store.as_ref(), started).await;
            });
        }
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

    /// The `/v1.0` VIM resources, routed by the `extensions` filter.
    pub fn vim_routes(&self) -> Router {
        tacker_vim::api_routes(self.vims.clone())
    }
}

/// [`FileKeyManager::sweep`] of the files written before `before`, logged.
async fn settle_key_directory(
    file_keys: &FileKeyManager,
    store: &dyn tacker_vim::VimStore,
    before: std::time::SystemTime,
) {
    match file_keys.sweep(store, before).await {
        Ok(swept) if swept != Default::default() => tracing::info!(
            promoted = swept.promoted,
            removed = swept.removed,
            "VIM key directory settled after an interrupted run"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not settle the VIM key directory"),
    }
}
