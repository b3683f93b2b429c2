//! The incident store: incidents and their alerts, in SQLite.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

/// Where an incident stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    /// New; nobody has looked yet.
    Open,
    /// An operator is on it; alerts still join it.
    Acknowledged,
    /// Closed; the next alert for its key opens a new incident.
    Resolved,
}

impl IncidentState {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "open" => Self::Open,
            "acknowledged" => Self::Acknowledged,
            _ => Self::Resolved,
        }
    }
}

/// An alert to file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewAlert {
    /// What it is about, as `field=value` pairs (`principal=acme/mallory`).
    pub key: String,
    /// The rule that fired.
    pub rule_id: String,
    /// The rule's title.
    pub title: String,
    /// `info`, `warning`, `high` or `critical`.
    pub severity: String,
    /// MITRE ATT&CK / ATLAS ids.
    pub mitre: Vec<String>,
    /// When it fired (ms since the Unix epoch).
    pub time_ms: u64,
    /// The alert as JSON (evidence, actions taken).
    pub detail: String,
}

/// One alert of an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentAlert {
    /// The rule that fired.
    pub rule_id: String,
    /// Its severity.
    pub severity: String,
    /// When (ms since the Unix epoch).
    pub time_ms: u64,
    /// The alert as JSON.
    pub detail: String,
}

/// One incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    /// Random 64-bit id, hex.
    pub id: String,
    /// What it is about.
    pub key: String,
    /// The first alert's title.
    pub title: String,
    /// The highest severity of its alerts.
    pub severity: String,
    /// Where it stands.
    pub state: IncidentState,
    /// First alert (ms since the Unix epoch).
    pub opened_ms: u64,
    /// Last alert or change.
    pub updated_ms: u64,
    /// How many alerts joined it.
    pub alerts: u64,
    /// The rules that fired, in order of first appearance.
    pub rules: Vec<String>,
    /// The MITRE ids of its rules.
    pub mitre: Vec<String>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// The last operator note.
    pub note: Option<String>,
}

/// An operation on the store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IncidentError {
    /// The file cannot be opened or created.
    #[error("incident store {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// A query failed.
    #[error("incident store: {0}")]
    Sql(#[from] rusqlite::Error),
    /// No incident has this id.
    #[error("no incident {0}; `sallyport incidents list --all` shows the ids")]
    NotFound(String),
    /// The change does not apply to the incident's state.
    #[error("incident {id} is {state}; {what}")]
    WrongState {
        /// The incident.
        id: String,
        /// Its state.
        state: &'static str,
        /// What cannot be done.
        what: &'static str,
    },
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY, key TEXT NOT NULL, title TEXT NOT NULL, severity TEXT NOT NULL,
    state TEXT NOT NULL, opened_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
    alerts INTEGER NOT NULL, rules TEXT NOT NULL, mitre TEXT NOT NULL,
    acknowledged_by TEXT, resolved_by TEXT, note TEXT);
CREATE INDEX IF NOT EXISTS incidents_by_key ON incidents (key, state);
CREATE TABLE IF NOT EXISTS incident_alerts (
    incident_id TEXT NOT NULL, rule_id TEXT NOT NULL, severity TEXT NOT NULL,
    time_ms INTEGER NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS incident_alerts_by_incident ON incident_alerts (incident_id);";

const COLUMNS: &str = "id, key, title, severity, state, opened_ms, updated_ms, alerts, rules, \
                       mitre, acknowledged_by, resolved_by, note";

/// The SQLite incident store.
#[derive(Debug)]
pub struct IncidentStore {
    conn: Mutex<Connection>,
}

impl IncidentStore {
    /// Opens (creating) the store at `path`, with its directory.
    pub fn open(path: &Path) -> Result<Self, IncidentError> {
        let err = |source| IncidentError::Open {
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
        Self::init(conn)
    }

    /// A store in memory (tests, `store: memory`).
    pub fn in_memory() -> Result<Self, IncidentError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, IncidentError> {
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Files `alert`: it joins the open or acknowledged incident of its key whose last
    /// alert is at most `group_window_ms` old, or opens a new one. Returns the incident.
    pub fn record(
        &self,
        alert: &NewAlert,
        group_window_ms: u64,
    ) -> Result<Incident, IncidentError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let since = alert.time_ms.saturating_sub(group_window_ms);
        let sql = format!(
            "SELECT {COLUMNS} FROM incidents WHERE key = ?1 AND state != 'resolved' \
             AND updated_ms >= ?2 ORDER BY updated_ms DESC LIMIT 1"
        );
        let current = tx
            .query_row(&sql, params![alert.key, to_sql(since)], read)
            .optional()?;
        let incident = match current {
            Some(mut i) => {
                i.alerts += 1;
                i.updated_ms = i.updated_ms.max(alert.time_ms);
                if rank(&alert.severity) > rank(&i.severity) {
                    i.severity.clone_from(&alert.severity);
                }
                add_all(&mut i.rules, std::slice::from_ref(&alert.rule_id));
                add_all(&mut i.mitre, &alert.mitre);
                tx.execute(
                    "UPDATE incidents SET severity = ?2, updated_ms = ?3, alerts = ?4, rules = ?5, mitre = ?6 WHERE id = ?1",
                    params![i.id, i.severity, to_sql(i.updated_ms), to_sql(i.alerts), i.rules.join(","), i.mitre.join(",")],
                )?;
                i
            }
            None => {
                let i = Incident {
                    id: hex::encode(rand::random::<[u8; 8]>()),
                    key: alert.key.clone(),
                    title: alert.title.clone(),
                    severity: alert.severity.clone(),
                    state: IncidentState::Open,
                    opened_ms: alert.time_ms,
                    updated_ms: alert.time_ms,
                    alerts: 1,
                    rules: vec![alert.rule_id.clone()],
                    mitre: alert.mitre.clone(),
                    acknowledged_by: None,
                    resolved_by: None,
                    note: None,
                };
                tx.execute(
                    "INSERT INTO incidents (id, key, title, severity, state, opened_ms, updated_ms, alerts, rules, mitre) \
                     VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?5, 1, ?6, ?7)",
                    params![i.id, i.key, i.title, i.severity, to_sql(i.opened_ms), i.rules.join(","), i.mitre.join(",")],
                )?;
                i
            }
        };
        tx.execute(
            "INSERT INTO incident_alerts (incident_id, rule_id, severity, time_ms, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![incident.id, alert.rule_id, alert.severity, to_sql(alert.time_ms), alert.detail],
        )?;
        tx.commit()?;
        Ok(incident)
    }

    /// One incident.
    pub fn get(&self, id: &str) -> Result<Option<Incident>, IncidentError> {
        let sql = format!("SELECT {COLUMNS} FROM incidents WHERE id = ?1");
        Ok(self.lock().query_row(&sql, params![id], read).optional()?)
    }

    /// An incident's alerts, oldest first.
    pub fn alerts(&self, id: &str) -> Result<Vec<IncidentAlert>, IncidentError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT rule_id, severity, time_ms, detail FROM incident_alerts WHERE incident_id = ?1 ORDER BY time_ms, rowid",
        )?;
        let rows = stmt.query_map(params![id], |r| {
            Ok(IncidentAlert {
                rule_id: r.get(0)?,
                severity: r.get(1)?,
                time_ms: from_sql(r.get(2)?),
                detail: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Incidents, most recently updated first; unresolved only unless `all`; at most `limit`.
    pub fn list(&self, all: bool, limit: usize) -> Result<Vec<Incident>, IncidentError> {
        let filter = if all { "" } else { "WHERE state != 'resolved'" };
        let sql =
            format!("SELECT {COLUMNS} FROM incidents {filter} ORDER BY updated_ms DESC LIMIT ?1");
        let conn = self.lock();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params![to_sql(limit as u64)], read)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks an open incident acknowledged.
    pub fn acknowledge(
        &self,
        id: &str,
        by: &str,
        note: Option<&str>,
        now: u64,
    ) -> Result<Incident, IncidentError> {
        self.change(id, IncidentState::Acknowledged, by, note, now)
    }

    /// Resolves an open or acknowledged incident.
    pub fn resolve(
        &self,
        id: &str,
        by: &str,
        note: Option<&str>,
        now: u64,
    ) -> Result<Incident, IncidentError> {
        self.change(id, IncidentState::Resolved, by, note, now)
    }

    fn change(
        &self,
        id: &str,
        to: IncidentState,
        by: &str,
        note: Option<&str>,
        now: u64,
    ) -> Result<Incident, IncidentError> {
        let current = self
            .get(id)?
            .ok_or_else(|| IncidentError::NotFound(id.to_owned()))?;
        let allowed = match to {
            IncidentState::Acknowledged => current.state == IncidentState::Open,
            IncidentState::Resolved => current.state != IncidentState::Resolved,
            IncidentState::Open => false,
        };
        if !allowed {
            return Err(IncidentError::WrongState {
                id: current.id,
                state: current.state.as_str(),
                what: match to {
                    IncidentState::Acknowledged => "only an open incident can be acknowledged",
                    _ => "it is already resolved",
                },
            });
        }
        let column = if to == IncidentState::Resolved {
            "resolved_by"
        } else {
            "acknowledged_by"
        };
        let sql = format!(
            "UPDATE incidents SET state = ?2, {column} = ?3, note = COALESCE(?4, note), updated_ms = MAX(updated_ms, ?5) WHERE id = ?1"
        );
        self.lock().execute(
            &sql,
            params![current.id, to.as_str(), by, note, to_sql(now)],
        )?;
        self.get(id)?
            .ok_or_else(|| IncidentError::NotFound(id.to_owned()))
    }
}

fn rank(severity: &str) -> u8 {
    match severity {
        "critical" => 3,
        "high" => 2,
        "warning" => 1,
        _ => 0,
    }
}

fn add_all(into: &mut Vec<String>, from: &[String]) {
    for item in from {
        if !into.contains(item) {
            into.push(item.clone());
        }
    }
}

fn split(list: &str) -> Vec<String> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn read(r: &Row<'_>) -> rusqlite::Result<Incident> {
    Ok(Incident {
        id: r.get(0)?,
        key: r.get(1)?,
        title: r.get(2)?,
        severity: r.get(3)?,
        state: IncidentState::parse(&r.get::<_, String>(4)?),
        opened_ms: from_sql(r.get(5)?),
        updated_ms: from_sql(r.get(6)?),
        alerts: from_sql(r.get(7)?),
        rules: split(&r.get::<_, String>(8)?),
        mitre: split(&r.get::<_, String>(9)?),
        acknowledged_by: r.get(10)?,
        resolved_by: r.get(11)?,
        note: r.get(12)?,
    })
}

fn to_sql(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn from_sql(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
