//! Start-up wiring shared by the commands: logging, config, the gateway.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use rand::RngCore;
use sallyport_config::Config;
use sallyport_transport::bus::DecisionBus;
use sallyport_transport::{Gateway, build};
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Logs go to stderr (stdout may be the MCP channel).
pub(crate) fn init_logging(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Loads and validates a config file, with every error listed.
pub(crate) fn load_config(path: &Path) -> anyhow::Result<Config> {
    match sallyport_config::load_file(path) {
        Ok(c) => Ok(c),
        Err(errors) => bail!(
            "{} has {} error(s):\n{errors}",
            path.display(),
            errors.len()
        ),
    }
}

/// Everything a running gateway needs that outlives a reload.
pub(crate) struct Running {
    pub(crate) gateway: Arc<Gateway>,
    pub(crate) bus: DecisionBus,
    pub(crate) cursor_key: [u8; 32],
}

impl Running {
    /// A gateway for `config`, publishing decisions on a new bus.
    pub(crate) fn start(config: &Config) -> anyhow::Result<Self> {
        let bus = DecisionBus::new(4096);
        let mut cursor_key = [0u8; 32];
        rand::rng().fill_bytes(&mut cursor_key);
        let core = build::core(config, Arc::new(bus.clone()), &cursor_key)
            .context("building the gateway")?;
        Ok(Self {
            gateway: Gateway::new(core),
            bus,
            cursor_key,
        })
    }

    /// Publishes a new config; the old one stays when this one cannot be built.
    pub(crate) fn reload(&self, config: &Config) -> anyhow::Result<()> {
        let core = build::core(config, Arc::new(self.bus.clone()), &self.cursor_key)?;
        self.gateway.reload(core);
        Ok(())
    }
}

/// Ends idle legacy sessions once a minute.
pub(crate) fn spawn_session_reaper(gw: Arc<Gateway>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            gw.reap_idle_sessions().await;
        }
    });
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub(crate) async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}
