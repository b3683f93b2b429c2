//! The embedded SQLite store: WAL, one transaction per batch, `synchronous=FULL` unless the
//! writer of an `async` log asks for `NORMAL` ([`SqliteOptions`]).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::chain::{ChainEntry, Head};
use crate::signing::Checkpoint;
use crate::store::{AuditStore, StoreError, sql_i64, to_hash, to_seq};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit_events (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    time_ms INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    retention_class TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_retention ON audit_events (retention_class, time_ms);
CREATE INDEX IF NOT EXISTS audit_events_type ON audit_events (event_type);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    seq INTEGER PRIMARY KEY,
    hash BLOB NOT NULL,
    time_ms INTEGER NOT NULL,
    signature BLOB NOT NULL,
    key_id TEXT NOT NULL
);";

const COLUMNS: &str = "seq, event_id, time_ms, event_type, retention_class, body, prev_hash, hash";

/// Page cache of a connection, in KiB (SQLite's default is 2,000): the hot right edge of
/// every index and the pages a checkpoint copies stay in memory.
const CACHE_KIB: i64 = 16 * 1024;
/// Truncate the WAL back to this size after a checkpoint has emptied it.
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// How a connection syncs its commits to disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// `synchronous=FULL`: every commit is fsynced before it returns. A committed transaction
    /// survives a crash of the process and of the machine.
    #[default]
    Full,
    /// `synchronous=NORMAL` (WAL): commits are written to the WAL without fsync. A committed
    /// transaction survives a crash of the process (kill -9); a power loss or OS crash can
    /// lose the commits after the last fsync of the WAL, which happens at every transaction
    /// holding a signed checkpoint (committed with `FULL`) and at every WAL checkpoint.
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

/// How to open a SQLite store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Commit durability.
    pub synchronous: Synchronous,
}

/// A SQLite audit store.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    synchronous: Synchronous,
}

impl SqliteStore {
    /// Open (or create) the database at `path` with `synchronous=FULL`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Open (or create) the database at `path`.
    pub fn open_with(path: &Path, options: SqliteOptions) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", options.synchronous.pragma())?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn,
            synchronous: options.synchronous,
        })
    }

    /// The connection's `synchronous` setting as SQLite reports it (0 off, 1 normal, 2 full).
    pub fn synchronous(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))?)
    }

    /// The raw connection (tests use it to tamper with rows).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Run `write` in one transaction. A `durable` one (it carries a signed checkpoint) is
    /// committed with `synchronous=FULL` even on a `NORMAL` connection: its fsync of the WAL
    /// also makes every earlier commit durable, so a power loss can only take the unsigned
    /// tail after the last checkpoint.
    fn write_tx(
        &mut self,
        durable: bool,
        write: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>,
    ) -> Result<(), StoreError> {
        let raise = durable && self.synchronous != Synchronous::Full;
        if raise {
            self.conn
                .pragma_update(None, "synchronous", Synchronous::Full.pragma())?;
        }
        let result = self.conn.transaction().and_then(|tx| {
            write(&tx)?;
            tx.commit()
        });
        if raise {
            self.conn
                .pragma_update(None, "synchronous", self.synchronous.pragma())?;
        }
        Ok(result?)
    }

    fn query_entries(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<ChainEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params, read_row)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row??);
        }
        Ok(out)
    }
}

fn read_row(row: &Row<'_>) -> rusqlite::Result<Result<ChainEntry, StoreError>> {
    let seq: i64 = row.get(0)?;
    let time: i64 = row.get(2)?;
    let prev: Vec<u8> = row.get(6)?;
    let hash: Vec<u8> = row.get(7)?;
    let build = || -> Result<ChainEntry, StoreError> {
        Ok(ChainEntry {
            seq: to_seq(seq)?,
            event_id: row.get(1)?,
            time_unix_ms: to_seq(time)?,
            event_type: row.get(3)?,
            retention_class: row.get(4)?,
            body: row.get(5)?,
            prev_hash: to_hash(seq, &prev)?,
            hash: to_hash(seq, &hash)?,
        })
    };
    Ok(build())
}

fn insert_entries(tx: &rusqlite::Transaction<'_>, entries: &[ChainEntry]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(&format!(
        "INSERT INTO audit_events ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    ))?;
    for e in entries {
        stmt.execute(params![
            sql_i64(e.seq),
            e.event_id,
            sql_i64(e.time_unix_ms),
            e.event_type,
            e.retention_class,
            e.body,
            &e.prev_hash[..],
            &e.hash[..],
        ])?;
    }
    Ok(())
}

fn insert_checkpoint(tx: &rusqlite::Transaction<'_>, cp: &Checkpoint) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO audit_checkpoints (seq, hash, time_ms, signature, key_id)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        sql_i64(cp.seq),
        &cp.hash[..],
        sql_i64(cp.time_unix_ms),
        cp.signature,
        cp.key_id
    ])?;
    Ok(())
}

impl AuditStore for SqliteStore {
    fn head(&mut self) -> Result<Head, StoreError> {
        let row: Option<(i64, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match row {
            Some((seq, hash)) => Ok(Head {
                seq: to_seq(seq)?,
                hash: to_hash(seq, &hash)?,
            }),
            None => Ok(Head::EMPTY),
        }
    }

    fn append(
        &mut self,
        entries: &[ChainEntry],
        cp: Option<&Checkpoint>,
    ) -> Result<(), StoreError> {
        self.write_tx(cp.is_some(), |tx| {
            insert_entries(tx, entries)?;
            cp.map_or(Ok(()), |cp| insert_checkpoint(tx, cp))
        })
    }

    fn find_event(&mut self, event_id: &str) -> Result<Option<u64>, StoreError> {
        let seq: Option<i64> = self
            .conn
            .query_row(
                "SELECT seq FROM audit_events WHERE event_id = ?1",
                [event_id],
                |r| r.get(0),
            )
            .optional()?;
        seq.map(to_seq).transpose()
    }

    fn scan(&mut self, from: u64, limit: usize) -> Result<Vec<ChainEntry>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM audit_events WHERE seq >= ?1 ORDER BY seq LIMIT ?2");
        self.query_entries(&sql, params![sql_i64(from), sql_i64(limit as u64)])
    }

    fn entries_of_type(&mut self, event_type: &str) -> Result<Vec<ChainEntry>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM audit_events WHERE event_type = ?1 ORDER BY seq");
        self.query_entries(&sql, params![event_type])
    }

    fn checkpoints(&mut self) -> Result<Vec<Checkpoint>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, hash, time_ms, signature, key_id FROM audit_checkpoints ORDER BY seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
                r.get(3)?,
                r.get(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, hash, time, signature, key_id) = row?;
            out.push(Checkpoint {
                seq: to_seq(seq)?,
                hash: to_hash(seq, &hash)?,
                time_unix_ms: to_seq(time)?,
                signature,
                key_id,
            });
        }
        Ok(out)
    }

    fn expired(
        &mut self,
        class: &str,
        before_unix_ms: u64,
        limit: usize,
    ) -> Result<Vec<ChainEntry>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_events WHERE retention_class = ?1 AND time_ms < ?2
             ORDER BY seq LIMIT ?3"
        );
        self.query_entries(
            &sql,
            params![class, sql_i64(before_unix_ms), sql_i64(limit as u64)],
        )
    }

    fn purge(
        &mut self,
        ranges: &[(u64, u64)],
        entry: &ChainEntry,
        cp: Option<&Checkpoint>,
    ) -> Result<(), StoreError> {
        self.write_tx(cp.is_some(), |tx| {
            let mut stmt =
                tx.prepare_cached("DELETE FROM audit_events WHERE seq >= ?1 AND seq <= ?2")?;
            for (first, last) in ranges {
                stmt.execute(params![sql_i64(*first), sql_i64(*last)])?;
            }
            insert_entries(tx, std::slice::from_ref(entry))?;
            cp.map_or(Ok(()), |cp| insert_checkpoint(tx, cp))
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::config::DurabilityMode;
    use crate::store::sqlite_options;

    fn synchronous_of(mode: DurabilityMode) -> i64 {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_with(&dir.path().join("a.db"), sqlite_options(mode)).unwrap();
        store.synchronous().unwrap()
    }

    #[test]
    fn sync_writer_fsyncs_every_commit_and_async_writer_uses_normal() {
        assert_eq!(synchronous_of(DurabilityMode::Sync), 2, "FULL");
        assert_eq!(synchronous_of(DurabilityMode::Async), 1, "NORMAL");
    }

    #[test]
    fn plain_open_is_full_wal_with_a_larger_cache() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("a.db")).unwrap();
        assert_eq!(store.synchronous().unwrap(), 2);
        let conn = store.connection();
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let cache: i64 = conn
            .pragma_query_value(None, "cache_size", |r| r.get(0))
            .unwrap();
        assert_eq!(cache, -CACHE_KIB);
    }

    #[test]
    fn checkpoint_commits_are_full_then_the_connection_returns_to_normal() {
        use crate::chain::{EncodedEvent, GENESIS_HASH};
        let dir = tempfile::tempdir().unwrap();
        let options = sqlite_options(DurabilityMode::Async);
        let mut store = SqliteStore::open_with(&dir.path().join("a.db"), options).unwrap();
        let event = crate::AuditEvent::new("mcp_request", "alice", "tools/call", "allow");
        let entry = EncodedEvent::new(&event).unwrap().seal(1, GENESIS_HASH);
        let key = crate::SigningKey::generate().unwrap();
        let cp = key.checkpoint(1, entry.hash, 0);
        store
            .append(std::slice::from_ref(&entry), Some(&cp))
            .unwrap();
        assert_eq!(store.synchronous().unwrap(), 1);
        assert_eq!(store.head().unwrap().seq, 1);
        assert_eq!(store.checkpoints().unwrap(), vec![cp]);
    }
}
