//! The admin listener: the admin API and web console (sallyport-console), wired to the
//! running gateway, its stores, and reload from the config file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use sallyport_config::Config;
use sallyport_config::admin::AdminConfig;
use sallyport_console::{AdminState, Control};

use crate::runtime::{Running, load_config};

/// Reload and config access for the console: the config file the gateway was started with.
struct FileControl {
    path: PathBuf,
    running: Arc<Running>,
}

impl Control for FileControl {
    fn reload(&self) -> Result<String, String> {
        let config = load_config(&self.path).map_err(|e| format!("{e:#}"))?;
        self.running.reload(&config).map_err(|e| format!("{e:#}"))?;
        tracing::info!(path = %self.path.display(), "Configuration reloaded (admin API).");
        Ok(format!("{} reloaded", self.path.display()))
    }

    fn policy_files(&self) -> Option<Vec<PathBuf>> {
        let config = load_config(&self.path).ok()?;
        config.authz.map(|a| a.policy_files)
    }
}

/// Binds the admin listener (when `admin:` is configured) and serves it in the background
/// until `shutdown`.
pub(crate) async fn spawn(
    config: &Config,
    path: &Path,
    running: &Arc<Running>,
) -> anyhow::Result<()> {
    let Some(admin) = &config.admin else {
        return Ok(());
    };
    let state = Arc::new(state(admin, config, path, running)?);
    let tls = crate::tls::admin_acceptor(config)?;
    let listener = tokio::net::TcpListener::bind(admin.listen)
        .await
        .with_context(|| format!("binding the admin listener {}", admin.listen))?;
    let bound = listener.local_addr()?;
    if !bound.ip().is_loopback() && tls.is_none() {
        tracing::warn!(%bound, "The admin listener is on a non-loopback address without TLS: set admin.tls or put TLS in front of it.");
    }
    let console = if admin.console {
        ", console at /console/"
    } else {
        ""
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(addr = %bound, "Admin API at {scheme}://{bound}/admin/ (OpenAPI at /admin/openapi.json){console}.");
    tokio::spawn(async move {
        let shutdown = crate::runtime::shutdown_signal();
        if let Err(error) = sallyport_console::serve(listener, state, tls, shutdown).await {
            tracing::error!(%error, "The admin listener stopped.");
        }
    });
    Ok(())
}

fn state(
    admin: &AdminConfig,
    config: &Config,
    path: &Path,
    running: &Arc<Running>,
) -> anyhow::Result<AdminState> {
    let control = Arc::new(FileControl {
        path: path.to_owned(),
        running: running.clone(),
    });
    let mut state = AdminState::new(
        admin.clone(),
        running.gateway.clone(),
        running.bus.clone(),
        control,
    );
    state.audit = running.audit.clone();
    if let Some(detect) = &config.detect {
        let store = sallyport_guards::open_store(detect)
            .context("opening the pin store for the admin API")?;
        state.pins = Some(Arc::new(store));
    }
    state.incidents = running.response_handles.incidents.clone();
    Ok(state)
}
