//! Per-rule state machines, one per rule type, behind one enum.

mod absence;
mod buckets;
mod distinct;
mod sequence;
mod threshold;
mod values;

use crate::alert::Alert;
use crate::compile::{CompiledCondition, RuleMeta};
use crate::event::CorrelationEvent;
use crate::evidence::{EvidenceCx, KindId, NameRole};
use crate::key::{KeyHashes, KeySpec};
use crate::names::NameTable;
use crate::selector::{EventGlobs, Selector};

use absence::AbsenceDetector;
use distinct::DistinctDetector;
use sequence::SequenceDetector;
use threshold::ThresholdDetector;

pub(crate) use sequence::MAX_STEPS;

/// The event being observed, with its kind's id and its names matched against the globs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Observed<'e, 'a> {
    pub(crate) event: &'e CorrelationEvent<'a>,
    pub(crate) kind: KindId,
    pub(crate) globs: EventGlobs<'e>,
}

impl Observed<'_, '_> {
    /// Whether `selector` matches the event.
    #[inline]
    pub(crate) fn matches(&self, selector: &Selector) -> bool {
        selector.matches(self.event, &self.globs)
    }
}

/// Where detectors put what they find, and the tables evidence is named with.
///
/// [`evidence`](Self::evidence) borrows the tables for turning records into alerts.
#[derive(Debug)]
pub(crate) struct Output<'o> {
    pub(crate) alerts: &'o mut Vec<Alert>,
    /// Times a condition held during its key's cooldown.
    pub(crate) suppressed: &'o mut u64,
    /// Kind names, by [`KindId`].
    pub(crate) kinds: &'o [Box<str>],
    /// Tool names and counted values.
    pub(crate) names: &'o mut NameTable,
}

impl Output<'_> {
    /// The tables for turning records whose names play `role` into public evidence.
    pub(crate) fn evidence(&self, role: NameRole) -> EvidenceCx<'_> {
        EvidenceCx {
            kinds: self.kinds,
            names: self.names,
            role,
        }
    }
}

/// A rule with its compiled key spec: what a detector needs to know about its rule.
#[derive(Debug)]
pub(crate) struct RuleCx {
    pub(crate) meta: RuleMeta,
    pub(crate) key_spec: KeySpec,
}

/// One rule's state machine.
#[derive(Debug)]
pub(crate) enum Detector {
    Threshold(ThresholdDetector),
    Distinct(DistinctDetector),
    Sequence(SequenceDetector),
    Absence(AbsenceDetector),
}

impl Detector {
    /// A detector for `condition`, tracking at most `max_keys` keys.
    pub(crate) fn new(condition: CompiledCondition, max_keys: usize, keys: &mut KeyHashes) -> Self {
        match condition {
            CompiledCondition::Threshold { selector, count } => {
                Self::Threshold(ThresholdDetector::new(selector, count, max_keys))
            }
            CompiledCondition::Distinct {
                selector,
                field,
                count,
            } => {
                let value_spec = keys.intern(&[field]);
                let detector = DistinctDetector::new(selector, field, value_spec, count, max_keys);
                Self::Distinct(detector)
            }
            CompiledCondition::Sequence { steps } => {
                Self::Sequence(SequenceDetector::new(steps, max_keys))
            }
            CompiledCondition::Absence { start, expect } => {
                Self::Absence(AbsenceDetector::new(start, expect, max_keys))
            }
        }
    }

    /// The selectors of a condition, in routing-bit order (bit `i` is selector `i`).
    pub(crate) fn selectors_mut(condition: &mut CompiledCondition) -> Vec<&mut Selector> {
        match condition {
            CompiledCondition::Threshold { selector, .. }
            | CompiledCondition::Distinct { selector, .. } => vec![selector],
            CompiledCondition::Sequence { steps } => steps.iter_mut().collect(),
            CompiledCondition::Absence { start, expect } => vec![start, expect],
        }
    }

    /// Looks at an event whose kind one of the selectors in `mask` names.
    #[inline]
    pub(crate) fn observe(
        &mut self,
        rule: &RuleCx,
        observed: Observed<'_, '_>,
        mask: u32,
        keys: &mut KeyHashes,
        out: &mut Output<'_>,
    ) {
        match self {
            Self::Threshold(detector) => detector.observe(rule, observed, keys, out),
            Self::Distinct(detector) => detector.observe(rule, observed, keys, out),
            Self::Sequence(detector) => detector.observe(rule, observed, mask, keys, out),
            Self::Absence(detector) => detector.observe(rule, observed, mask, keys, out),
        }
    }

    /// Fires absences that are due and drops idle keys.
    pub(crate) fn tick(&mut self, rule: &RuleCx, now_ms: u64, out: &mut Output<'_>) {
        match self {
            Self::Threshold(detector) => detector.table.sweep_idle(now_ms),
            Self::Distinct(detector) => detector.table.sweep_idle(now_ms),
            Self::Sequence(detector) => detector.table.sweep_idle(now_ms),
            Self::Absence(detector) => {
                detector.fire_due(rule, now_ms, out);
                detector.table.sweep_idle(now_ms);
            }
        }
    }

    /// See [`KeyTable::warm`](crate::table::KeyTable::warm).
    #[inline]
    pub(crate) fn warm(&self, hash: u64) -> u64 {
        match self {
            Self::Threshold(detector) => detector.table.warm(hash),
            Self::Distinct(detector) => detector.table.warm(hash),
            Self::Sequence(detector) => detector.table.warm(hash),
            Self::Absence(detector) => detector.table.warm(hash),
        }
    }

    /// Keys tracked now, keys evicted, keys expired.
    pub(crate) fn key_counts(&self) -> (usize, u64, u64) {
        match self {
            Self::Threshold(detector) => counts(&detector.table),
            Self::Distinct(detector) => counts(&detector.table),
            Self::Sequence(detector) => counts(&detector.table),
            Self::Absence(detector) => counts(&detector.table),
        }
    }
}

fn counts<S: crate::table::KeyState>(table: &crate::table::KeyTable<S>) -> (usize, u64, u64) {
    (table.len(), table.evicted(), table.expired())
}

#[cfg(test)]
mod tests {
    use crate::table::Slot;

    use super::absence::AbsenceState;
    use super::distinct::DistinctState;
    use super::sequence::SequenceState;
    use super::threshold::ThresholdState;

    /// The per-key sizes docs/correlation.md gives.
    #[test]
    fn per_key_state_stays_small() {
        assert!(size_of::<Slot<ThresholdState>>() <= 240);
        assert!(size_of::<Slot<DistinctState>>() <= 368);
        assert!(size_of::<Slot<SequenceState>>() <= 152);
        assert!(size_of::<Slot<AbsenceState>>() <= 112);
    }
}
