//! Local allowances: calls claimed from Redis in a batch and then served in-process.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Entries past which expired allowances are swept on insert.
const SWEEP_ABOVE: usize = 4096;

/// Claimed-but-unserved calls per subject. Each entry is valid for `ttl` after its claim.
#[derive(Debug)]
pub(crate) struct AllowanceCache {
    batch: u32,
    ttl: Duration,
    entries: Mutex<HashMap<String, Allowance>>,
}

#[derive(Debug, Clone, Copy)]
struct Allowance {
    remaining: u32,
    expires_at: Instant,
}

impl AllowanceCache {
    /// A cache that claims `batch` calls at a time, each batch usable for `ttl`.
    pub(crate) fn new(batch: u32, ttl: Duration) -> Self {
        Self {
            batch,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How many calls to claim per round trip.
    pub(crate) fn batch(&self) -> u32 {
        self.batch
    }

    /// Serve one call for `subject_key` from its allowance, if any is left and fresh.
    pub(crate) fn take(&self, subject_key: &str) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(allowance) = entries.get_mut(subject_key) else {
            return false;
        };
        if allowance.remaining == 0 || allowance.expires_at <= Instant::now() {
            return false;
        }
        allowance.remaining -= 1;
        true
    }

    /// Keep `remaining` claimed calls for `subject_key` (replacing what was left).
    pub(crate) fn store(&self, subject_key: String, remaining: u32) {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= SWEEP_ABOVE {
            entries.retain(|_, a| a.remaining > 0 && a.expires_at > now);
        }
        entries.insert(
            subject_key,
            Allowance {
                remaining,
                expires_at: now + self.ttl,
            },
        );
    }
}
