//! The embedded SQLite store: WAL, `synchronous=FULL`, one transaction per batch.

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

/// A SQLite audit store.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    /// Open (or create) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    /// The raw connection (tests use it to tamper with rows).
    pub fn connection(&self) -> &Connection {
        &self.conn
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
        let tx = self.conn.transaction()?;
        insert_entries(&tx, entries)?;
        if let Some(cp) = cp {
            insert_checkpoint(&tx, cp)?;
        }
        tx.commit()?;
        Ok(())
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
        let tx = self.conn.transaction()?;
        {
            let mut stmt =
                tx.prepare_cached("DELETE FROM audit_events WHERE seq >= ?1 AND seq <= ?2")?;
            for (first, last) in ranges {
                stmt.execute(params![sql_i64(*first), sql_i64(*last)])?;
            }
        }
        insert_entries(&tx, std::slice::from_ref(entry))?;
        if let Some(cp) = cp {
            insert_checkpoint(&tx, cp)?;
        }
        tx.commit()?;
        Ok(())
    }
}
