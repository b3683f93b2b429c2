//! The pin store: one row per (upstream, item) with the approved definition's hashes and the
//! last seen one (items are tools, and namespaced prompts, resource templates and resources:
//! see `item.rs`), in SQLite (a file shared with `sallyport pins`, or in memory for tests).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

/// Why a tool is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldKind {
    /// Its definition changed since it was approved.
    Drift,
    /// It appeared after the upstream's first complete listing (or pinning is `approve`).
    New,
    /// A threat guard quarantined it.
    Threat,
}

impl HoldKind {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Drift => "drift",
            Self::New => "new",
            Self::Threat => "threat",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "drift" => Self::Drift,
            "new" => Self::New,
            _ => Self::Threat,
        }
    }
}

/// One pinned tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pin {
    /// The upstream.
    pub server: String,
    /// The item's key: the upstream-local tool name, or `prompt:<name>`,
    /// `template:<uriTemplate>`, `resource:<uri>` (the upstream's own names and URIs).
    pub tool: String,
    /// Held until approved, and why; `None`: the seen definition is the approved one.
    pub held: Option<HoldKind>,
    /// `definition_hash` of the approved definition.
    pub approved_hash: Option<String>,
    /// `definition_hash_without_name` of the approved definition (rename-resistant match).
    pub approved_nameless: Option<String>,
    /// The approved definition, canonical JSON.
    pub approved_definition: Option<String>,
    /// `definition_hash` of the last seen definition.
    pub seen_hash: String,
    /// The last seen definition, canonical JSON.
    pub seen_definition: String,
    /// What was found: the drift's diff or the findings (JSON or text).
    pub detail: Option<String>,
    /// Milliseconds since the Unix epoch of the last change.
    pub updated_ms: u64,
}

/// The store could not be opened or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file cannot be opened or created.
    #[error("pin store {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// A query failed.
    #[error("pin store: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// The SQLite pin store.
#[derive(Debug)]
pub struct PinStore {
    conn: Mutex<Connection>,
    /// In memory: no other connection can read or write it (see [`PinStore::version`]).
    private: bool,
    /// Writes made through this store.
    writes: AtomicU64,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pins (
    server TEXT NOT NULL, tool TEXT NOT NULL, held TEXT,
    approved_hash TEXT, approved_nameless TEXT, approved_definition TEXT,
    seen_hash TEXT NOT NULL, seen_definition TEXT NOT NULL, detail TEXT,
    updated_ms INTEGER NOT NULL, PRIMARY KEY (server, tool));
CREATE TABLE IF NOT EXISTS baselines (server TEXT PRIMARY KEY, at_ms INTEGER NOT NULL);";

/// The columns of a pin, in `pin_from_row` order.
macro_rules! pin_columns {
    () => {
        "server, tool, held, approved_hash, approved_nameless, approved_definition, \
         seen_hash, seen_definition, detail, updated_ms"
    };
}

const COLUMNS: &str = pin_columns!();
const GET_PIN: &str = concat!(
    "SELECT ",
    pin_columns!(),
    " FROM pins WHERE server = ?1 AND tool = ?2"
);

impl PinStore {
    /// Opens (creating) the store at `path`, with its directory.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let err = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        Self::init(conn, false)
    }

    /// A store in memory (tests, `store: memory`).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?, true)
    }

    fn init(conn: Connection, private: bool) -> Result<Self, StoreError> {
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
            private,
            writes: AtomicU64::new(0),
        })
    }

    /// A number that changes whenever the store's content may have, when this store is the
    /// only writer (in memory); `None` for a file, which other processes may change at any
    /// time (`sallyport pins approve`, another gateway sharing it).
    pub(crate) fn version(&self) -> Option<u64> {
        self.private.then(|| self.writes.load(Ordering::Acquire))
    }

    fn wrote(&self) {
        self.writes.fetch_add(1, Ordering::AcqRel);
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One pin. Runs on every call to a held or never-listed tool, so the statement is kept
    /// prepared (parsing it was ~4 % of the gateway's CPU at 1,000 calls/s).
    pub fn get(&self, server: &str, tool: &str) -> Result<Option<Pin>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(GET_PIN)?;
        Ok(stmt
            .query_row(params![server, tool], pin_from_row)
            .optional()?)
    }

    /// Every pin of `server`, or of every server.
    pub fn list(&self, server: Option<&str>) -> Result<Vec<Pin>, StoreError> {
        let conn = self.lock();
        let sql = format!(
            "SELECT {COLUMNS} FROM pins WHERE ?1 IS NULL OR server = ?1 ORDER BY server, tool"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![server], pin_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Inserts or replaces a pin.
    pub fn put(&self, pin: &Pin) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT OR REPLACE INTO pins ({COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"
        );
        self.lock().execute(
            &sql,
            params![
                pin.server,
                pin.tool,
                pin.held.map(HoldKind::as_str),
                pin.approved_hash,
                pin.approved_nameless,
                pin.approved_definition,
                pin.seen_hash,
                pin.seen_definition,
                pin.detail,
                i64::try_from(pin.updated_ms).unwrap_or(i64::MAX),
            ],
        )?;
        self.wrote();
        Ok(())
    }

    /// Approves the last seen definition of an item; `None` when there is no such pin.
    /// `nameless` is a tool's rename-resistant hash (empty for the other kinds).
    pub fn approve(
        &self,
        server: &str,
        tool: &str,
        nameless: &str,
    ) -> Result<Option<Pin>, StoreError> {
        let Some(mut pin) = self.get(server, tool)? else {
            return Ok(None);
        };
        pin.held = None;
        pin.approved_hash = Some(pin.seen_hash.clone());
        pin.approved_nameless = (!nameless.is_empty()).then(|| nameless.to_owned());
        pin.approved_definition = Some(pin.seen_definition.clone());
        pin.detail = None;
        pin.updated_ms = now_ms();
        self.put(&pin)?;
        Ok(Some(pin))
    }

    /// Whether `server`'s first complete listing has been pinned.
    pub fn is_baselined(&self, server: &str) -> Result<bool, StoreError> {
        let n: i64 = self.lock().query_row(
            "SELECT COUNT(*) FROM baselines WHERE server = ?1",
            params![server],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// Marks `server`'s first complete listing as pinned.
    pub fn set_baselined(&self, server: &str) -> Result<(), StoreError> {
        let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
        self.lock().execute(
            "INSERT OR IGNORE INTO baselines (server, at_ms) VALUES (?1, ?2)",
            params![server, now],
        )?;
        self.wrote();
        Ok(())
    }
}

fn pin_from_row(r: &Row<'_>) -> rusqlite::Result<Pin> {
    let held: Option<String> = r.get(2)?;
    let updated: i64 = r.get(9)?;
    Ok(Pin {
        server: r.get(0)?,
        tool: r.get(1)?,
        held: held.as_deref().map(HoldKind::parse),
        approved_hash: r.get(3)?,
        approved_nameless: r.get(4)?,
        approved_definition: r.get(5)?,
        seen_hash: r.get(6)?,
        seen_definition: r.get(7)?,
        detail: r.get(8)?,
        updated_ms: u64::try_from(updated).unwrap_or(0),
    })
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0))
}

/// The default store file: `$SALLYPORT_DATA_DIR/pins.db`, else `$XDG_DATA_HOME/sallyport/`,
/// else `~/.local/share/sallyport/`, else `./sallyport-pins.db`.
pub fn default_store_path() -> PathBuf {
    let var = |k| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = var("SALLYPORT_DATA_DIR") {
        return d.join("pins.db");
    }
    if let Some(d) = var("XDG_DATA_HOME") {
        return d.join("sallyport/pins.db");
    }
    match var("HOME") {
        Some(h) => h.join(".local/share/sallyport/pins.db"),
        None => PathBuf::from("sallyport-pins.db"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(server: &str, tool: &str, hash: &str) -> Pin {
        Pin {
            server: server.into(),
            tool: tool.into(),
            held: Some(HoldKind::New),
            approved_hash: None,
            approved_nameless: None,
            approved_definition: None,
            seen_hash: hash.into(),
            seen_definition: "{}".into(),
            detail: Some("new".into()),
            updated_ms: 1,
        }
    }

    #[test]
    fn put_get_list_approve_and_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let store = PinStore::open(&dir.path().join("sub/pins.db")).unwrap();
        store.put(&pin("fs", "read", "h1")).unwrap();
        store.put(&pin("web", "fetch", "h2")).unwrap();
        assert_eq!(store.list(None).unwrap().len(), 2);
        assert_eq!(store.list(Some("fs")).unwrap().len(), 1);
        let approved = store.approve("fs", "read", "n1").unwrap().unwrap();
        assert_eq!(
            (approved.held, approved.approved_hash.as_deref()),
            (None, Some("h1"))
        );
        assert_eq!(store.get("fs", "read").unwrap().unwrap(), approved);
        assert!(store.approve("fs", "nope", "n").unwrap().is_none());
        assert!(!store.is_baselined("fs").unwrap());
        store.set_baselined("fs").unwrap();
        store.set_baselined("fs").unwrap();
        assert!(store.is_baselined("fs").unwrap());
        // A second connection (the CLI) sees the same rows.
        let other = PinStore::open(&dir.path().join("sub/pins.db")).unwrap();
        assert_eq!(
            other.get("web", "fetch").unwrap().unwrap().held,
            Some(HoldKind::New)
        );
    }
}
