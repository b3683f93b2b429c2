//! Principals whose tool calls need a human approval for a while (the correlation action
//! `require_approval`), read by [`ApprovalHoldGuard`](crate::ApprovalHoldGuard).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Most principals held at once; beyond it expired entries go first, then the oldest.
const MAX_HELD: usize = 100_000;

#[derive(Debug, Clone)]
struct Held {
    reason: String,
    since: Instant,
    until: Option<Instant>,
}

/// One hold, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldEntry {
    /// The principal.
    pub id: String,
    /// Its tenant.
    pub tenant: Option<String>,
    /// Why (the rule).
    pub reason: String,
    /// Time left; `None` until lifted.
    pub left: Option<Duration>,
}

/// Principal `(id, tenant)` → why its calls are held, and until when.
#[derive(Debug, Default)]
pub(crate) struct HeldPrincipals {
    map: Mutex<HashMap<(String, Option<String>), Held>>,
    any: AtomicBool,
}

impl HeldPrincipals {
    pub(crate) fn hold(
        &self,
        id: &str,
        tenant: Option<&str>,
        duration: Option<Duration>,
        reason: &str,
        now: Instant,
    ) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_HELD {
            map.retain(|_, h| h.until.is_none_or(|u| u > now));
            if map.len() >= MAX_HELD
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, h)| h.since)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(
            (id.to_owned(), tenant.map(str::to_owned)),
            Held {
                reason: reason.to_owned(),
                since: now,
                until: duration.map(|d| now + d),
            },
        );
        self.any.store(true, Ordering::Release);
    }

    /// Why the principal's calls are held at `now`, if they are.
    pub(crate) fn reason(&self, id: &str, tenant: Option<&str>, now: Instant) -> Option<String> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(&(id.to_owned(), tenant.map(str::to_owned)))
            .filter(|h| h.until.is_none_or(|u| u > now))
            .map(|h| h.reason.clone())
    }

    /// Whether any principal is (or was, since start) held.
    pub(crate) fn any(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    /// Every hold in force at `now`: principal, tenant, reason, time left.
    pub(crate) fn list(&self, now: Instant) -> Vec<HeldEntry> {
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.iter()
            .filter(|(_, h)| h.until.is_none_or(|u| u > now))
            .map(|((id, tenant), h)| HeldEntry {
                id: id.clone(),
                tenant: tenant.clone(),
                reason: h.reason.clone(),
                left: h.until.map(|u| u.saturating_duration_since(now)),
            })
            .collect()
    }

    pub(crate) fn release(&self, id: &str, tenant: Option<&str>) -> bool {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.remove(&(id.to_owned(), tenant.map(str::to_owned)))
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_lasts_its_duration_per_principal_and_tenant() {
        let h = HeldPrincipals::default();
        let t0 = Instant::now();
        assert_eq!(h.reason("alice", None, t0), None);
        h.hold("alice", None, Some(Duration::from_secs(60)), "rule x", t0);
        assert_eq!(h.reason("alice", None, t0).as_deref(), Some("rule x"));
        assert_eq!(h.reason("alice", Some("acme"), t0), None);
        assert_eq!(h.reason("bob", None, t0), None);
        assert_eq!(h.reason("alice", None, t0 + Duration::from_secs(61)), None);
        h.hold("bob", None, None, "forever", t0);
        assert!(h.release("bob", None));
        assert_eq!(h.reason("bob", None, t0), None);
    }
}
