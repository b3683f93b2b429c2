//! Test helpers shared by the integration tests: backends, configs, tampering.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use sallyport_audit::store::postgres::{PgOptions, PgStore};
use sallyport_audit::{AuditConfig, AuditStore, CheckpointConfig, DurabilityConfig, StoreConfig};

pub const PG: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

/// A store under test: a SQLite file in a temp dir, or a PostgreSQL schema dropped on drop.
pub enum Backend {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        schema: String,
        connection: String,
    },
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Backend {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.db");
        Self::Sqlite { _dir: dir, path }
    }

    pub fn postgres() -> Self {
        Self::postgres_via(PG)
    }

    /// A PostgreSQL backend reached through `connection` (e.g. a test proxy).
    pub fn postgres_via(connection: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let schema = format!("audit_t{}_{}_{n}", std::process::id(), nanos());
        Self::Postgres {
            schema,
            connection: connection.to_owned(),
        }
    }

    pub fn both() -> Vec<Self> {
        vec![Self::sqlite(), Self::postgres()]
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres { .. } => "postgres",
        }
    }

    pub fn store_config(&self) -> StoreConfig {
        match self {
            Self::Sqlite { path, .. } => StoreConfig::Sqlite { path: path.clone() },
            Self::Postgres { schema, connection } => StoreConfig::Postgres {
                connection: connection.clone(),
                password_env: None,
                schema: schema.clone(),
                chain: "audit".into(),
            },
        }
    }

    pub fn config(&self, key_dir: &std::path::Path) -> AuditConfig {
        AuditConfig {
            store: self.store_config(),
            signing_key: key_dir.join("audit.pk8"),
            public_key: Some(key_dir.join("audit.pub.pem")),
            durability: DurabilityConfig::default(),
            checkpoint: CheckpointConfig {
                every_events: 5,
                every_secs: 3600,
            },
            retention: Default::default(),
            exporters: Vec::new(),
            compliance: Vec::new(),
        }
    }

    /// Open the store directly (call outside any tokio runtime).
    pub fn open(&self) -> Box<dyn AuditStore> {
        sallyport_audit::open_store(&self.store_config()).unwrap()
    }

    /// Run tampering SQL; `{events}` and `{checkpoints}` name the tables, and `X'..'` hex
    /// literals are translated for PostgreSQL.
    pub fn exec(&self, sql: &str) {
        match self {
            Self::Sqlite { path, .. } => {
                let sql = sql
                    .replace("{events}", "audit_events")
                    .replace("{checkpoints}", "audit_checkpoints");
                rusqlite::Connection::open(path)
                    .unwrap()
                    .execute_batch(&sql)
                    .unwrap();
            }
            Self::Postgres { schema, .. } => {
                let sql = sql
                    .replace("{events}", &format!("\"{schema}\".audit_events"))
                    .replace("{checkpoints}", &format!("\"{schema}\".audit_checkpoints"));
                let sql = translate_hex(&sql);
                self.pg_store().execute_raw(&sql).unwrap();
            }
        }
    }

    fn pg_store(&self) -> PgStore {
        let Self::Postgres { schema, .. } = self else {
            unreachable!()
        };
        PgStore::open(&PgOptions {
            connection: PG.into(),
            password: None,
            schema: schema.clone(),
            chain: "audit".into(),
        })
        .unwrap()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Self::Postgres { schema, .. } = self {
            let sql = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
            let schema = schema.clone();
            // Drop from a plain thread: a PgStore must not be driven inside a runtime.
            let _ = std::thread::spawn(move || {
                if let Ok(mut s) = PgStore::open(&PgOptions {
                    connection: PG.into(),
                    password: None,
                    schema,
                    chain: "audit".into(),
                }) {
                    let _ = s.execute_raw(&sql);
                }
            })
            .join();
        }
    }
}

/// `X'abcd'` → `'\xabcd'::bytea`.
fn translate_hex(sql: &str) -> String {
    let mut out = String::new();
    let mut rest = sql;
    while let Some(i) = rest.find("X'") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after.find('\'').unwrap();
        out.push_str(&format!("'\\x{}'::bytea", &after[..end]));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        % 1_000_000_000
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
