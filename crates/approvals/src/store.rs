//! The approval store: one row per request, in SQLite (a file shared with
//! `sallyport approvals`, or memory for tests).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use crate::binding::ApprovalBinding;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    /// Waiting for an operator.
    Pending,
    /// Approved; admits the bound call once, until it expires.
    Approved,
    /// Denied; the bound call is refused until the request would have expired.
    Denied,
    /// Approved and spent on the call it admitted.
    Used,
    /// Nobody decided in time, or the approval was not used in time.
    Expired,
}

impl ApprovalState {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Used => "used",
            Self::Expired => "expired",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "denied" => Self::Denied,
            "used" => Self::Used,
            _ => Self::Expired,
        }
    }
}

/// One approval request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approval {
    /// Random 128-bit id, hex; the CLI accepts a unique prefix.
    pub id: String,
    /// The exact call it covers.
    pub binding: ApprovalBinding,
    /// Why the call was held (the guard's reason).
    pub reason: String,
    /// Where it stands (an expired pending or approved row reads as `expired`).
    pub state: ApprovalState,
    /// When it was requested (ms since the Unix epoch).
    pub requested_ms: u64,
    /// When it stops being pending (or, once approved, usable).
    pub expires_ms: u64,
    /// When it was decided.
    pub decided_ms: Option<u64>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// The operator's note.
    pub note: Option<String>,
    /// When the call it admitted went through.
    pub used_ms: Option<u64>,
}

/// An operation on the store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApprovalError {
    /// The file cannot be opened or created.
    #[error("approval store {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// A query failed.
    #[error("approval store: {0}")]
    Sql(#[from] rusqlite::Error),
    /// No request has this id (or id prefix).
    #[error("no approval request {0}; `sallyport approvals list` shows the ids")]
    NotFound(String),
    /// The prefix names several requests.
    #[error("approval id prefix {0} matches several requests; give more of the id")]
    Ambiguous(String),
    /// Only a pending request can be decided.
    #[error("approval request {id} is {state}, not pending; only a pending request can be decided")]
    NotPending {
        /// The request.
        id: String,
        /// Its state.
        state: &'static str,
    },
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY, binding_key TEXT NOT NULL,
    principal TEXT NOT NULL, tenant TEXT, server TEXT NOT NULL, tool TEXT NOT NULL,
    args_digest TEXT NOT NULL, policy_version TEXT NOT NULL, reason TEXT NOT NULL,
    state TEXT NOT NULL, requested_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,
    decided_ms INTEGER, decided_by TEXT, note TEXT, used_ms INTEGER);
CREATE INDEX IF NOT EXISTS approvals_by_binding ON approvals (binding_key, state);";

const COLUMNS: &str = "id, principal, tenant, server, tool, args_digest, policy_version, reason, \
                       state, requested_ms, expires_ms, decided_ms, decided_by, note, used_ms";

/// The SQLite approval store.
#[derive(Debug)]
pub struct ApprovalStore {
    conn: Mutex<Connection>,
}

impl ApprovalStore {
    /// Opens (creating) the store at `path`, with its directory.
    pub fn open(path: &Path) -> Result<Self, ApprovalError> {
        let err = |source| ApprovalError::Open {
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
    pub fn in_memory() -> Result<Self, ApprovalError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, ApprovalError> {
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

    /// The request for this call: an approved (unused) or denied one that is still in
    /// force, else the pending one, else a new pending request that expires after
    /// `pending_ttl_ms`. A retried call so finds its earlier request instead of filing
    /// another.
    pub fn request(
        &self,
        binding: &ApprovalBinding,
        reason: &str,
        now: u64,
        pending_ttl_ms: u64,
    ) -> Result<Approval, ApprovalError> {
        let key = binding.key();
        let conn = self.lock();
        let sql = format!(
            "SELECT {COLUMNS} FROM approvals WHERE binding_key = ?1 \
             AND state IN ('approved', 'denied', 'pending') AND expires_ms > ?2 \
             ORDER BY CASE state WHEN 'approved' THEN 0 WHEN 'denied' THEN 1 ELSE 2 END, \
             requested_ms DESC LIMIT 1"
        );
        let found = conn
            .query_row(&sql, params![key, to_sql(now)], |r| read(r, now))
            .optional()?;
        if let Some(existing) = found {
            return Ok(existing);
        }
        let id = hex::encode(rand::random::<[u8; 16]>());
        let expires = now.saturating_add(pending_ttl_ms);
        let b = binding;
        conn.execute(
            "INSERT INTO approvals (id, binding_key, principal, tenant, server, tool, args_digest, \
             policy_version, reason, state, requested_ms, expires_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?10, ?11)",
            params![
                id,
                key,
                b.principal,
                b.tenant,
                b.server,
                b.tool,
                b.args_digest,
                b.policy_version,
                reason,
                to_sql(now),
                to_sql(expires)
            ],
        )?;
        Ok(Approval {
            id,
            binding: binding.clone(),
            reason: reason.to_owned(),
            state: ApprovalState::Pending,
            requested_ms: now,
            expires_ms: expires,
            decided_ms: None,
            decided_by: None,
            note: None,
            used_ms: None,
        })
    }

    /// One request by its full id.
    pub fn get(&self, id: &str, now: u64) -> Result<Option<Approval>, ApprovalError> {
        let sql = format!("SELECT {COLUMNS} FROM approvals WHERE id = ?1");
        Ok(self
            .lock()
            .query_row(&sql, params![id], |r| read(r, now))
            .optional()?)
    }

    /// Requests, newest first, optionally only those in `state`; at most `limit`.
    pub fn list(
        &self,
        state: Option<ApprovalState>,
        now: u64,
        limit: usize,
    ) -> Result<Vec<Approval>, ApprovalError> {
        let sql = format!("SELECT {COLUMNS} FROM approvals ORDER BY requested_ms DESC");
        let conn = self.lock();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map([], |r| read(r, now))?;
        let mut out = Vec::new();
        for row in rows {
            let a = row?;
            if state.is_none_or(|s| s == a.state) {
                out.push(a);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Approves a pending request (by id or unique prefix): it admits its call once within
    /// `valid_ms`.
    pub fn approve(
        &self,
        id: &str,
        by: &str,
        note: Option<&str>,
        now: u64,
        valid_ms: u64,
    ) -> Result<Approval, ApprovalError> {
        self.decide(id, ApprovalState::Approved, by, note, now, Some(valid_ms))
    }

    /// Denies a pending request (by id or unique prefix): its call is refused until the
    /// request would have expired.
    pub fn deny(
        &self,
        id: &str,
        by: &str,
        note: Option<&str>,
        now: u64,
    ) -> Result<Approval, ApprovalError> {
        self.decide(id, ApprovalState::Denied, by, note, now, None)
    }

    fn decide(
        &self,
        id: &str,
        to: ApprovalState,
        by: &str,
        note: Option<&str>,
        now: u64,
        valid_ms: Option<u64>,
    ) -> Result<Approval, ApprovalError> {
        let conn = self.lock();
        let current = resolve(&conn, id, now)?;
        if current.state != ApprovalState::Pending {
            return Err(ApprovalError::NotPending {
                id: current.id,
                state: current.state.as_str(),
            });
        }
        let expires = valid_ms.map_or(current.expires_ms, |v| now.saturating_add(v));
        let changed = conn.execute(
            "UPDATE approvals SET state = ?2, decided_ms = ?3, decided_by = ?4, note = ?5, \
             expires_ms = ?6 WHERE id = ?1 AND state = 'pending'",
            params![
                current.id,
                to.as_str(),
                to_sql(now),
                by,
                note,
                to_sql(expires)
            ],
        )?;
        if changed == 0 {
            return Err(ApprovalError::NotPending {
                id: current.id,
                state: "decided meanwhile",
            });
        }
        resolve(&conn, &current.id, now)
    }

    /// Spends approval `id` on the call `binding` describes: true when it was approved, for
    /// exactly this call, and not yet used or expired. At most one caller ever gets true.
    pub fn consume(
        &self,
        id: &str,
        binding: &ApprovalBinding,
        now: u64,
    ) -> Result<bool, ApprovalError> {
        let changed = self.lock().execute(
            "UPDATE approvals SET state = 'used', used_ms = ?3 \
             WHERE id = ?1 AND binding_key = ?2 AND state = 'approved' AND expires_ms > ?3",
            params![id, binding.key(), to_sql(now)],
        )?;
        Ok(changed == 1)
    }
}

/// The request `id` names: the full id, or a unique prefix of at least 6 characters.
fn resolve(conn: &Connection, id: &str, now: u64) -> Result<Approval, ApprovalError> {
    let sql = format!("SELECT {COLUMNS} FROM approvals WHERE id = ?1");
    if let Some(a) = conn
        .query_row(&sql, params![id], |r| read(r, now))
        .optional()?
    {
        return Ok(a);
    }
    let valid_prefix = id.len() >= 6 && id.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid_prefix {
        return Err(ApprovalError::NotFound(id.to_owned()));
    }
    let sql = format!("SELECT {COLUMNS} FROM approvals WHERE id LIKE ?1 || '%' LIMIT 2");
    let mut stmt = conn.prepare(&sql)?;
    let mut found: Vec<Approval> = stmt
        .query_map(params![id.to_ascii_lowercase()], |r| read(r, now))?
        .collect::<Result<_, _>>()?;
    match found.len() {
        0 => Err(ApprovalError::NotFound(id.to_owned())),
        1 => Ok(found.remove(0)),
        _ => Err(ApprovalError::Ambiguous(id.to_owned())),
    }
}

fn read(r: &Row<'_>, now: u64) -> rusqlite::Result<Approval> {
    let state = ApprovalState::parse(&r.get::<_, String>(8)?);
    let expires_ms = from_sql(r.get(10)?);
    let live = matches!(state, ApprovalState::Pending | ApprovalState::Approved);
    Ok(Approval {
        id: r.get(0)?,
        binding: ApprovalBinding {
            principal: r.get(1)?,
            tenant: r.get(2)?,
            server: r.get(3)?,
            tool: r.get(4)?,
            args_digest: r.get(5)?,
            policy_version: r.get(6)?,
        },
        reason: r.get(7)?,
        state: if live && expires_ms <= now {
            ApprovalState::Expired
        } else {
            state
        },
        requested_ms: from_sql(r.get(9)?),
        expires_ms,
        decided_ms: r.get::<_, Option<i64>>(11)?.map(from_sql),
        decided_by: r.get(12)?,
        note: r.get(13)?,
        used_ms: r.get::<_, Option<i64>>(14)?.map(from_sql),
    })
}

fn to_sql(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

fn from_sql(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0)
}
