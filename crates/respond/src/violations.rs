//! Recent security events per principal, for the trust score's reputation factor: how many
//! events (of any kind) a principal caused within the last hour. Bounded: past
//! [`MAX_PRINCIPALS`] principals, stale ones are dropped first, then all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How far back a violation counts.
pub const VIOLATION_WINDOW: Duration = Duration::from_secs(3600);

/// Most principals tracked.
pub const MAX_PRINCIPALS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Count {
    n: u32,
    /// When the current window began (the first violation after a quiet hour).
    since: Instant,
}

/// Violations per (principal, tenant) within [`VIOLATION_WINDOW`].
#[derive(Debug, Default)]
pub(crate) struct Violations {
    counts: Mutex<HashMap<(String, Option<String>), Count>>,
    /// Whether anything was ever recorded: the edge asks on every request, and until the
    /// first event that costs one atomic load (no lock, no key allocation).
    any: AtomicBool,
}

impl Violations {
    /// Counts one violation by `id` (of `tenant`) at `now`.
    pub(crate) fn record(&self, id: &str, tenant: Option<&str>, now: Instant) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        self.any.store(true, Ordering::Release);
        let key = (id.to_owned(), tenant.map(str::to_owned));
        if counts.len() >= MAX_PRINCIPALS && !counts.contains_key(&key) {
            counts.retain(|_, c| now.saturating_duration_since(c.since) < VIOLATION_WINDOW);
            if counts.len() >= MAX_PRINCIPALS {
                counts.clear();
            }
        }
        let count = counts.entry(key).or_insert(Count { n: 0, since: now });
        if now.saturating_duration_since(count.since) >= VIOLATION_WINDOW {
            *count = Count { n: 0, since: now };
        }
        count.n = count.n.saturating_add(1);
    }

    /// How many violations `id` (of `tenant`) caused in the window ending at `now`.
    pub(crate) fn recent(&self, id: &str, tenant: Option<&str>, now: Instant) -> u32 {
        if !self.any.load(Ordering::Acquire) {
            return 0;
        }
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts
            .get(&(id.to_owned(), tenant.map(str::to_owned)))
            .filter(|c| now.saturating_duration_since(c.since) < VIOLATION_WINDOW)
            .map_or(0, |c| c.n)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_count_per_principal_and_tenant_within_the_hour() {
        let v = Violations::default();
        let t0 = Instant::now();
        v.record("alice", None, t0);
        v.record("alice", None, t0 + Duration::from_secs(10));
        v.record("alice", Some("acme"), t0);
        assert_eq!(v.recent("alice", None, t0 + Duration::from_secs(20)), 2);
        assert_eq!(v.recent("alice", Some("acme"), t0), 1);
        assert_eq!(v.recent("bob", None, t0), 0);
        // An hour after the window began, the slate is clean.
        assert_eq!(v.recent("alice", None, t0 + VIOLATION_WINDOW), 0);
        v.record("alice", None, t0 + VIOLATION_WINDOW);
        assert_eq!(v.recent("alice", None, t0 + VIOLATION_WINDOW), 1);
    }

    #[test]
    fn tracking_is_bounded() {
        let v = Violations::default();
        let t0 = Instant::now();
        for i in 0..MAX_PRINCIPALS + 10 {
            v.record(&format!("p{i}"), None, t0);
        }
        assert!(v.len() <= MAX_PRINCIPALS, "{}", v.len());
    }
}
