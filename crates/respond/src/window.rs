//! Sliding-window event counts per `(event kind, key)`, in bounded memory.
//!
//! Each window keeps at most `threshold` timestamps (the threshold is reached when the
//! oldest of the last `threshold` events is still inside the window), and at most
//! `max_keys` windows exist at once: a new key beyond the cap forgets the least recently
//! seen one. Memory is therefore bounded by `max_keys × threshold` timestamps.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use crate::event::SecurityEventKind;

/// What events are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ThresholdKey {
    /// An authenticated principal, within its tenant.
    Principal {
        /// The principal's id.
        id: String,
        /// Its tenant.
        tenant: Option<String>,
    },
    /// A client address.
    Ip(IpAddr),
}

impl std::fmt::Display for ThresholdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Principal { id, tenant: None } => write!(f, "principal:{id}"),
            Self::Principal {
                id,
                tenant: Some(t),
            } => write!(f, "principal:{t}/{id}"),
            Self::Ip(ip) => write!(f, "ip:{ip}"),
        }
    }
}

type Slot = (SecurityEventKind, ThresholdKey);

#[derive(Debug)]
struct Window {
    /// Event times in milliseconds since the counter's epoch, oldest first.
    hits: VecDeque<u64>,
    /// Its position in the recency index.
    stamp: (u64, u64),
}

/// Every tracked window, with a recency index for eviction.
#[derive(Debug)]
pub struct Windows {
    max_keys: usize,
    windows: HashMap<Slot, Window>,
    /// `(last seen ms, sequence)` → slot, least recent first.
    by_recency: BTreeMap<(u64, u64), Slot>,
    seq: u64,
}

impl Windows {
    /// Tracks at most `max_keys` windows (at least one).
    pub fn new(max_keys: usize) -> Self {
        Self {
            max_keys: max_keys.max(1),
            windows: HashMap::new(),
            by_recency: BTreeMap::new(),
            seq: 0,
        }
    }

    /// How many windows are tracked.
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// True when nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// Counts one event at `now_ms` and returns how many fall within `window` for this
    /// kind and key, when that reaches `threshold`; the window then starts afresh, so the
    /// next action needs `threshold` new events.
    pub fn hit(
        &mut self,
        kind: SecurityEventKind,
        key: ThresholdKey,
        now_ms: u64,
        window: Duration,
        threshold: u32,
    ) -> Option<u32> {
        let threshold = threshold.max(1);
        let cap = usize::try_from(threshold).unwrap_or(usize::MAX);
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        let slot = (kind, key);
        self.seq += 1;
        let stamp = (now_ms, self.seq);
        if let Some(w) = self.windows.get_mut(&slot) {
            self.by_recency.remove(&w.stamp);
            w.stamp = stamp;
        } else {
            if self.windows.len() >= self.max_keys {
                self.evict_one();
            }
            self.windows.insert(
                slot.clone(),
                Window {
                    hits: VecDeque::new(),
                    stamp,
                },
            );
        }
        self.by_recency.insert(stamp, slot.clone());
        let w = self.windows.get_mut(&slot)?;
        while w
            .hits
            .front()
            .is_some_and(|t| now_ms.saturating_sub(*t) >= window_ms)
        {
            w.hits.pop_front();
        }
        w.hits.push_back(now_ms);
        while w.hits.len() > cap {
            w.hits.pop_front();
        }
        if w.hits.len() < cap {
            return None;
        }
        let count = u32::try_from(w.hits.len()).unwrap_or(u32::MAX);
        w.hits.clear();
        Some(count)
    }

    fn evict_one(&mut self) {
        if let Some((_, slot)) = self.by_recency.pop_first() {
            self.windows.remove(&slot);
        }
    }
}
