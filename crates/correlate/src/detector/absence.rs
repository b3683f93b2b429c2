//! `absence`: an event matching `start`, then no event matching `expect` for the same key
//! within the window. Fires from [`Engine::tick`](crate::Engine::tick) once the window has
//! ended.
//!
//! A key waits on at most one start at a time (a second start while waiting is ignored).
//! Deadlines sit in a min-heap; a cancelled or evicted wait leaves a stale heap entry that
//! is skipped when reached and purged when stale entries pile up.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::alert::{Alert, AlertSpan, KeyValue};
use crate::detector::{Observed, Output, RuleCx};
use crate::event::{CorrelationEvent, KeyField};
use crate::evidence::{EvidenceRecord, NameRole};
use crate::key::KeyHashes;
use crate::selector::Selector;
use crate::table::{KeyState, KeyTable};

/// Routing bit of `start`.
const START: u32 = 1;
/// Routing bit of `expect`.
const EXPECT: u32 = 2;

#[derive(Debug)]
pub(crate) struct AbsenceDetector {
    start: Selector,
    expect: Selector,
    pub(crate) table: KeyTable<AbsenceState>,
    deadlines: BinaryHeap<Reverse<Deadline>>,
    max_keys: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Deadline {
    at_ms: u64,
    slot: u32,
    generation: u32,
}

#[derive(Debug, Default)]
pub(crate) struct AbsenceState {
    /// When the current wait ends, if waiting.
    deadline_ms: Option<u64>,
    started: EvidenceRecord,
    /// The key's values (the alert is raised without an event to read them from). The
    /// strings are reused by the next key that gets this slot.
    key: Vec<String>,
    cooldown_until_ms: u64,
}

impl KeyState for AbsenceState {
    fn clear(&mut self) {
        self.deadline_ms = None;
        self.cooldown_until_ms = 0;
    }

    fn warm(&self) -> u64 {
        self.deadline_ms.unwrap_or(0) ^ self.cooldown_until_ms
    }
}

impl AbsenceDetector {
    pub(crate) fn new(start: Selector, expect: Selector, max_keys: usize) -> Self {
        Self {
            start,
            expect,
            table: KeyTable::new(max_keys),
            deadlines: BinaryHeap::new(),
            max_keys,
        }
    }

    /// `mask`: [`START`] and/or [`EXPECT`], the selectors whose kinds name the event's.
    pub(crate) fn observe(
        &mut self,
        rule: &RuleCx,
        observed: Observed<'_, '_>,
        mask: u32,
        keys: &mut KeyHashes,
        out: &mut Output<'_>,
    ) {
        let event = observed.event;
        // `expect` first: an event that is both ends the old wait and opens a new one.
        if mask & EXPECT != 0 && observed.matches(&self.expect) {
            self.cancel(rule, event, keys);
        }
        if mask & START != 0 && observed.matches(&self.start) {
            self.begin(rule, observed, keys, out);
        }
    }

    fn cancel(&mut self, rule: &RuleCx, event: &CorrelationEvent<'_>, keys: &mut KeyHashes) {
        let Some(hash) = keys.hash(rule.key_spec, event) else {
            return;
        };
        let Some(slot) = self.table.get(hash, event.time_ms) else {
            return;
        };
        let now = slot.advance(event.time_ms);
        // Arriving at or after the deadline is too late: the absence already happened.
        if slot
            .state
            .deadline_ms
            .is_some_and(|deadline| now < deadline)
        {
            slot.state.deadline_ms = None;
            slot.retain_until_ms = slot.state.cooldown_until_ms;
        }
    }

    fn begin(
        &mut self,
        rule: &RuleCx,
        observed: Observed<'_, '_>,
        keys: &mut KeyHashes,
        out: &mut Output<'_>,
    ) {
        let event = observed.event;
        let Some(hash) = keys.hash(rule.key_spec, event) else {
            return;
        };
        let (at, slot) = self.table.entry(hash, event.time_ms);
        let now = slot.advance(event.time_ms);
        let state = &mut slot.state;
        if state.deadline_ms.is_some() {
            return;
        }
        if now < state.cooldown_until_ms {
            *out.suppressed += 1;
            return;
        }
        let deadline = now.saturating_add(rule.meta.window_ms);
        state.deadline_ms = Some(deadline);
        let tool = out.names.field(KeyField::Tool, event);
        state.started = EvidenceRecord::new(now, observed.kind, tool);
        fill_key(&mut state.key, event, &rule.meta.group_by);
        slot.retain_until_ms = deadline;
        let generation = slot.generation;
        self.deadlines.push(Reverse(Deadline {
            at_ms: deadline,
            slot: at,
            generation,
        }));
        if self.deadlines.len() > 2 * self.max_keys + 64 {
            self.purge_stale();
        }
    }

    /// Raises an alert for every wait that ended at or before `now_ms`.
    pub(crate) fn fire_due(&mut self, rule: &RuleCx, now_ms: u64, out: &mut Output<'_>) {
        let meta = &rule.meta;
        while let Some(&Reverse(due)) = self.deadlines.peek()
            && due.at_ms <= now_ms
        {
            self.deadlines.pop();
            let Some(slot) = self.table.slot(due.slot, due.generation) else {
                continue;
            };
            let state = &mut slot.state;
            if state.deadline_ms != Some(due.at_ms) {
                continue;
            }
            state.deadline_ms = None;
            state.cooldown_until_ms = due.at_ms.saturating_add(meta.cooldown_ms);
            slot.retain_until_ms = state.cooldown_until_ms;
            let key = (meta.group_by.iter().zip(&state.key))
                .map(|(&field, value)| KeyValue {
                    field,
                    value: value.clone(),
                })
                .collect();
            let span = AlertSpan {
                first_ms: state.started.time_ms(),
                last_ms: due.at_ms,
                count: 1,
                evidence: vec![state.started.to_evidence(out.evidence(NameRole::Tool))],
            };
            out.alerts.push(Alert::new(meta, key, span));
        }
    }

    /// Drops heap entries whose wait was cancelled, fired or evicted.
    fn purge_stale(&mut self) {
        let table = &mut self.table;
        self.deadlines.retain(|Reverse(due)| {
            table
                .slot(due.slot, due.generation)
                .is_some_and(|slot| slot.state.deadline_ms == Some(due.at_ms))
        });
    }
}

/// Copies the key's values into `key`, reusing its strings.
fn fill_key(key: &mut Vec<String>, event: &CorrelationEvent<'_>, fields: &[KeyField]) {
    key.truncate(fields.len());
    for (at, &field) in fields.iter().enumerate() {
        let value = event.field(field).unwrap_or_default();
        match key.get_mut(at) {
            Some(text) => {
                text.clear();
                text.push_str(value);
            }
            None => key.push(value.to_owned()),
        }
    }
}
