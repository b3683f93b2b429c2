//! Delivery counters per sink, for logs and metrics.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::SinkKind;

/// A snapshot of one sink's counters since start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkStats {
    /// The sink's name.
    pub name: String,
    /// What the sink speaks.
    pub kind: SinkKind,
    /// Notifications the receiver accepted (2xx).
    pub sent: u64,
    /// Notifications given up on: a permanent refusal (4xx other than 408 and 429), or every
    /// attempt failed.
    pub failed: u64,
    /// Retries made (attempts after the first), over all notifications.
    pub retried: u64,
    /// Notifications never attempted: the queue was full, the notifier was shutting down, or
    /// the shutdown deadline passed before their turn.
    pub dropped: u64,
    /// Notifications queued or being delivered right now.
    pub queued: u64,
}

/// The live counters behind [`SinkStats`], shared by the notifier and the sink's task.
#[derive(Debug, Default)]
pub(crate) struct SinkCounters {
    pub(crate) sent: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) queued: AtomicU64,
}

impl SinkCounters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Decrements `queued` without wrapping below zero.
    pub(crate) fn dequeued(&self) {
        let _ = self
            .queued
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    pub(crate) fn snapshot(&self, name: &str, kind: SinkKind) -> SinkStats {
        SinkStats {
            name: name.to_owned(),
            kind,
            sent: self.sent.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            queued: self.queued.load(Ordering::Relaxed),
        }
    }
}
