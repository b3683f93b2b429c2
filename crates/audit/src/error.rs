//! The audit log's error type.

use crate::signing::KeyError;
use crate::store::StoreError;

/// Why an audit operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The signing key could not be loaded or created.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The event could not be encoded.
    #[error("audit event encoding: {0}")]
    Encode(#[from] serde_json::Error),
    /// The queue is full and the log is configured to refuse (`when_full: refuse`).
    #[error("audit queue full ({capacity} events pending); refusing")]
    QueueFull {
        /// The configured capacity.
        capacity: usize,
    },
    /// The log is closed (its writer stopped).
    #[error("audit log closed")]
    Closed,
    /// An event with the same id is already stored.
    #[error("audit event id already stored at seq {seq}")]
    DuplicateEventId {
        /// Where.
        seq: u64,
    },
    /// Writing an export failed.
    #[error("audit export: {0}")]
    Export(#[from] crate::export::ExportError),
}
