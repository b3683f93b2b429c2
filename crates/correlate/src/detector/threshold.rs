//! `threshold`: at least N matching events within the window, per key.
//!
//! Up to N = 64 counting is exact: a key keeps the times of its last N matching events
//! (never more), so "N within the window" is "the oldest of the last N is inside the
//! window". Up to 8 the evidence records, inline, are those times; up to 64 the times are
//! a ring on the heap. Above 64 events are counted in time buckets ([`BucketCounter`]).

use crate::alert::{Alert, AlertSpan, key_of};
use crate::detector::buckets::{BucketCounter, EXACT_MAX};
use crate::detector::{Observed, Output, RuleCx};
use crate::event::KeyField;
use crate::evidence::{EVIDENCE_CAP, EvidenceRecord, NameRole, take};
use crate::inline::{HeapRing, SmallRing};
use crate::key::KeyHashes;
use crate::selector::Selector;
use crate::table::{KeyState, KeyTable};

#[derive(Debug)]
pub(crate) struct ThresholdDetector {
    selector: Selector,
    count: u32,
    pub(crate) table: KeyTable<ThresholdState>,
}

#[derive(Debug, Default)]
pub(crate) struct ThresholdState {
    /// The last (at most 8) matching events.
    records: SmallRing<EvidenceRecord>,
    counter: Counter,
    cooldown_until_ms: u64,
}

/// How a key's events are counted.
#[derive(Debug, Default)]
enum Counter {
    /// By `records` (count ≤ 8).
    #[default]
    Records,
    /// Times of the last (at most `count`) matching events.
    Times(HeapRing<u64>),
    /// Events per time bucket (boxed: rare, and four times the size of the others).
    Buckets(Box<BucketCounter>),
}

impl KeyState for ThresholdState {
    fn clear(&mut self) {
        self.records.clear();
        self.counter.clear();
        self.cooldown_until_ms = 0;
    }

    fn warm(&self) -> u64 {
        let front = self.records.front().map_or(0, |record| record.time_ms());
        front ^ self.cooldown_until_ms
    }
}

impl Counter {
    fn clear(&mut self) {
        match self {
            Self::Records => {}
            Self::Times(times) => times.clear(),
            Self::Buckets(buckets) => buckets.clear(),
        }
    }

    /// Counts an event at `now`; returns the events within the window (up to `count`
    /// when exact). `records` already holds the event.
    #[inline]
    fn add(
        &mut self,
        records: &mut SmallRing<EvidenceRecord>,
        now: u64,
        count: usize,
        window_ms: u64,
    ) -> usize {
        match self {
            Self::Records if count <= EVIDENCE_CAP => {
                while records
                    .front()
                    .is_some_and(|record| now.saturating_sub(record.time_ms()) >= window_ms)
                {
                    records.pop_front();
                }
                records.len()
            }
            Self::Records if count <= EXACT_MAX => {
                *self = Self::Times(HeapRing::default());
                self.add(records, now, count, window_ms)
            }
            Self::Records => {
                *self = Self::Buckets(Box::default());
                self.add(records, now, count, window_ms)
            }
            Self::Times(times) => {
                times.ensure_capacity(count);
                while times
                    .front()
                    .is_some_and(|time| now.saturating_sub(time) >= window_ms)
                {
                    times.pop_front();
                }
                times.push(now);
                times.len()
            }
            Self::Buckets(buckets) => buckets.add(now, BucketCounter::width_ms(window_ms)) as usize,
        }
    }

    /// Time of the first event counted.
    fn first_ms(&self, records: &SmallRing<EvidenceRecord>, window_ms: u64) -> Option<u64> {
        match self {
            Self::Records => records.front().map(|record| record.time_ms()),
            Self::Times(times) => times.front(),
            Self::Buckets(buckets) => buckets.first_ms(BucketCounter::width_ms(window_ms)),
        }
    }
}

impl ThresholdDetector {
    pub(crate) fn new(selector: Selector, count: u32, max_keys: usize) -> Self {
        Self {
            selector,
            count,
            table: KeyTable::new(max_keys),
        }
    }

    #[inline]
    pub(crate) fn observe(
        &mut self,
        rule: &RuleCx,
        observed: Observed<'_, '_>,
        keys: &mut KeyHashes,
        out: &mut Output<'_>,
    ) {
        let event = observed.event;
        if !observed.matches(&self.selector) {
            return;
        }
        let Some(hash) = keys.hash(rule.key_spec, event) else {
            return;
        };
        let meta = &rule.meta;
        let count = self.count as usize;
        let (_, slot) = self.table.entry(hash, event.time_ms);
        let now = slot.advance(event.time_ms);
        let state = &mut slot.state;
        let tool = out.names.field(KeyField::Tool, event);
        state.records.ensure_capacity(count.min(EVIDENCE_CAP));
        state
            .records
            .push(EvidenceRecord::new(now, observed.kind, tool));
        let within = (state.counter).add(&mut state.records, now, count, meta.window_ms);
        if within >= count {
            if now < state.cooldown_until_ms {
                *out.suppressed += 1;
            } else {
                let first_ms = state.counter.first_ms(&state.records, meta.window_ms);
                let span = AlertSpan {
                    first_ms: first_ms.unwrap_or(now),
                    last_ms: now,
                    count: within as u32,
                    evidence: take(&mut state.records, out.evidence(NameRole::Tool)),
                };
                state.counter.clear();
                state.cooldown_until_ms = now.saturating_add(meta.cooldown_ms);
                let key = key_of(event, &meta.group_by);
                out.alerts.push(Alert::new(meta, key, span));
            }
        }
        let until = now
            .saturating_add(meta.window_ms)
            .max(state.cooldown_until_ms);
        slot.retain_until_ms = until;
    }
}
