//! Export: JSON Lines and CEF files, and push exporters (syslog, webhook).

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

use crate::chain::ChainEntry;
use crate::config::ExporterConfig;

pub mod cef;
pub mod syslog;
pub mod webhook;

pub use syslog::{SyslogConfig, SyslogExporter, SyslogProtocol};
pub use webhook::{WebhookConfig, WebhookExporter};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Writing or sending failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A stored event could not be parsed.
    #[error("event at seq {seq} is not valid: {source}")]
    BadEvent {
        /// Where.
        seq: u64,
        /// Parser error.
        source: serde_json::Error,
    },
    /// The HTTP request failed.
    #[error("webhook: {0}")]
    Http(#[from] reqwest::Error),
    /// The webhook answered with a non-success status after all retries.
    #[error("webhook answered {status} after {attempts} attempts")]
    Status {
        /// The last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// A syslog message does not fit one UDP datagram.
    #[error("syslog message of {0} bytes is too large for UDP")]
    TooLarge(usize),
    /// The secret's environment variable is not set.
    #[error("environment variable {0} (webhook secret) is not set")]
    MissingSecret(String),
}

/// File export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// One `{"seq","prev_hash","hash","event"}` object per line: verifiable offline.
    Jsonl,
    /// ArcSight Common Event Format, one event per line.
    Cef,
}

/// Format one entry as a line (without the newline).
pub fn format_entry(entry: &ChainEntry, format: ExportFormat) -> Result<String, ExportError> {
    match format {
        ExportFormat::Jsonl => Ok(entry.to_json_line()),
        ExportFormat::Cef => cef::to_cef(entry),
    }
}

/// The future an exporter returns.
pub type ExportFuture<'a> = Pin<Box<dyn Future<Output = Result<(), ExportError>> + Send + 'a>>;

/// Pushes entries somewhere (a SIEM).
pub trait Exporter: Send + Sync {
    /// Stable name for logs and metrics.
    fn name(&self) -> &'static str;
    /// Deliver the entries, in order; `Ok` only once all were accepted.
    fn export<'a>(&'a self, entries: &'a [ChainEntry]) -> ExportFuture<'a>;
}

/// Build the exporter described by `config`.
pub fn build_exporter(config: &ExporterConfig) -> Result<Box<dyn Exporter>, ExportError> {
    match config {
        ExporterConfig::Syslog(c) => Ok(Box::new(SyslogExporter::new(c.clone()))),
        ExporterConfig::Webhook(c) => Ok(Box::new(WebhookExporter::from_config(c)?)),
    }
}
