//! The PostgreSQL store (tokio-postgres on a private current-thread runtime, so the store
//! stays blocking like SQLite and lives on the writer thread).

use std::time::Duration;

use tokio::runtime::Runtime;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

use crate::chain::{ChainEntry, Head};
use crate::signing::Checkpoint;
use crate::store::{AuditStore, StoreError, check_identifier, sql_i64, to_hash, to_seq};

const COLUMNS: &str = "seq, event_id, time_ms, event_type, retention_class, body, prev_hash, hash";

/// Connection options (see `StoreConfig::Postgres`).
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// libpq-style connection string.
    pub connection: String,
    /// Password, if any.
    pub password: Option<String>,
    /// Schema (created if absent).
    pub schema: String,
    /// Chain name (table prefix).
    pub chain: String,
}

/// A PostgreSQL audit store.
pub struct PgStore {
    rt: Runtime,
    client: Client,
    events: String,
    checkpoints: String,
    insert: Statement,
    insert_cp: Statement,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connect and create the schema and tables if absent.
    pub fn open(options: &PgOptions) -> Result<Self, StoreError> {
        check_identifier(&options.schema)?;
        check_identifier(&options.chain)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut config: tokio_postgres::Config = options.connection.parse()?;
        if let Some(password) = &options.password {
            config.password(password);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        let (client, connection) = rt.block_on(config.connect(NoTls))?;
        rt.spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(%error, "Audit store connection closed.");
            }
        });
        let (schema, chain) = (&options.schema, &options.chain);
        let events = format!("\"{schema}\".\"{chain}_events\"");
        let checkpoints = format!("\"{schema}\".\"{chain}_checkpoints\"");
        let ddl = format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\";
             CREATE TABLE IF NOT EXISTS {events} (
                seq BIGINT PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, time_ms BIGINT NOT NULL,
                event_type TEXT NOT NULL, retention_class TEXT NOT NULL, body TEXT NOT NULL,
                prev_hash BYTEA NOT NULL, hash BYTEA NOT NULL);
             CREATE INDEX IF NOT EXISTS \"{chain}_events_retention\" ON {events} (retention_class, time_ms);
             CREATE INDEX IF NOT EXISTS \"{chain}_events_type\" ON {events} (event_type);
             CREATE TABLE IF NOT EXISTS {checkpoints} (
                seq BIGINT PRIMARY KEY, hash BYTEA NOT NULL, time_ms BIGINT NOT NULL,
                signature BYTEA NOT NULL, key_id TEXT NOT NULL);"
        );
        let (insert, insert_cp) = rt.block_on(async {
            client.batch_execute(&ddl).await?;
            let insert = client
                .prepare(&format!(
                    "INSERT INTO {events} ({COLUMNS}) SELECT * FROM UNNEST($1::bigint[],
                     $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bytea[],
                     $8::bytea[])"
                ))
                .await?;
            let insert_cp = client
                .prepare(&format!(
                    "INSERT INTO {checkpoints} (seq, hash, time_ms, signature, key_id)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING"
                ))
                .await?;
            Ok::<_, tokio_postgres::Error>((insert, insert_cp))
        })?;
        Ok(Self {
            rt,
            client,
            events,
            checkpoints,
            insert,
            insert_cp,
        })
    }

    /// Run raw SQL (tests use it to tamper with rows and drop schemas).
    pub fn execute_raw(&mut self, sql: &str) -> Result<(), StoreError> {
        self.rt.block_on(self.client.batch_execute(sql))?;
        Ok(())
    }

    /// The qualified events table name.
    pub fn events_table(&self) -> &str {
        &self.events
    }

    fn query_entries(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<ChainEntry>, StoreError> {
        let rows = self.rt.block_on(self.client.query(sql, params))?;
        rows.iter().map(read_row).collect()
    }

    fn write(
        &mut self,
        ranges: &[(u64, u64)],
        entries: &[ChainEntry],
        cp: Option<&Checkpoint>,
    ) -> Result<(), StoreError> {
        let delete = format!(
            "DELETE FROM {} USING UNNEST($1::bigint[], $2::bigint[]) AS r(first, last)
             WHERE seq BETWEEN r.first AND r.last",
            self.events
        );
        let firsts: Vec<i64> = ranges.iter().map(|r| sql_i64(r.0)).collect();
        let lasts: Vec<i64> = ranges.iter().map(|r| sql_i64(r.1)).collect();
        let (insert, insert_cp) = (&self.insert, &self.insert_cp);
        let client = &mut self.client;
        self.rt.block_on(async move {
            let tx = client.transaction().await?;
            if !firsts.is_empty() {
                tx.execute(&delete, &[&firsts, &lasts]).await?;
            }
            let columns = Columns::new(entries);
            tx.execute(insert, &columns.params()).await?;
            if let Some(cp) = cp {
                let (seq, time) = (sql_i64(cp.seq), sql_i64(cp.time_unix_ms));
                let hash = &cp.hash[..];
                tx.execute(insert_cp, &[&seq, &hash, &time, &cp.signature, &cp.key_id])
                    .await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }
}

/// Column arrays for the UNNEST insert (one round trip per batch).
struct Columns<'a> {
    seq: Vec<i64>,
    id: Vec<&'a str>,
    time: Vec<i64>,
    kind: Vec<&'a str>,
    class: Vec<&'a str>,
    body: Vec<&'a str>,
    prev: Vec<&'a [u8]>,
    hash: Vec<&'a [u8]>,
}

impl<'a> Columns<'a> {
    fn new(entries: &'a [ChainEntry]) -> Self {
        Self {
            seq: entries.iter().map(|e| sql_i64(e.seq)).collect(),
            id: entries.iter().map(|e| e.event_id.as_str()).collect(),
            time: entries.iter().map(|e| sql_i64(e.time_unix_ms)).collect(),
            kind: entries.iter().map(|e| e.event_type.as_str()).collect(),
            class: entries.iter().map(|e| e.retention_class.as_str()).collect(),
            body: entries.iter().map(|e| e.body.as_str()).collect(),
            prev: entries.iter().map(|e| &e.prev_hash[..]).collect(),
            hash: entries.iter().map(|e| &e.hash[..]).collect(),
        }
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 8] {
        [
            &self.seq,
            &self.id,
            &self.time,
            &self.kind,
            &self.class,
            &self.body,
            &self.prev,
            &self.hash,
        ]
    }
}

fn read_row(row: &Row) -> Result<ChainEntry, StoreError> {
    let seq: i64 = row.try_get(0)?;
    let time: i64 = row.try_get(2)?;
    let prev: &[u8] = row.try_get(6)?;
    let hash: &[u8] = row.try_get(7)?;
    Ok(ChainEntry {
        seq: to_seq(seq)?,
        event_id: row.try_get(1)?,
        time_unix_ms: to_seq(time)?,
        event_type: row.try_get(3)?,
        retention_class: row.try_get(4)?,
        body: row.try_get(5)?,
        prev_hash: to_hash(seq, prev)?,
        hash: to_hash(seq, hash)?,
    })
}

impl AuditStore for PgStore {
    fn head(&mut self) -> Result<Head, StoreError> {
        let sql = format!(
            "SELECT seq, hash FROM {} ORDER BY seq DESC LIMIT 1",
            self.events
        );
        let row = self.rt.block_on(self.client.query_opt(&sql, &[]))?;
        match row {
            Some(row) => {
                let seq: i64 = row.try_get(0)?;
                Ok(Head {
                    seq: to_seq(seq)?,
                    hash: to_hash(seq, row.try_get(1)?)?,
                })
            }
            None => Ok(Head::EMPTY),
        }
    }

    fn append(
        &mut self,
        entries: &[ChainEntry],
        cp: Option<&Checkpoint>,
    ) -> Result<(), StoreError> {
        self.write(&[], entries, cp)
    }

    fn find_event(&mut self, event_id: &str) -> Result<Option<u64>, StoreError> {
        let sql = format!("SELECT seq FROM {} WHERE event_id = $1", self.events);
        let row = self
            .rt
            .block_on(self.client.query_opt(&sql, &[&event_id]))?;
        row.map(|r| {
            r.try_get::<_, i64>(0)
                .map_err(StoreError::from)
                .and_then(to_seq)
        })
        .transpose()
    }

    fn scan(&mut self, from: u64, limit: usize) -> Result<Vec<ChainEntry>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE seq >= $1 ORDER BY seq LIMIT $2",
            self.events
        );
        self.query_entries(&sql, &[&sql_i64(from), &sql_i64(limit as u64)])
    }

    fn entries_of_type(&mut self, event_type: &str) -> Result<Vec<ChainEntry>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE event_type = $1 ORDER BY seq",
            self.events
        );
        self.query_entries(&sql, &[&event_type])
    }

    fn checkpoints(&mut self) -> Result<Vec<Checkpoint>, StoreError> {
        let sql = format!(
            "SELECT seq, hash, time_ms, signature, key_id FROM {} ORDER BY seq",
            self.checkpoints
        );
        let rows = self.rt.block_on(self.client.query(&sql, &[]))?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.try_get(0)?;
                Ok(Checkpoint {
                    seq: to_seq(seq)?,
                    hash: to_hash(seq, r.try_get(1)?)?,
                    time_unix_ms: to_seq(r.try_get(2)?)?,
                    signature: r.try_get(3)?,
                    key_id: r.try_get(4)?,
                })
            })
            .collect()
    }

    fn expired(
        &mut self,
        class: &str,
        before_unix_ms: u64,
        limit: usize,
    ) -> Result<Vec<ChainEntry>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE retention_class = $1 AND time_ms < $2
             ORDER BY seq LIMIT $3",
            self.events
        );
        self.query_entries(
            &sql,
            &[&class, &sql_i64(before_unix_ms), &sql_i64(limit as u64)],
        )
    }

    fn purge(
        &mut self,
        ranges: &[(u64, u64)],
        entry: &ChainEntry,
        cp: Option<&Checkpoint>,
    ) -> Result<(), StoreError> {
        self.write(ranges, std::slice::from_ref(entry), cp)
    }
}
