//! The writer thread: owns the store, assigns seqs, group-commits batches, signs checkpoints,
//! survives store outages by retrying (the bounded queue upstream absorbs them).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, oneshot};

use crate::chain::{ChainEntry, EncodedEvent, Head};
use crate::config::{CheckpointConfig, DurabilityMode, RetentionConfig, StoreConfig};
use crate::error::AuditError;
use crate::retention::{PurgeReport, plan_purge};
use crate::signing::{Checkpoint, SigningKey};
use crate::store::{AuditStore, open_writer_store};

/// What a committed append reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// The event's sequence number.
    pub seq: u64,
    /// The event's chain hash.
    pub hash: crate::canonical::Hash,
}

pub(crate) struct Job {
    pub(crate) event: EncodedEvent,
    pub(crate) ack: Option<oneshot::Sender<Result<Receipt, AuditError>>>,
    pub(crate) permit: OwnedSemaphorePermit,
}

pub(crate) enum Command {
    Append(Job),
    Flush(oneshot::Sender<Result<Head, AuditError>>),
    Purge(u64, oneshot::Sender<Result<PurgeReport, AuditError>>),
}

/// Counters shared with the log handle.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) committed: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) store_failures: AtomicU64,
    pub(crate) checkpoints: AtomicU64,
    pub(crate) head_seq: AtomicU64,
}

pub(crate) struct Writer {
    pub(crate) store: Option<Box<dyn AuditStore>>,
    pub(crate) store_config: StoreConfig,
    pub(crate) mode: DurabilityMode,
    pub(crate) key: Arc<SigningKey>,
    pub(crate) head: Head,
    pub(crate) checkpoint: CheckpointConfig,
    pub(crate) retention: RetentionConfig,
    pub(crate) max_batch: usize,
    pub(crate) counters: Arc<Counters>,
    pub(crate) since_cp: u64,
    pub(crate) last_cp: Instant,
}

const MAX_BACKOFF: Duration = Duration::from_secs(2);

impl Writer {
    pub(crate) fn run(mut self, rx: Receiver<Command>) {
        let mut pending: Option<Command> = None;
        loop {
            let cmd = match pending.take() {
                Some(cmd) => cmd,
                None => match rx.recv_timeout(self.until_checkpoint()) {
                    Ok(cmd) => cmd,
                    Err(RecvTimeoutError::Timeout) => {
                        self.timed_checkpoint();
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                },
            };
            match cmd {
                Command::Append(job) => {
                    let mut jobs = vec![job];
                    while jobs.len() < self.max_batch {
                        match rx.try_recv() {
                            Ok(Command::Append(job)) => jobs.push(job),
                            Ok(other) => {
                                pending = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.commit(jobs);
                }
                Command::Flush(reply) => {
                    let _ = reply.send(self.flush());
                }
                Command::Purge(now, reply) => {
                    let _ = reply.send(self.purge(now));
                }
            }
        }
        let _ = self.flush();
    }

    fn until_checkpoint(&self) -> Duration {
        if self.since_cp == 0 {
            return Duration::from_secs(3600);
        }
        Duration::from_secs(self.checkpoint.every_secs).saturating_sub(self.last_cp.elapsed())
    }

    fn timed_checkpoint(&mut self) {
        if self.since_cp > 0
            && let Err(error) = self.flush()
        {
            tracing::warn!(%error, "Audit checkpoint failed; will retry.");
        }
    }

    fn checkpoint_due(&self, added: u64) -> bool {
        self.since_cp + added >= self.checkpoint.every_events
            || self.last_cp.elapsed() >= Duration::from_secs(self.checkpoint.every_secs)
    }

    fn sign(&self, head: Head) -> Checkpoint {
        self.key
            .checkpoint(head.seq, head.hash, crate::event::now_unix_ms())
    }

    fn after_commit(&mut self, head: Head, added: u64, signed: bool) {
        self.head = head;
        self.counters.head_seq.store(head.seq, Ordering::Relaxed);
        self.counters.committed.fetch_add(added, Ordering::Relaxed);
        if signed {
            self.since_cp = 0;
            self.last_cp = Instant::now();
            self.counters.checkpoints.fetch_add(1, Ordering::Relaxed);
        } else {
            self.since_cp += added;
        }
    }

    /// Commit a batch in one transaction, retrying across store failures until it lands.
    fn commit(&mut self, mut jobs: Vec<Job>) {
        let mut backoff = Duration::from_millis(50);
        loop {
            let entries = self.seal(&jobs);
            let Some(last) = entries.last() else { return };
            let head = Head {
                seq: last.seq,
                hash: last.hash,
            };
            let cp = self
                .checkpoint_due(entries.len() as u64)
                .then(|| self.sign(head));
            match self
                .store_mut()
                .and_then(|s| s.append(&entries, cp.as_ref()).map_err(Into::into))
            {
                Ok(()) => {
                    self.after_commit(head, entries.len() as u64, cp.is_some());
                    ack_all(jobs, &entries);
                    return;
                }
                Err(error) => {
                    self.counters.store_failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%error, pending = jobs.len(), "Audit batch not committed; retrying.");
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    self.store = None;
                    if let Some(done) = self.recover(&mut jobs, &entries) {
                        let added = done.len() as u64;
                        let head = done.last().map_or(self.head, |e| Head {
                            seq: e.seq,
                            hash: e.hash,
                        });
                        self.after_commit(head, added, false);
                        ack_all(jobs, &done);
                        return;
                    }
                }
            }
        }
    }

    /// After a failure: reconnect, reload the head, and find out whether the batch committed
    /// anyway (the commit reply can be lost). Returns the entries if it did.
    fn recover(&mut self, jobs: &mut Vec<Job>, tried: &[ChainEntry]) -> Option<Vec<ChainEntry>> {
        let store = self.store_mut().ok()?;
        let head = store.head().ok()?;
        let first = tried.first()?;
        if store.find_event(&first.event_id).ok()? == Some(first.seq) {
            return Some(tried.to_vec());
        }
        // Events whose id is already stored elsewhere can never be written: fail them.
        let mut kept = Vec::with_capacity(jobs.len());
        for job in jobs.drain(..) {
            match store.find_event(&job.event.event_id) {
                Ok(Some(seq)) => {
                    if let Some(ack) = job.ack {
                        let _ = ack.send(Err(AuditError::DuplicateEventId { seq }));
                    }
                }
                _ => kept.push(job),
            }
        }
        *jobs = kept;
        self.head = head;
        None
    }

    fn seal(&self, jobs: &[Job]) -> Vec<ChainEntry> {
        let mut head = self.head;
        jobs.iter()
            .map(|job| {
                let entry = job.event.clone().seal(head.seq + 1, head.hash);
                head = Head {
                    seq: entry.seq,
                    hash: entry.hash,
                };
                entry
            })
            .collect()
    }

    fn store_mut(&mut self) -> Result<&mut Box<dyn AuditStore>, AuditError> {
        if self.store.is_none() {
            let mut store = open_writer_store(&self.store_config, self.mode)?;
            self.head = store.head()?;
            self.store = Some(store);
        }
        self.store.as_mut().ok_or(AuditError::Closed)
    }

    /// Sign a checkpoint at the head (everything before this command is already committed).
    fn flush(&mut self) -> Result<Head, AuditError> {
        if self.since_cp == 0 {
            return Ok(self.head);
        }
        let cp = self.sign(self.head);
        let result = self
            .store_mut()
            .and_then(|s| s.append(&[], Some(&cp)).map_err(Into::into));
        if let Err(error) = result {
            self.store = None;
            return Err(error);
        }
        self.after_commit(self.head, 0, true);
        Ok(self.head)
    }

    fn purge(&mut self, now_unix_ms: u64) -> Result<PurgeReport, AuditError> {
        let retention = self.retention.clone();
        let head = self.head;
        let store = self.store_mut()?;
        let Some(plan) = plan_purge(store.as_mut(), &retention, now_unix_ms, head)? else {
            return Ok(PurgeReport::default());
        };
        let entry_head = Head {
            seq: plan.entry.seq,
            hash: plan.entry.hash,
        };
        let cp = self.sign(entry_head);
        let result = self.store_mut().and_then(|s| {
            s.purge(&plan.ranges, &plan.entry, Some(&cp))
                .map_err(Into::into)
        });
        if let Err(error) = result {
            self.store = None;
            return Err(error);
        }
        self.after_commit(entry_head, 1, true);
        Ok(plan.report)
    }
}

fn ack_all(jobs: Vec<Job>, entries: &[ChainEntry]) {
    for (job, entry) in jobs.into_iter().zip(entries) {
        if let Some(ack) = job.ack {
            let _ = ack.send(Ok(Receipt {
                seq: entry.seq,
                hash: entry.hash,
            }));
        }
        drop(job.permit);
    }
}
