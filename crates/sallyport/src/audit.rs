//! The audit trail at run time: opening the log at start, and pushing its events to the
//! configured exporters (syslog, webhook) from a saved cursor.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sallyport_audit::{AuditConfig, AuditLog, Exporter, ExporterConfig, StoreConfig};
use sallyport_transport::audit::AuditTrail;
use tracing::{info, warn};

/// Entries pushed per batch.
const PUSH_BATCH: usize = 500;
/// How often an exporter looks for new entries when it is caught up.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Wait after a failed push before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Opens the audit log (creating the signing key if absent) and starts its exporters.
pub(crate) async fn open(config: &AuditConfig) -> anyhow::Result<AuditTrail> {
    let log = AuditLog::open(config.clone())
        .await
        .with_context(|| format!("opening the audit store ({})", describe(&config.store)))?;
    let stats = log.stats();
    info!(
        store = %describe(&config.store),
        mode = ?config.durability.mode,
        head = stats.head_seq,
        key_id = %log.verifying_key().key_id(),
        "Audit trail open."
    );
    for (index, exporter) in config.exporters.iter().enumerate() {
        let built = sallyport_audit::build_exporter(exporter)
            .with_context(|| format!("audit.exporters[{index}]"))?;
        let cursor = cursor_path(&config.signing_key, index);
        tokio::spawn(push_loop(
            config.store.clone(),
            built,
            cursor,
            name(exporter),
        ));
    }
    Ok(AuditTrail::new(Arc::new(log)))
}

/// A short description of a store, for messages (never a password).
pub(crate) fn describe(store: &StoreConfig) -> String {
    match store {
        StoreConfig::Sqlite { path } => format!("sqlite {}", path.display()),
        StoreConfig::Postgres { schema, chain, .. } => format!("postgres {schema}.{chain}"),
    }
}

fn name(exporter: &ExporterConfig) -> &'static str {
    match exporter {
        ExporterConfig::Syslog(_) => "syslog",
        ExporterConfig::Webhook(_) => "webhook",
    }
}

/// Where exporter `index` keeps the seq it continues from: beside the signing key,
/// `<key>.export<index>.cursor`.
pub(crate) fn cursor_path(signing_key: &Path, index: usize) -> PathBuf {
    let mut name = signing_key.as_os_str().to_owned();
    name.push(format!(".export{index}.cursor"));
    PathBuf::from(name)
}

fn read_cursor(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1)
}

fn write_cursor(path: &Path, seq: u64) -> std::io::Result<()> {
    let tmp = path.with_extension("cursor.tmp");
    std::fs::write(&tmp, format!("{seq}\n"))?;
    std::fs::rename(tmp, path)
}

/// Pushes every entry from the saved cursor on, forever; the cursor is saved after each
/// delivered batch, so a restart resends at most one batch.
async fn push_loop(
    store: StoreConfig,
    exporter: Box<dyn Exporter>,
    cursor: PathBuf,
    kind: &'static str,
) {
    let mut from = read_cursor(&cursor);
    loop {
        match sallyport_audit::push_store(&store, exporter.as_ref(), from, PUSH_BATCH).await {
            Ok(next) if next > from => {
                from = next;
                if let Err(error) = write_cursor(&cursor, from) {
                    warn!(%error, path = %cursor.display(), "Audit export cursor not saved.");
                }
            }
            Ok(_) => tokio::time::sleep(IDLE_POLL).await,
            Err(error) => {
                warn!(exporter = kind, %error, from, "Audit export failed; retrying.");
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_sits_beside_the_key() {
        let p = cursor_path(Path::new("/var/lib/sp/audit.pk8"), 1);
        assert_eq!(p, PathBuf::from("/var/lib/sp/audit.pk8.export1.cursor"));
    }
}
