//! Why the security state store could not be opened or used.

use std::path::PathBuf;

/// A store failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The SQLite file cannot be opened or created.
    #[error("security state store {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// A SQLite statement failed.
    #[error("security state store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Redis refused or did not answer.
    #[error("security state in Redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer in time.
    #[error("security state in Redis: no answer within {0} ms")]
    Timeout(u64),
    /// A stored entry is not a change this version understands.
    #[error("security state entry {key}: {source}")]
    Entry {
        /// The entry's key.
        key: String,
        /// Why it cannot be read.
        source: serde_json::Error,
    },
}
