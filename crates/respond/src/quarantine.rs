//! Quarantined tools and servers (the correlation actions `quarantine_tool` and
//! `quarantine_server`, and operators through the admin API): every call to them is refused
//! until the quarantine ends or is lifted. Read by [`QuarantineGuard`](crate::QuarantineGuard).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

/// Most quarantines at once; beyond it expired ones go first, then the oldest.
const MAX_QUARANTINES: usize = 10_000;

/// What is quarantined: a server's tool, a tool of that name on every server (no server),
/// or a whole server (no tool).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub struct QuarantineTarget {
    /// The upstream server; `None`: the tool on every server.
    pub server: Option<String>,
    /// The upstream-local tool; `None`: every tool of the server.
    pub tool: Option<String>,
}

impl std::fmt::Display for QuarantineTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.server, &self.tool) {
            (Some(s), Some(t)) => write!(f, "tool:{s}/{t}"),
            (Some(s), None) => write!(f, "server:{s}"),
            (None, Some(t)) => write!(f, "tool:*/{t}"),
            (None, None) => f.write_str("nothing"),
        }
    }
}

/// One quarantine, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantineEntry {
    /// What.
    pub target: QuarantineTarget,
    /// Why (the rule id, or the operator's reason).
    pub reason: String,
    /// Time left; `None` until lifted or restart.
    pub remaining_secs: Option<u64>,
}

#[derive(Debug, Clone)]
struct Quarantine {
    reason: String,
    since: Instant,
    until: Option<Instant>,
}

impl Quarantine {
    fn active(&self, now: Instant) -> bool {
        self.until.is_none_or(|u| now < u)
    }
}

/// The quarantines; a read costs one atomic load while there are none.
#[derive(Debug, Default)]
pub(crate) struct Quarantines {
    map: Mutex<HashMap<QuarantineTarget, Quarantine>>,
    any: AtomicBool,
}

impl Quarantines {
    fn lock(&self) -> MutexGuard<'_, HashMap<QuarantineTarget, Quarantine>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn add(
        &self,
        target: QuarantineTarget,
        duration: Option<Duration>,
        reason: &str,
        now: Instant,
    ) {
        let mut map = self.lock();
        if map.len() >= MAX_QUARANTINES && !map.contains_key(&target) {
            map.retain(|_, q| q.active(now));
            if map.len() >= MAX_QUARANTINES
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, q)| q.since)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(
            target,
            Quarantine {
                reason: reason.to_owned(),
                since: now,
                until: duration.and_then(|d| now.checked_add(d)),
            },
        );
        self.any.store(true, Ordering::Release);
    }

    /// Whether anything is (or was, until the next write) quarantined.
    pub(crate) fn any(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    /// Why calls to `server`'s `tool` are refused at `now`, if they are.
    pub(crate) fn reason(
        &self,
        server: &str,
        tool: &str,
        now: Instant,
    ) -> Option<(QuarantineTarget, String)> {
        if !self.any() {
            return None;
        }
        let map = self.lock();
        let candidates = [
            QuarantineTarget {
                server: Some(server.to_owned()),
                tool: Some(tool.to_owned()),
            },
            QuarantineTarget {
                server: Some(server.to_owned()),
                tool: None,
            },
            QuarantineTarget {
                server: None,
                tool: Some(tool.to_owned()),
            },
        ];
        candidates.into_iter().find_map(|target| {
            let q = map.get(&target).filter(|q| q.active(now))?;
            Some((target, q.reason.clone()))
        })
    }

    pub(crate) fn release(&self, target: &QuarantineTarget) -> bool {
        let mut map = self.lock();
        let found = map.remove(target).is_some();
        if map.is_empty() {
            self.any.store(false, Ordering::Release);
        }
        found
    }

    pub(crate) fn list(&self, now: Instant) -> Vec<QuarantineEntry> {
        self.lock()
            .iter()
            .filter(|(_, q)| q.active(now))
            .map(|(target, q)| QuarantineEntry {
                target: target.clone(),
                reason: q.reason.clone(),
                remaining_secs: q.until.map(|u| u.saturating_duration_since(now).as_secs()),
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn target(server: Option<&str>, tool: Option<&str>) -> QuarantineTarget {
        QuarantineTarget {
            server: server.map(str::to_owned),
            tool: tool.map(str::to_owned),
        }
    }

    #[test]
    fn a_tool_a_server_and_a_name_everywhere_are_each_matched() {
        let q = Quarantines::default();
        let now = Instant::now();
        assert!(q.reason("a", "x", now).is_none());
        q.add(target(Some("a"), Some("x")), None, "r1", now);
        q.add(target(Some("b"), None), None, "r2", now);
        q.add(target(None, Some("y")), None, "r3", now);
        assert_eq!(q.reason("a", "x", now).unwrap().1, "r1");
        assert!(q.reason("a", "z", now).is_none());
        assert_eq!(q.reason("b", "anything", now).unwrap().1, "r2");
        assert_eq!(q.reason("c", "y", now).unwrap().1, "r3");
        assert_eq!(q.list(now).len(), 3);
    }

    #[test]
    fn quarantines_end_when_they_expire_or_are_released() {
        let q = Quarantines::default();
        let now = Instant::now();
        q.add(
            target(Some("a"), Some("x")),
            Some(Duration::from_secs(5)),
            "r",
            now,
        );
        assert!(q.reason("a", "x", now + Duration::from_secs(4)).is_some());
        assert!(q.reason("a", "x", now + Duration::from_secs(5)).is_none());
        q.add(target(Some("a"), None), None, "r", now);
        assert!(q.release(&target(Some("a"), None)));
        assert!(!q.release(&target(Some("a"), None)));
        assert!(q.reason("a", "y", now).is_none());
    }
}
