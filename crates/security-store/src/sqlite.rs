//! One gateway's security state in a SQLite file: one row per block, quarantine or hold,
//! written as it changes and read back at start.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, params};
use sallyport_respond::{SecurityState, StateChange, unix_now_ms};
use tokio::sync::mpsc;

use crate::StoreError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS security_state (
    key TEXT PRIMARY KEY NOT NULL,
    entry TEXT NOT NULL,
    until_ms INTEGER
);";

/// The SQLite store.
#[derive(Debug)]
pub struct SqliteStateStore {
    conn: Mutex<Connection>,
}

impl SqliteStateStore {
    /// Opens (or creates) the file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let open = || -> rusqlite::Result<Connection> {
            let conn = Connection::open(path)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.execute_batch(SCHEMA)?;
            Ok(conn)
        };
        let conn = open().map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Every entry still in force; ended ones are deleted.
    pub fn load(&self) -> Result<Vec<StateChange>, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let now = i64::try_from(unix_now_ms()).unwrap_or(i64::MAX);
        conn.execute(
            "DELETE FROM security_state WHERE until_ms IS NOT NULL AND until_ms <= ?1",
            params![now],
        )?;
        let mut stmt = conn.prepare("SELECT key, entry FROM security_state ORDER BY key")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut entries = Vec::new();
        for row in rows {
            let (key, entry) = row?;
            let change =
                serde_json::from_str(&entry).map_err(|source| StoreError::Entry { key, source })?;
            entries.push(change);
        }
        Ok(entries)
    }

    /// Stores a change: sets or deletes its entry.
    pub fn write(&self, change: &StateChange) -> Result<(), StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        if change.is_removal() {
            conn.execute(
                "DELETE FROM security_state WHERE key = ?1",
                params![change.key()],
            )?;
            return Ok(());
        }
        let entry = serde_json::to_string(change).map_err(|source| StoreError::Entry {
            key: change.key(),
            source,
        })?;
        let until = change
            .until_ms()
            .map(|u| i64::try_from(u).unwrap_or(i64::MAX));
        conn.execute(
            "INSERT INTO security_state (key, entry, until_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET entry = excluded.entry, until_ms = excluded.until_ms",
            params![change.key(), entry, until],
        )?;
        Ok(())
    }
}

/// Loads the file into `state`, then writes every later change of `state` to it on a thread
/// of its own (changes are rare; each write waits for a durable commit).
pub(crate) fn start(
    path: &Path,
    state: &Arc<SecurityState>,
    capacity: usize,
) -> Result<(), StoreError> {
    let store = SqliteStateStore::open(path)?;
    let entries = store.load()?;
    state.replace_all(&entries);
    tracing::info!(
        path = %path.display(),
        entries = entries.len(),
        "Security state loaded; blocks, quarantines and holds survive restarts."
    );
    let (tx, mut rx) = mpsc::channel(capacity);
    state.set_sink(tx);
    let spawned = std::thread::Builder::new()
        .name("security-state".into())
        .spawn(move || {
            while let Some(change) = rx.blocking_recv() {
                if let Err(error) = store.write(&change) {
                    tracing::error!(%error, key = %change.key(), "Security state change not stored; it holds until restart.");
                }
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "Security state writer not started; changes hold until restart.");
    }
    Ok(())
}
