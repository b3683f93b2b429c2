//! Trace export wiring: which spans leave the process, and which reach the logs.
//!
//! Logging starts before a command loads its config, so for `serve` and `stdio` the config's
//! `tracing` section is read here first (a file with errors starts no export: the command
//! reports them when it loads the file itself). The export owns its runtime and flushes when
//! the returned [`TraceExport`] is dropped, after the command has finished.

use std::path::Path;
use std::time::Duration;

use sallyport_config::telemetry::TracingConfig;
use sallyport_telemetry::otlp::{OtlpError, OtlpExport, OtlpSettings};
use sallyport_transport::exchange_span;
use tracing_subscriber::filter::{FilterExt, LevelFilter, Targets};
use tracing_subscriber::layer::{Filter, Layer};
use tracing_subscriber::{EnvFilter, Registry};

use crate::cli::Command;

/// A layer of the global subscriber.
pub(crate) type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// A running OTLP export; dropping it flushes the spans still queued.
pub(crate) struct TraceExport {
    otlp: Option<OtlpExport>,
    endpoint: String,
}

impl TraceExport {
    /// Starts the export the `tracing` section of the config at `path` asks for, if any.
    pub(crate) fn start(path: &Path) -> Option<Result<Self, OtlpError>> {
        let config = sallyport_config::load_file(path).ok()?;
        let tracing = config.tracing?;
        let started = OtlpExport::start(settings(&tracing)).map(|otlp| Self {
            otlp: Some(otlp),
            endpoint: tracing.otlp_endpoint.clone(),
        });
        Some(started)
    }

    /// The layer that exports exchange spans, with warnings and errors inside them as events.
    pub(crate) fn layer(&self) -> Option<BoxedLayer> {
        let exported = Targets::new()
            .with_default(LevelFilter::WARN)
            .with_target(exchange_span::TARGET, LevelFilter::INFO);
        let otlp = self.otlp.as_ref()?;
        Some(otlp.layer().with_filter(exported).boxed())
    }

    /// Where spans go.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl Drop for TraceExport {
    fn drop(&mut self) {
        let Some(otlp) = self.otlp.take() else { return };
        match otlp.shutdown() {
            Ok(()) => tracing::debug!("Trace export flushed."),
            Err(error) => tracing::warn!(%error, "Trace export not flushed; spans may be lost."),
        }
    }
}

/// The config file of the commands that run the gateway.
pub(crate) fn config_path(command: &Command) -> Option<&Path> {
    match command {
        Command::Serve { config, .. } | Command::Stdio { config, .. } => Some(config.as_path()),
        _ => None,
    }
}

/// What the logs show: the `--log` filter, and always the exchange spans, so that every line
/// logged inside an exchange carries its `exchange_id` whatever the level.
pub(crate) fn log_filter(filter: EnvFilter) -> impl Filter<Registry> + Send + Sync {
    filter.or(Targets::new().with_target(exchange_span::TARGET, LevelFilter::INFO))
}

fn settings(config: &TracingConfig) -> OtlpSettings {
    let mut settings = OtlpSettings::new(config.otlp_endpoint.clone());
    settings.service_name.clone_from(&config.service_name);
    settings.service_version = Some(env!("CARGO_PKG_VERSION").to_owned());
    settings.sample_ratio = f64::from(config.sample_ratio_percent) / 100.0;
    settings.headers = config
        .headers
        .iter()
        .map(|(name, value)| (name.clone(), value.expose().to_owned()))
        .collect();
    settings.timeout = Duration::from_secs(config.timeout_secs);
    settings
}
