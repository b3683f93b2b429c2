//! Bounded, allocation-free records of the events behind an alert.

use crate::alert::Evidence;
use crate::inline::{INLINE, SmallRing};
use crate::names::{NO_NAME, NameId, NameTable};

/// Most evidence records kept per key (and reported per alert): as many as fit inline.
pub(crate) const EVIDENCE_CAP: usize = INLINE;

/// Index of an event kind in the engine's kind table.
pub(crate) type KindId = u32;

/// What is kept of one event: 16 bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EvidenceRecord {
    time_ms: u64,
    kind: KindId,
    /// The event's tool, or for distinct rules the value counted ([`NameRole`]).
    name: NameId,
}

/// What an evidence record's name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameRole {
    /// The event's tool.
    Tool,
    /// The value a distinct rule counted.
    Value,
}

impl Default for EvidenceRecord {
    fn default() -> Self {
        Self {
            time_ms: 0,
            kind: 0,
            name: NO_NAME,
        }
    }
}

impl EvidenceRecord {
    /// A record of an event, with its tool or counted value.
    pub(crate) fn new(time_ms: u64, kind: KindId, name: NameId) -> Self {
        Self {
            time_ms,
            kind,
            name,
        }
    }

    /// When the event happened.
    pub(crate) fn time_ms(&self) -> u64 {
        self.time_ms
    }

    /// The public form, with the kind and name looked up.
    pub(crate) fn to_evidence(self, cx: EvidenceCx<'_>) -> Evidence {
        let name = cx.names.resolve(self.name).map(str::to_owned);
        let (tool, value) = match cx.role {
            NameRole::Tool => (name, None),
            NameRole::Value => (None, name),
        };
        Evidence {
            time_ms: self.time_ms,
            kind: (cx.kinds.get(self.kind as usize))
                .map(|kind| kind.to_string())
                .unwrap_or_default(),
            tool,
            value,
        }
    }
}

/// What turning records into public evidence needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EvidenceCx<'a> {
    pub(crate) kinds: &'a [Box<str>],
    pub(crate) names: &'a NameTable,
    pub(crate) role: NameRole,
}

/// The records of `ring`, oldest first, in public form; empties the ring.
pub(crate) fn take(ring: &mut SmallRing<EvidenceRecord>, cx: EvidenceCx<'_>) -> Vec<Evidence> {
    let evidence = ring.iter().map(|record| record.to_evidence(cx)).collect();
    ring.clear();
    evidence
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_small() {
        assert_eq!(size_of::<EvidenceRecord>(), 16);
    }

    #[test]
    fn ring_keeps_the_last_records_in_order() {
        let kinds: Vec<Box<str>> = vec!["k".into()];
        let mut names = NameTable::default();
        let tool = names.intern("fetch");
        let mut ring = SmallRing::default();
        ring.ensure_capacity(3);
        for time in 0..11 {
            ring.push(EvidenceRecord::new(time, 0, tool));
        }
        let cx = EvidenceCx {
            kinds: &kinds,
            names: &names,
            role: NameRole::Tool,
        };
        let evidence = take(&mut ring, cx);
        let times: Vec<u64> = evidence.iter().map(|e| e.time_ms).collect();
        assert_eq!(times, [8, 9, 10]);
        assert_eq!(evidence[0].tool.as_deref(), Some("fetch"));
        assert!(take(&mut ring, cx).is_empty());
    }
}
