//! Verification: walk the chain and the checkpoints and report the first break precisely.
//!
//! What can and cannot be detected (docs/audit.md, "Verifying"):
//! - an edited, deleted, reordered or inserted event anywhere: yes, by the chain alone, as
//!   long as the attacker did not recompute every later hash;
//! - a rewrite that recomputes every later hash: yes, at the first signed checkpoint after it;
//! - deleting the newest events: yes if a checkpoint (or an externally recorded head) covers
//!   them, otherwise not. Events after the last checkpoint are reported as `unsigned_tail`.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::canonical::Hash;
use crate::chain::{ChainEntry, GENESIS_HASH, Head, entry_hash, parse_hash};
use crate::event::RETENTION_PURGE;
use crate::signing::{Checkpoint, VerifyingKey};
use crate::store::{AuditStore, StoreError};

const PAGE: usize = 4_096;
/// How far from a broken entry the verifier looks for where it came from.
const WINDOW: u64 = 64;

/// Extra trust anchors.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// A head recorded outside the store (e.g. shipped to a SIEM); checked like a checkpoint.
    pub expected_head: Option<Head>,
}

/// What kind of tampering a break indicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// The event's content or hash was changed (or, for a relinked entry, the one before it).
    Edited,
    /// Events are missing (a gap no retention purge accounts for).
    Deleted,
    /// Events are in the wrong order.
    Reordered,
    /// Events were inserted; `seq` is the first inserted position.
    Inserted,
    /// The newest events are gone: a checkpoint or the expected head is beyond the stored head.
    Truncated,
    /// A checkpoint's signature is invalid or made with an unknown key.
    BadSignature,
    /// A validly signed checkpoint disagrees with the stored hash: something at or before
    /// `seq` was rewritten together with every later hash.
    CheckpointMismatch,
}

/// The first place where the log stops being trustworthy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    /// The sequence number.
    pub seq: u64,
    /// What happened there.
    pub kind: BreakKind,
    /// A sentence for the operator.
    pub detail: String,
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// No break found.
    pub ok: bool,
    /// The first break, by sequence number.
    pub first_break: Option<ChainBreak>,
    /// Stored events checked.
    pub events_checked: u64,
    /// Events removed by recorded retention purges.
    pub events_purged: u64,
    /// The lowest stored seq.
    pub first_seq: Option<u64>,
    /// The highest stored seq.
    pub head_seq: u64,
    /// Checkpoints whose signatures were checked.
    pub checkpoints_checked: u64,
    /// The newest valid checkpoint.
    pub last_checkpoint: Option<u64>,
    /// Events after the newest valid checkpoint (inclusive range): their presence and content
    /// are chained but not signed, so deleting or rewriting them cannot be detected.
    pub unsigned_tail: Option<(u64, u64)>,
}

#[derive(Debug, Clone)]
struct Run {
    last: u64,
    before: Hash,
    last_hash: Hash,
}

struct Scan {
    expected: u64,
    last_hash: Hash,
    head: Head,
    checked: u64,
    purged: u64,
    first_seq: Option<u64>,
    runs: BTreeMap<u64, Run>,
    watch: HashMap<u64, Option<Hash>>,
}

/// Verify the chain and checkpoints in `store` against `key`.
pub fn verify(
    store: &mut dyn AuditStore,
    key: &VerifyingKey,
    options: &VerifyOptions,
) -> Result<VerifyReport, StoreError> {
    let checkpoints = store.checkpoints()?;
    let mut watch: HashMap<u64, Option<Hash>> =
        checkpoints.iter().map(|cp| (cp.seq, None)).collect();
    if let Some(head) = options.expected_head {
        watch.insert(head.seq, None);
    }
    let mut scan = Scan {
        expected: 1,
        last_hash: GENESIS_HASH,
        head: Head::EMPTY,
        checked: 0,
        purged: 0,
        first_seq: None,
        runs: load_runs(store)?,
        watch,
    };
    let chain_break = scan_chain(store, &mut scan)?;
    let limit = chain_break.as_ref().map(|b| b.seq);
    let (cp_break, last_cp) = check_checkpoints(&scan, &checkpoints, key, options, limit);
    let first_break = match (chain_break, cp_break) {
        (Some(a), Some(b)) => Some(if b.seq < a.seq { b } else { a }),
        (a, b) => a.or(b),
    };
    let unsigned_tail = match last_cp {
        Some(cp) if cp >= scan.head.seq => None,
        _ if scan.head.seq == 0 => None,
        Some(cp) => Some((cp + 1, scan.head.seq)),
        None => Some((scan.first_seq.unwrap_or(1), scan.head.seq)),
    };
    Ok(VerifyReport {
        ok: first_break.is_none(),
        first_break,
        events_checked: scan.checked,
        events_purged: scan.purged,
        first_seq: scan.first_seq,
        head_seq: scan.head.seq,
        checkpoints_checked: checkpoints.len() as u64,
        last_checkpoint: last_cp,
        unsigned_tail,
    })
}

fn load_runs(store: &mut dyn AuditStore) -> Result<BTreeMap<u64, Run>, StoreError> {
    let mut runs = BTreeMap::new();
    for entry in store.entries_of_type(RETENTION_PURGE)? {
        // An unparsable purge record authorises nothing; its own entry is still chained.
        let Some(record) = entry.event().ok().and_then(|e| e.purge) else {
            continue;
        };
        for run in record.runs {
            if let (Some(before), Some(last_hash)) =
                (parse_hash(&run.hash_before), parse_hash(&run.hash_last))
            {
                runs.insert(
                    run.first_seq,
                    Run {
                        last: run.last_seq,
                        before,
                        last_hash,
                    },
                );
            }
        }
    }
    Ok(runs)
}

fn scan_chain(
    store: &mut dyn AuditStore,
    scan: &mut Scan,
) -> Result<Option<ChainBreak>, StoreError> {
    let mut from = 1;
    loop {
        let page = store.scan(from, PAGE)?;
        let Some(last) = page.last() else {
            return Ok(None);
        };
        from = last.seq + 1;
        for entry in &page {
            if let Some(b) = step(store, scan, entry)? {
                return Ok(Some(b));
            }
        }
    }
}

fn step(
    store: &mut dyn AuditStore,
    scan: &mut Scan,
    entry: &ChainEntry,
) -> Result<Option<ChainBreak>, StoreError> {
    scan.first_seq.get_or_insert(entry.seq);
    if entry.seq > scan.expected
        && let Some(b) = bridge_gap(scan, entry.seq)
    {
        return Ok(Some(b));
    }
    if let Some(b) = classify(store, entry, scan.expected, &scan.last_hash)? {
        return Ok(Some(b));
    }
    if let Some(slot) = scan.watch.get_mut(&entry.seq) {
        *slot = Some(entry.hash);
    }
    scan.checked += 1;
    scan.expected = entry.seq + 1;
    scan.last_hash = entry.hash;
    scan.head = Head {
        seq: entry.seq,
        hash: entry.hash,
    };
    Ok(None)
}

/// Cross a gap `[scan.expected, next)` using recorded purge runs, or report the deletion.
fn bridge_gap(scan: &mut Scan, next: u64) -> Option<ChainBreak> {
    let (mut cur, mut hash) = (scan.expected, scan.last_hash);
    while cur < next {
        match scan.runs.get(&cur) {
            Some(run) if run.before == hash && run.last < next => {
                scan.purged += run.last - cur + 1;
                if let Some(slot) = scan.watch.get_mut(&run.last) {
                    *slot = Some(run.last_hash);
                }
                hash = run.last_hash;
                cur = run.last + 1;
            }
            _ => {
                return Some(ChainBreak {
                    seq: cur,
                    kind: BreakKind::Deleted,
                    detail: format!(
                        "events {cur}..{} are missing and no retention purge records them",
                        next - 1
                    ),
                });
            }
        }
    }
    scan.expected = next;
    scan.last_hash = hash;
    None
}

/// Check one entry at the expected position; on failure, work out what happened.
fn classify(
    store: &mut dyn AuditStore,
    entry: &ChainEntry,
    expected: u64,
    last_hash: &Hash,
) -> Result<Option<ChainBreak>, StoreError> {
    let self_ok = entry.computed_hash() == entry.hash;
    let link_ok = entry.prev_hash == *last_hash;
    let e = expected;
    let brk = |seq, kind, detail: String| Ok(Some(ChainBreak { seq, kind, detail }));
    if self_ok && link_ok {
        return Ok(None);
    }
    if self_ok {
        let at = if e > 1 { e - 1 } else { e };
        return brk(
            at,
            BreakKind::Edited,
            format!(
                "event {e} does not link to event {at}: event {at} was rewritten (and rehashed) or event {e} relinked"
            ),
        );
    }
    let lo = e.saturating_sub(WINDOW).max(1);
    let original = (lo..=e + WINDOW)
        .find(|&s| s != e && entry_hash(entry.body.as_bytes(), s, &entry.prev_hash) == entry.hash);
    match original {
        Some(s) if s < e => brk(
            s,
            BreakKind::Inserted,
            format!("the event stored at {e} was written as {s}: events were inserted from {s}"),
        ),
        Some(s) => {
            let window = store.scan(lo, (2 * WINDOW + 1) as usize)?;
            let displaced = window
                .iter()
                .any(|w| w.seq != e && entry_hash(w.body.as_bytes(), e, &w.prev_hash) == w.hash);
            if displaced {
                brk(
                    e,
                    BreakKind::Reordered,
                    format!(
                        "the event stored at {e} was written as {s}; the event written as {e} is elsewhere"
                    ),
                )
            } else {
                brk(
                    e,
                    BreakKind::Deleted,
                    format!(
                        "the event stored at {e} was written as {s}: events were deleted and renumbered"
                    ),
                )
            }
        }
        None => brk(
            e,
            BreakKind::Edited,
            format!("event {e} does not match its hash"),
        ),
    }
}

fn check_checkpoints(
    scan: &Scan,
    checkpoints: &[Checkpoint],
    key: &VerifyingKey,
    options: &VerifyOptions,
    limit: Option<u64>,
) -> (Option<ChainBreak>, Option<u64>) {
    let mut first: Option<ChainBreak> = None;
    let mut last_valid = None;
    let mut note = |b: ChainBreak| {
        if first.as_ref().is_none_or(|f| b.seq < f.seq) {
            first = Some(b);
        }
    };
    let anchors = checkpoints
        .iter()
        .map(|cp| (cp.seq, cp.hash, Some(cp)))
        .chain(options.expected_head.map(|h| (h.seq, h.hash, None)))
        // Past a chain break the scan stopped: anchors there cannot be compared.
        .filter(|(seq, _, _)| limit.is_none_or(|l| *seq < l));
    for (seq, hash, cp) in anchors {
        let what = if cp.is_some() {
            "checkpoint"
        } else {
            "expected head"
        };
        if let Some(cp) = cp.filter(|cp| !key.verify_checkpoint(cp)) {
            note(ChainBreak {
                seq,
                kind: BreakKind::BadSignature,
                detail: format!(
                    "checkpoint {seq} (key {}) has an invalid signature",
                    cp.key_id
                ),
            });
        } else if seq > scan.head.seq {
            note(ChainBreak {
                seq: scan.head.seq + 1,
                kind: BreakKind::Truncated,
                detail: format!("{what} at {seq} but the log ends at {}", scan.head.seq),
            });
        } else if matches!(scan.watch.get(&seq), Some(Some(h)) if *h != hash) {
            note(ChainBreak {
                seq,
                kind: BreakKind::CheckpointMismatch,
                detail: format!("{what} at {seq} does not match the stored hash"),
            });
        } else if cp.is_some() && matches!(scan.watch.get(&seq), Some(Some(_))) {
            last_valid = last_valid.max(Some(seq));
        }
    }
    (first, last_valid)
}
