//! Storage behind one trait: SQLite embedded and PostgreSQL.
//!
//! A store is blocking and owned by one thread at a time: the log's writer thread, or a
//! verifier/exporter thread with its own connection.

use crate::canonical::Hash;
use crate::chain::{ChainEntry, Head};
use crate::config::{DurabilityMode, StoreConfig};
use crate::signing::Checkpoint;

pub mod postgres;
pub mod sqlite;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed.
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// Local I/O failed (runtime creation, files).
    #[error("audit store i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A schema or chain name has characters other than `[a-z0-9_]`.
    #[error("invalid identifier {0:?}: use [a-z0-9_], starting with a letter")]
    InvalidIdentifier(String),
    /// The password environment variable is not set.
    #[error("environment variable {0} (audit store password) is not set")]
    MissingPassword(String),
    /// A stored value has the wrong shape (a hash of the wrong length, a negative seq).
    #[error("corrupt row at seq {seq}: {what}")]
    Corrupt {
        /// The row.
        seq: i64,
        /// What is wrong.
        what: &'static str,
    },
}

/// What every store can do. All writes of one call happen in one transaction.
pub trait AuditStore: Send {
    /// The entry with the highest seq, or [`Head::EMPTY`].
    fn head(&mut self) -> Result<Head, StoreError>;
    /// Append entries (and a checkpoint, if given) in one transaction.
    fn append(&mut self, entries: &[ChainEntry], cp: Option<&Checkpoint>)
    -> Result<(), StoreError>;
    /// The seq of the event with this id, if stored.
    fn find_event(&mut self, event_id: &str) -> Result<Option<u64>, StoreError>;
    /// Up to `limit` entries with `seq >= from`, ascending.
    fn scan(&mut self, from: u64, limit: usize) -> Result<Vec<ChainEntry>, StoreError>;
    /// All entries of one event type, ascending (used for retention purge records).
    fn entries_of_type(&mut self, event_type: &str) -> Result<Vec<ChainEntry>, StoreError>;
    /// All checkpoints, ascending by seq.
    fn checkpoints(&mut self) -> Result<Vec<Checkpoint>, StoreError>;
    /// Up to `limit` entries of `class` older than `before_unix_ms`, ascending.
    fn expired(
        &mut self,
        class: &str,
        before_unix_ms: u64,
        limit: usize,
    ) -> Result<Vec<ChainEntry>, StoreError>;
    /// Delete the seqs in the inclusive ranges and append `entry` in one transaction.
    fn purge(
        &mut self,
        ranges: &[(u64, u64)],
        entry: &ChainEntry,
        cp: Option<&Checkpoint>,
    ) -> Result<(), StoreError>;
}

/// Open the store described by `config`, creating tables as needed.
///
/// Two writers on one chain cannot fork it: the seq primary key makes the second commit fail,
/// and the writer then reloads the head and retries. One writer per chain is still the
/// intended deployment (a `chain` name per gateway instance on PostgreSQL).
pub fn open_store(config: &StoreConfig) -> Result<Box<dyn AuditStore>, StoreError> {
    open_store_with(config, sqlite::SqliteOptions::default())
}

/// Open the store the writer of a log in `mode` appends to: as [`open_store`], except that
/// an `async` log commits to SQLite with `synchronous=NORMAL` (see [`sqlite_options`]).
pub fn open_writer_store(
    config: &StoreConfig,
    mode: DurabilityMode,
) -> Result<Box<dyn AuditStore>, StoreError> {
    open_store_with(config, sqlite_options(mode))
}

/// SQLite options for the writer of a log in `mode`. `sync` acknowledges an event only after
/// its commit is fsynced (`FULL`); `async` acknowledges on enqueue, so its commits need only
/// survive a crash of the process, which `NORMAL` in WAL mode guarantees.
pub fn sqlite_options(mode: DurabilityMode) -> sqlite::SqliteOptions {
    let synchronous = match mode {
        DurabilityMode::Sync => sqlite::Synchronous::Full,
        DurabilityMode::Async => sqlite::Synchronous::Normal,
    };
    sqlite::SqliteOptions { synchronous }
}

fn open_store_with(
    config: &StoreConfig,
    sqlite_options: sqlite::SqliteOptions,
) -> Result<Box<dyn AuditStore>, StoreError> {
    match config {
        StoreConfig::Sqlite { path } => Ok(Box::new(sqlite::SqliteStore::open_with(
            path,
            sqlite_options,
        )?)),
        StoreConfig::Postgres {
            connection,
            password_env,
            schema,
            chain,
        } => {
            let password = match password_env {
                Some(var) => {
                    Some(std::env::var(var).map_err(|_| StoreError::MissingPassword(var.clone()))?)
                }
                None => None,
            };
            let options = postgres::PgOptions {
                connection: connection.clone(),
                password,
                schema: schema.clone(),
                chain: chain.clone(),
            };
            Ok(Box::new(postgres::PgStore::open(&options)?))
        }
    }
}

/// Check a hash column value.
pub(crate) fn to_hash(seq: i64, bytes: &[u8]) -> Result<Hash, StoreError> {
    bytes.try_into().map_err(|_| StoreError::Corrupt {
        seq,
        what: "hash is not 32 bytes",
    })
}

/// Check a seq column value.
pub(crate) fn to_seq(seq: i64) -> Result<u64, StoreError> {
    u64::try_from(seq).map_err(|_| StoreError::Corrupt {
        seq,
        what: "negative seq",
    })
}

/// Convert a u64 to the i64 SQL stores use (values above i64::MAX saturate).
pub(crate) fn sql_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// `[a-z][a-z0-9_]*`, at most 48 characters.
pub(crate) fn check_identifier(name: &str) -> Result<(), StoreError> {
    let ok = name.len() <= 48
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidIdentifier(name.to_owned()))
    }
}
