//! `sequence`: steps A, B, … in that order within the window, per key, with any other
//! events in between.
//!
//! Each key keeps, per step, the start time of the most recent partial chain that has
//! reached that step (a later start leaves more of the window). An event advances step
//! `i` if step `i - 1` has a chain still inside the window; steps are tried last to first,
//! so one event never counts as two consecutive steps.

use crate::alert::{Alert, AlertSpan, key_of};
use crate::detector::{Observed, Output, RuleCx};
use crate::event::KeyField;
use crate::evidence::{EvidenceRecord, NameRole};
use crate::key::KeyHashes;
use crate::selector::Selector;
use crate::table::{KeyState, KeyTable};

#[derive(Debug)]
pub(crate) struct SequenceDetector {
    steps: Vec<Selector>,
    pub(crate) table: KeyTable<SequenceState>,
}

/// Most steps in a sequence (the state is inline).
pub(crate) const MAX_STEPS: usize = 4;
/// No chain has reached this step.
const NONE: u64 = u64::MAX;

#[derive(Debug)]
pub(crate) struct SequenceState {
    /// Per step: start time of the most recent chain that reached it, or [`NONE`].
    starts: [u64; MAX_STEPS],
    /// Per step: the latest event that advanced it.
    evidence: [EvidenceRecord; MAX_STEPS],
    cooldown_until_ms: u64,
}

impl Default for SequenceState {
    fn default() -> Self {
        Self {
            starts: [NONE; MAX_STEPS],
            evidence: [EvidenceRecord::default(); MAX_STEPS],
            cooldown_until_ms: 0,
        }
    }
}

impl KeyState for SequenceState {
    fn clear(&mut self) {
        self.starts = [NONE; MAX_STEPS];
        self.cooldown_until_ms = 0;
    }

    fn warm(&self) -> u64 {
        self.starts[0] ^ self.cooldown_until_ms
    }
}

impl SequenceState {
    /// Applies an event (described by `record`) that matched the steps in `matched`;
    /// returns the start of the chain it completed, if any (that chain is consumed).
    fn advance(
        &mut self,
        matched: u32,
        steps: usize,
        window_ms: u64,
        record: EvidenceRecord,
    ) -> Option<u64> {
        let now = record.time_ms();
        for start in &mut self.starts[..steps] {
            if *start != NONE && now.saturating_sub(*start) >= window_ms {
                *start = NONE;
            }
        }
        // Last step first, so one event never counts as two consecutive steps.
        for at in (0..steps).rev().filter(|at| matched & (1 << at) != 0) {
            let chain = match at {
                0 => now,
                _ => self.starts[at - 1],
            };
            let current = self.starts[at];
            if chain != NONE && (current == NONE || chain >= current) {
                self.starts[at] = chain;
                self.evidence[at] = record;
            }
        }
        let last = steps - 1;
        let first_ms = std::mem::replace(&mut self.starts[last], NONE);
        (first_ms != NONE).then_some(first_ms)
    }
}

impl SequenceDetector {
    pub(crate) fn new(steps: Vec<Selector>, max_keys: usize) -> Self {
        Self {
            steps,
            table: KeyTable::new(max_keys),
        }
    }

    /// `mask`: the steps whose kinds name the event's kind.
    #[inline]
    pub(crate) fn observe(
        &mut self,
        rule: &RuleCx,
        observed: Observed<'_, '_>,
        mask: u32,
        keys: &mut KeyHashes,
        out: &mut Output<'_>,
    ) {
        let event = observed.event;
        let matched = (self.steps.iter().enumerate())
            .filter(|&(at, step)| mask & (1 << at) != 0 && observed.matches(step))
            .fold(0u32, |bits, (at, _)| bits | (1 << at));
        if matched == 0 {
            return;
        }
        let Some(hash) = keys.hash(rule.key_spec, event) else {
            return;
        };
        let meta = &rule.meta;
        let steps = self.steps.len().min(MAX_STEPS);
        // Only a first step can open a chain; later steps need one already tracked.
        let slot = if matched & 1 != 0 {
            self.table.entry(hash, event.time_ms).1
        } else {
            match self.table.get(hash, event.time_ms) {
                Some(slot) => slot,
                None => return,
            }
        };
        let now = slot.advance(event.time_ms);
        let state = &mut slot.state;
        let tool = out.names.field(KeyField::Tool, event);
        let record = EvidenceRecord::new(now, observed.kind, tool);
        let chain_start = state.advance(matched, steps, meta.window_ms, record);
        if let Some(first_ms) = chain_start {
            if now < state.cooldown_until_ms {
                *out.suppressed += 1;
            } else {
                let span = AlertSpan {
                    first_ms,
                    last_ms: now,
                    count: steps as u32,
                    evidence: (state.evidence[..steps].iter())
                        .map(|record| record.to_evidence(out.evidence(NameRole::Tool)))
                        .collect(),
                };
                state.starts = [NONE; MAX_STEPS];
                state.cooldown_until_ms = now.saturating_add(meta.cooldown_ms);
                let key = key_of(event, &meta.group_by);
                out.alerts.push(Alert::new(meta, key, span));
            }
        }
        let newest_start = state.starts.iter().filter(|&&start| start != NONE).max();
        let until = newest_start.map_or(0, |start| start.saturating_add(meta.window_ms));
        slot.retain_until_ms = until.max(state.cooldown_until_ms);
    }
}
