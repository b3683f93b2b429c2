//! Retention by class: which events expire, and the chained `retention_purge` record that
//! keeps the chain verifiable across the gaps a purge leaves.

use serde::Serialize;

use crate::chain::{ChainEntry, EncodedEvent, Head};
use crate::config::RetentionConfig;
use crate::error::AuditError;
use crate::event::{
    AuditEvent, PERMANENT_CLASS, PurgeCutoff, PurgeRecord, PurgedRun, RETENTION_PURGE,
};
use crate::store::AuditStore;

/// Events deleted per class in one purge at most; call purge again while `more` is set.
pub const MAX_PURGE_PER_CLASS: usize = 50_000;
const DAY_MS: u64 = 86_400_000;

/// What a purge did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    /// Events deleted.
    pub deleted: u64,
    /// Runs of consecutive seqs deleted.
    pub runs: u64,
    /// Seq of the `retention_purge` event recording it.
    pub purge_seq: Option<u64>,
    /// More expired events remain (a class hit [`MAX_PURGE_PER_CLASS`]).
    pub more: bool,
}

pub(crate) struct PurgePlan {
    pub(crate) ranges: Vec<(u64, u64)>,
    pub(crate) entry: ChainEntry,
    pub(crate) report: PurgeReport,
}

/// Work out what to delete and build the chained record of it (not yet stored).
pub(crate) fn plan_purge(
    store: &mut dyn AuditStore,
    retention: &RetentionConfig,
    now_unix_ms: u64,
    head: Head,
) -> Result<Option<PurgePlan>, AuditError> {
    let mut victims: Vec<ChainEntry> = Vec::new();
    let mut cutoffs = Vec::new();
    let mut more = false;
    for (class, days) in &retention.classes {
        if class == PERMANENT_CLASS {
            continue;
        }
        let before = now_unix_ms.saturating_sub(u64::from(*days) * DAY_MS);
        let found = store.expired(class, before, MAX_PURGE_PER_CLASS)?;
        more |= found.len() == MAX_PURGE_PER_CLASS;
        cutoffs.push(PurgeCutoff {
            class: class.clone(),
            before_unix_ms: before,
        });
        victims.extend(
            found
                .into_iter()
                .filter(|e| e.event_type != RETENTION_PURGE),
        );
    }
    if victims.is_empty() {
        return Ok(None);
    }
    victims.sort_by_key(|e| e.seq);
    let runs = runs_of(&victims);
    let ranges = runs.iter().map(|r| (r.first_seq, r.last_seq)).collect();
    let deleted = victims.len() as u64;
    let mut event = AuditEvent::new(RETENTION_PURGE, "sallyport", RETENTION_PURGE, "success");
    event.time_unix_ms = now_unix_ms;
    event.retention_class = PERMANENT_CLASS.to_owned();
    let report = PurgeReport {
        deleted,
        runs: runs.len() as u64,
        purge_seq: Some(head.seq + 1),
        more,
    };
    event.purge = Some(PurgeRecord {
        runs,
        deleted,
        cutoffs,
    });
    let entry = EncodedEvent::new(&event)?.seal(head.seq + 1, head.hash);
    Ok(Some(PurgePlan {
        ranges,
        entry,
        report,
    }))
}

/// Group sorted entries into runs of consecutive seqs, with the hashes a verifier needs.
fn runs_of(victims: &[ChainEntry]) -> Vec<PurgedRun> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=victims.len() {
        let split = i == victims.len() || victims[i].seq != victims[i - 1].seq + 1;
        if split {
            let run = &victims[start..i];
            let mut hashes = Vec::with_capacity(run.len() * 32);
            for e in run {
                hashes.extend_from_slice(&e.hash);
            }
            if let (Some(first), Some(last)) = (run.first(), run.last()) {
                runs.push(PurgedRun {
                    first_seq: first.seq,
                    last_seq: last.seq,
                    hash_before: hex::encode(first.prev_hash),
                    hash_last: hex::encode(last.hash),
                    hashes_sha256: hex::encode(crate::canonical::sha256(&hashes)),
                });
            }
            start = i;
        }
    }
    runs
}
