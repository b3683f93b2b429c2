//! Sallyport's audit log: hash-chained events, Ed25519-signed checkpoints, SQLite and
//! PostgreSQL stores, verification that names the first break, retention by class, and
//! export (JSON Lines, CEF, syslog, webhook). The design is in `docs/audit.md`.
//!
//! ```no_run
//! # async fn demo(config: sallyport_audit::AuditConfig) -> Result<(), sallyport_audit::AuditError> {
//! use sallyport_audit::{AuditEvent, AuditLog};
//!
//! let log = AuditLog::open(config).await?;
//! log.append(AuditEvent::new("mcp_request", "alice", "tools/call", "allow")).await?;
//! let report = log.verify().await?;
//! assert!(report.ok);
//! log.close().await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

use std::io::Write;

pub mod canonical;
pub mod chain;
pub mod config;
mod error;
pub mod event;
pub mod export;
mod log;
pub mod retention;
pub mod signing;
pub mod store;
pub mod verify;
mod writer;

pub use chain::{ChainEntry, GENESIS_HASH, Head};
pub use config::{
    AuditConfig, CheckpointConfig, ComplianceRule, DurabilityConfig, DurabilityMode,
    ExporterConfig, RetentionConfig, StoreConfig, WhenFull,
};
pub use error::AuditError;
pub use event::{AuditContext, AuditEvent, Finding, RequestDetails, ResponseSummary};
pub use export::{ExportFormat, Exporter, build_exporter};
pub use log::{Ack, AuditLog, AuditStats};
pub use retention::PurgeReport;
pub use signing::{Checkpoint, SigningKey, VerifyingKey};
pub use store::{AuditStore, StoreError, open_store};
pub use verify::{BreakKind, ChainBreak, VerifyOptions, VerifyReport, verify};
pub use writer::Receipt;

use crate::log::run_blocking;

/// Verify the store described by `store` (`sallyport audit verify`).
pub async fn verify_store(
    store: &StoreConfig,
    key: &VerifyingKey,
    options: VerifyOptions,
) -> Result<VerifyReport, AuditError> {
    let (store, key) = (store.clone(), *key);
    run_blocking(move || {
        let mut store = open_store(&store)?;
        Ok(verify(store.as_mut(), &key, &options)?)
    })
    .await
}

/// Write every entry with `seq >= from_seq` to `out`, one per line
/// (`sallyport audit export`). Returns how many were written.
pub async fn export_store<W: Write + Send + 'static>(
    store: &StoreConfig,
    format: ExportFormat,
    from_seq: u64,
    mut out: W,
) -> Result<u64, AuditError> {
    let store = store.clone();
    run_blocking(move || {
        let mut store = open_store(&store)?;
        let (mut from, mut count) = (from_seq, 0u64);
        loop {
            let page = store.scan(from, 4_096)?;
            let Some(last) = page.last() else { break };
            from = last.seq + 1;
            for entry in &page {
                let line = export::format_entry(entry, format)?;
                writeln!(out, "{line}").map_err(export::ExportError::from)?;
                count += 1;
            }
        }
        out.flush().map_err(export::ExportError::from)?;
        Ok(count)
    })
    .await
}

/// Push up to `limit` entries with `seq >= from_seq` to `exporter`. Returns the seq to
/// continue from (unchanged when nothing was pending). Call it in a loop from a cursor.
pub async fn push_store(
    store: &StoreConfig,
    exporter: &dyn Exporter,
    from_seq: u64,
    limit: usize,
) -> Result<u64, AuditError> {
    let config = store.clone();
    let entries = run_blocking(move || Ok(open_store(&config)?.scan(from_seq, limit)?)).await?;
    let Some(last) = entries.last() else {
        return Ok(from_seq);
    };
    let next = last.seq + 1;
    exporter.export(&entries).await?;
    Ok(next)
}
