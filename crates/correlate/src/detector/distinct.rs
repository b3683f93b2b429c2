//! `distinct`: at least N different values of a field among matching events within the
//! window, per key.
//!
//! Each key keeps at most N values as (hash, last time seen) pairs ([`ValueSet`]), plus a
//! record of the last 8 events that brought a new value (the alert's evidence).

use crate::alert::{Alert, AlertSpan, key_of};
use crate::detector::values::ValueSet;
use crate::detector::{Observed, Output, RuleCx};
use crate::event::KeyField;
use crate::evidence::{EVIDENCE_CAP, EvidenceRecord, NameRole, take};
use crate::inline::SmallRing;
use crate::key::{KeyHashes, KeySpec};
use crate::selector::Selector;
use crate::table::{KeyState, KeyTable};

#[derive(Debug)]
pub(crate) struct DistinctDetector {
    selector: Selector,
    field: KeyField,
    value_spec: KeySpec,
    count: u32,
    pub(crate) table: KeyTable<DistinctState>,
}

#[derive(Debug, Default)]
pub(crate) struct DistinctState {
    /// Values seen within the window, at most `count`.
    values: ValueSet,
    /// No value was last seen before this (a lower bound: expiry is only looked for once
    /// it falls out of the window).
    oldest_ms: u64,
    /// The last events that brought a new value.
    evidence: SmallRing<EvidenceRecord>,
    cooldown_until_ms: u64,
}

impl KeyState for DistinctState {
    fn clear(&mut self) {
        self.values.clear();
        self.oldest_ms = 0;
        self.evidence.clear();
        self.cooldown_until_ms = 0;
    }

    fn warm(&self) -> u64 {
        self.oldest_ms ^ self.cooldown_until_ms ^ self.values.len() as u64
    }
}

impl DistinctDetector {
    pub(crate) fn new(
        selector: Selector,
        field: KeyField,
        value_spec: KeySpec,
        count: u32,
        max_keys: usize,
    ) -> Self {
        Self {
            selector,
            field,
            value_spec,
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
        let (Some(hash), Some(value_hash)) = (
            keys.hash(rule.key_spec, event),
            keys.hash(self.value_spec, event),
        ) else {
            return;
        };
        let meta = &rule.meta;
        let count = self.count as usize;
        let (_, slot) = self.table.entry(hash, event.time_ms);
        let now = slot.advance(event.time_ms);
        let state = &mut slot.state;
        if now.saturating_sub(state.oldest_ms) >= meta.window_ms {
            forget_expired(state, now, meta.window_ms);
        }
        if state.values.see(value_hash, now) {
            if state.values.len() > count {
                // Only during a cooldown: forget the stalest value.
                state.values.forget_stalest();
            }
            let value = out.names.field(self.field, event);
            let record = EvidenceRecord::new(now, observed.kind, value);
            state.evidence.ensure_capacity(count.min(EVIDENCE_CAP));
            state.evidence.push(record);
        }
        if state.values.len() >= count {
            if now < state.cooldown_until_ms {
                *out.suppressed += 1;
            } else {
                let span = AlertSpan {
                    first_ms: state.values.oldest_ms().unwrap_or(now),
                    last_ms: now,
                    count: state.values.len() as u32,
                    evidence: take(&mut state.evidence, out.evidence(NameRole::Value)),
                };
                state.values.clear();
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

/// Drops values last seen a window or more before `now`, and recomputes `oldest_ms`.
fn forget_expired(state: &mut DistinctState, now: u64, window_ms: u64) {
    state
        .values
        .retain(|seen| now.saturating_sub(seen.last_ms) < window_ms);
    state.oldest_ms = state.values.oldest_ms().unwrap_or(now);
}
