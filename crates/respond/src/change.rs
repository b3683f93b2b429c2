//! Changes to the security state as data: what a store keeps and what replicas exchange.
//!
//! Every change the response orchestrator, the guards or an operator makes to a
//! [`SecurityState`] is also handed, as a [`StateChange`], to the state's sink when one is set
//! (a store that keeps blocks, quarantines and holds across restarts and shares them between
//! replicas). Changes from elsewhere come back through [`SecurityState::apply`], which never
//! hands them to the sink again. Times are wall-clock milliseconds since the Unix epoch, so
//! that they mean the same on every replica.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::quarantine::QuarantineTarget;
use crate::state::{BlockTarget, SecurityState};

/// One change to the security state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum StateChange {
    /// A principal or an address is blocked.
    Block {
        /// What.
        target: BlockTarget,
        /// Why.
        reason: String,
        /// When it ends (ms since the epoch); `None`: until lifted.
        until_ms: Option<u64>,
    },
    /// A block is lifted.
    Unblock {
        /// What.
        target: BlockTarget,
    },
    /// Calls to a tool or server are refused.
    Quarantine {
        /// What.
        target: QuarantineTarget,
        /// Why.
        reason: String,
        /// When it ends (ms since the epoch); `None`: until lifted.
        until_ms: Option<u64>,
    },
    /// A quarantine is lifted.
    Release {
        /// What.
        target: QuarantineTarget,
    },
    /// A principal's tool calls need a human approval.
    Hold {
        /// The principal.
        id: String,
        /// Its tenant.
        tenant: Option<String>,
        /// Why.
        reason: String,
        /// When it ends (ms since the epoch); `None`: until lifted.
        until_ms: Option<u64>,
    },
    /// A hold is lifted.
    ReleaseHold {
        /// The principal.
        id: String,
        /// Its tenant.
        tenant: Option<String>,
    },
}

impl StateChange {
    /// The entry this change sets or removes, as a stable string: `block:ip:<addr>`,
    /// `block:principal:<tenant>/<id>`, `quarantine:<server>/<tool>` (`*` for none),
    /// `hold:<tenant>/<id>`. Ids are JSON-escaped, so distinct entries never share a key.
    pub fn key(&self) -> String {
        let quoted = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let opt = |s: &Option<String>| s.as_deref().map_or("*".to_owned(), quoted);
        match self {
            Self::Block { target, .. } | Self::Unblock { target } => match target {
                BlockTarget::Ip { ip } => format!("block:ip:{ip}"),
                BlockTarget::Principal { id, tenant } => {
                    format!("block:principal:{}/{}", opt(tenant), quoted(id))
                }
            },
            Self::Quarantine { target, .. } | Self::Release { target } => {
                format!("quarantine:{}/{}", opt(&target.server), opt(&target.tool))
            }
            Self::Hold { id, tenant, .. } | Self::ReleaseHold { id, tenant } => {
                format!("hold:{}/{}", opt(tenant), quoted(id))
            }
        }
    }

    /// True for a change that removes its entry.
    pub fn is_removal(&self) -> bool {
        matches!(
            self,
            Self::Unblock { .. } | Self::Release { .. } | Self::ReleaseHold { .. }
        )
    }

    /// When the entry it sets ends; `None` for a removal or an entry without end.
    pub fn until_ms(&self) -> Option<u64> {
        match self {
            Self::Block { until_ms, .. }
            | Self::Quarantine { until_ms, .. }
            | Self::Hold { until_ms, .. } => *until_ms,
            _ => None,
        }
    }

    /// Whether the entry it sets has ended at `now_ms`.
    pub fn expired_at(&self, now_ms: u64) -> bool {
        self.until_ms().is_some_and(|u| u <= now_ms)
    }
}

/// Milliseconds since the Unix epoch now.
pub fn unix_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The wall-clock end of an entry lasting `duration` from now.
pub(crate) fn until_ms(duration: Option<Duration>) -> Option<u64> {
    let d = duration?;
    unix_now_ms().checked_add(u64::try_from(d.as_millis()).ok()?)
}

/// Where changes go: a bounded channel read by the store's task.
#[derive(Debug, Default)]
pub(crate) struct ChangeSink {
    tx: OnceLock<mpsc::Sender<StateChange>>,
    dropped: std::sync::atomic::AtomicU64,
}

impl ChangeSink {
    pub(crate) fn emit(&self, change: impl FnOnce() -> StateChange) {
        let Some(tx) = self.tx.get() else { return };
        if tx.try_send(change()).is_err() {
            let n = self
                .dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if n.is_power_of_two() {
                tracing::warn!(
                    dropped = n + 1,
                    "Security state changes are arriving faster than the store takes them; this replica's change was not stored or shared."
                );
            }
        }
    }
}

impl SecurityState {
    /// Hands every later change to `tx` (once; later calls are ignored). The store's task
    /// reads it; a full channel loses the change for the store only, with a warning.
    pub fn set_sink(&self, tx: mpsc::Sender<StateChange>) {
        let _ = self.sink().tx.set(tx);
    }

    /// Applies a change made elsewhere (another replica, or the store at start), without
    /// handing it to the sink. An entry that has already ended is ignored.
    pub fn apply(&self, change: &StateChange) {
        let now = Instant::now();
        let left = |until: &Option<u64>| -> Result<Option<Duration>, ()> {
            match until {
                None => Ok(None),
                Some(u) => match u.checked_sub(unix_now_ms()) {
                    Some(ms) if ms > 0 => Ok(Some(Duration::from_millis(ms))),
                    _ => Err(()),
                },
            }
        };
        match change {
            StateChange::Block {
                target,
                reason,
                until_ms,
            } => {
                if let Ok(d) = left(until_ms) {
                    self.block_local(target, d, reason, now);
                }
            }
            StateChange::Unblock { target } => {
                self.unblock_local(target);
            }
            StateChange::Quarantine {
                target,
                reason,
                until_ms,
            } => {
                if let Ok(d) = left(until_ms) {
                    self.quarantine_local(target.clone(), d, reason, now);
                }
            }
            StateChange::Release { target } => {
                self.release_quarantine_local(target);
            }
            StateChange::Hold {
                id,
                tenant,
                reason,
                until_ms,
            } => {
                if let Ok(d) = left(until_ms) {
                    self.hold_local(id, tenant.as_deref(), d, reason, now);
                }
            }
            StateChange::ReleaseHold { id, tenant } => {
                self.release_hold_local(id, tenant.as_deref());
            }
        }
    }

    /// Makes the shared entries exactly `entries` (what the store holds): each of them is
    /// applied, then every block, quarantine and hold not among them is lifted. Nothing that
    /// stays is ever lifted in between.
    pub fn replace_all(&self, entries: &[StateChange]) {
        for entry in entries {
            self.apply(entry);
        }
        let keep: std::collections::HashSet<String> =
            entries.iter().map(StateChange::key).collect();
        for removal in self.removals_of_all() {
            if !keep.contains(&removal.key()) {
                self.apply(&removal);
            }
        }
    }

    /// A removal for every entry in force.
    fn removals_of_all(&self) -> Vec<StateChange> {
        let blocks = self
            .list()
            .into_iter()
            .map(|b| StateChange::Unblock { target: b.target });
        let quarantines = self
            .quarantines()
            .into_iter()
            .map(|q| StateChange::Release { target: q.target });
        let holds = self.holds().into_iter().map(|h| StateChange::ReleaseHold {
            id: h.id,
            tenant: h.tenant,
        });
        blocks.chain(quarantines).chain(holds).collect()
    }

    /// Every entry in force, as the change that would set it (ends to the second for
    /// blocks and quarantines): what a replica writes back to a store that lost them.
    pub fn entries(&self) -> Vec<StateChange> {
        let now = unix_now_ms();
        let end = |secs: Option<u64>| secs.map(|s| now.saturating_add(s.saturating_mul(1000)));
        let blocks = self.list().into_iter().map(|b| StateChange::Block {
            target: b.target,
            reason: b.reason,
            until_ms: end(b.remaining_secs),
        });
        let quarantines = self
            .quarantines()
            .into_iter()
            .map(|q| StateChange::Quarantine {
                target: q.target,
                reason: q.reason,
                until_ms: end(q.remaining_secs),
            });
        let holds = self.holds().into_iter().map(|h| StateChange::Hold {
            id: h.id,
            tenant: h.tenant,
            reason: h.reason,
            until_ms: h
                .left
                .map(|d| now.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))),
        });
        blocks.chain(quarantines).chain(holds).collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn ip() -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))
    }

    fn drain(rx: &mut mpsc::Receiver<StateChange>) -> Vec<StateChange> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    #[test]
    fn every_change_reaches_the_sink_and_replays_on_another_replica() {
        let a = SecurityState::default();
        let b = SecurityState::default();
        let (tx, mut rx) = mpsc::channel(16);
        a.set_sink(tx);
        let now = Instant::now();
        a.block_ip(ip(), Some(HOUR), "brute_force", now);
        a.block_principal("mallory", Some("acme"), None, "stuffing", now);
        let target = QuarantineTarget {
            server: Some("files".into()),
            tool: None,
        };
        a.quarantine(target.clone(), None, "poisoned", now);
        a.require_approval("eve", None, Some(HOUR), "exfiltration_chain", now);
        let changes = drain(&mut rx);
        assert_eq!(changes.len(), 4);
        for change in &changes {
            // What a store keeps reads back as the same change.
            let json = serde_json::to_string(change).unwrap();
            assert_eq!(&serde_json::from_str::<StateChange>(&json).unwrap(), change);
            b.apply(change);
        }
        assert!(b.is_blocked_ip(ip()));
        assert!(b.is_blocked_principal("mallory", Some("acme")));
        assert!(!b.is_blocked_principal("mallory", None));
        assert!(b.quarantined("files", "read", now).is_some());
        assert_eq!(
            b.approval_required("eve", None, now).as_deref(),
            Some("exfiltration_chain")
        );
        // A block's end is carried as wall-clock time: about an hour from now.
        let until = changes[0].until_ms().unwrap();
        assert!(until.abs_diff(unix_now_ms() + 3_600_000) < 5_000, "{until}");

        a.unblock_ip(ip());
        a.unblock_principal("mallory", Some("acme"));
        a.release_quarantine(&target);
        a.release_approval_hold("eve", None);
        for change in drain(&mut rx) {
            assert!(change.is_removal());
            b.apply(&change);
        }
        assert!(b.list().is_empty() && b.quarantines().is_empty() && b.holds().is_empty());
    }

    #[test]
    fn a_shorter_block_is_not_stored_over_a_longer_one() {
        let a = SecurityState::default();
        let (tx, mut rx) = mpsc::channel(16);
        a.set_sink(tx);
        let now = Instant::now();
        a.block_ip(ip(), None, "permanent", now);
        a.block_ip(ip(), Some(HOUR), "threshold", now);
        // Only the permanent block reaches the store: a replica or a restart that loaded
        // the shorter one would lift the block early.
        let changes = drain(&mut rx);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].until_ms(), None);
        a.block_ip(ip(), None, "permanent again", now);
        assert_eq!(
            drain(&mut rx).len(),
            1,
            "a permanent block replaces a permanent one"
        );
    }

    #[test]
    fn applied_changes_are_not_sent_back() {
        let b = SecurityState::default();
        let (tx, mut rx) = mpsc::channel(16);
        b.set_sink(tx);
        b.apply(&StateChange::Block {
            target: BlockTarget::Ip { ip: ip() },
            reason: "x".into(),
            until_ms: None,
        });
        assert!(b.is_blocked_ip(ip()));
        assert!(drain(&mut rx).is_empty());
    }

    #[test]
    fn an_ended_entry_is_not_applied() {
        let s = SecurityState::default();
        let ended = StateChange::Block {
            target: BlockTarget::Ip { ip: ip() },
            reason: "x".into(),
            until_ms: Some(unix_now_ms() - 1),
        };
        assert!(ended.expired_at(unix_now_ms()));
        s.apply(&ended);
        assert!(!s.is_blocked_ip(ip()));
    }

    #[test]
    fn replace_all_keeps_what_is_stored_and_lifts_the_rest() {
        let s = SecurityState::default();
        let now = Instant::now();
        s.block_ip(ip(), None, "stays", now);
        s.block_principal("gone", None, None, "lifted elsewhere", now);
        s.require_approval("held", None, None, "lifted elsewhere", now);
        let stored = vec![
            StateChange::Block {
                target: BlockTarget::Ip { ip: ip() },
                reason: "stays".into(),
                until_ms: None,
            },
            StateChange::Quarantine {
                target: QuarantineTarget {
                    server: None,
                    tool: Some("rm".into()),
                },
                reason: "new".into(),
                until_ms: None,
            },
        ];
        s.replace_all(&stored);
        assert!(s.is_blocked_ip(ip()));
        assert!(!s.is_blocked_principal("gone", None));
        assert!(s.approval_required("held", None, now).is_none());
        assert!(s.quarantined("any", "rm", now).is_some());
    }

    #[test]
    fn keys_tell_entries_apart() {
        let hold = |id: &str, tenant: Option<&str>| StateChange::ReleaseHold {
            id: id.into(),
            tenant: tenant.map(Into::into),
        };
        assert_ne!(hold("a/b", None).key(), hold("b", Some("a")).key());
        assert_ne!(hold("*", None).key(), hold("x", None).key());
        let q = |server: Option<&str>, tool: Option<&str>| StateChange::Release {
            target: QuarantineTarget {
                server: server.map(Into::into),
                tool: tool.map(Into::into),
            },
        };
        assert_ne!(q(Some("*"), None).key(), q(None, None).key());
        assert_eq!(q(Some("s"), Some("t")).key(), r#"quarantine:"s"/"t""#);
    }
}
