//! `AuditLog`: the handle the gateway holds. Appends go through a bounded queue to one writer
//! thread that group-commits them.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Sender, channel};
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::chain::{EncodedEvent, Head};
use crate::config::{AuditConfig, DurabilityMode, WhenFull};
use crate::error::AuditError;
use crate::event::AuditEvent;
use crate::retention::PurgeReport;
use crate::signing::{SigningKey, VerifyingKey};
use crate::store::open_writer_store;
use crate::verify::{VerifyOptions, VerifyReport};
use crate::writer::{Command, Counters, Job, Receipt, Writer};

/// What an append returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// `sync` mode: the event is committed.
    Committed(Receipt),
    /// `async` mode: the event is queued; `pending` events (this one included, at most the
    /// queue capacity) are not yet committed.
    Queued {
        /// Events queued or being written.
        pending: u64,
    },
}

/// Counters for metrics and health checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditStats {
    /// Events accepted but not yet committed: the loss window of `async` mode.
    pub pending: u64,
    /// The queue capacity (upper bound of `pending`).
    pub capacity: u64,
    /// Events committed since open.
    pub committed: u64,
    /// Appends refused because the queue was full.
    pub refused: u64,
    /// Failed store operations (each retried).
    pub store_failures: u64,
    /// Checkpoints signed since open.
    pub checkpoints: u64,
    /// The committed head.
    pub head_seq: u64,
}

/// The audit log.
#[derive(Debug)]
pub struct AuditLog {
    tx: Sender<Command>,
    permits: Arc<Semaphore>,
    capacity: usize,
    mode: DurabilityMode,
    when_full: WhenFull,
    counters: Arc<Counters>,
    config: AuditConfig,
    public: VerifyingKey,
    /// The checkpoint key, shared with the writer (detached signatures of reports).
    key: Arc<SigningKey>,
}

impl AuditLog {
    /// Open the log: load or create the signing key, connect the store, start the writer.
    /// Fails if the store cannot be reached now.
    pub async fn open(config: AuditConfig) -> Result<Self, AuditError> {
        let path = config.signing_key.clone();
        let key =
            run_blocking(move || SigningKey::load_or_create(&path).map_err(Into::into)).await?;
        if let Some(public) = &config.public_key {
            key.verifying_key().write_pem(public)?;
        }
        Self::open_with_key(config, key).await
    }

    /// Open with an already loaded key.
    pub async fn open_with_key(config: AuditConfig, key: SigningKey) -> Result<Self, AuditError> {
        let store_config = config.store.clone();
        let mode = config.durability.mode;
        let store = run_blocking(move || {
            let mut store = open_writer_store(&store_config, mode)?;
            let head = store.head()?;
            Ok((store, head))
        })
        .await;
        let (store, head) = store?;
        let counters = Arc::new(Counters::default());
        counters.head_seq.store(head.seq, Ordering::Relaxed);
        let public = *key.verifying_key();
        let key = Arc::new(key);
        let capacity = config.durability.queue_capacity.max(1);
        let writer = Writer {
            store: Some(store),
            store_config: config.store.clone(),
            mode,
            key: key.clone(),
            head,
            checkpoint: config.checkpoint.clone(),
            retention: config.retention.clone(),
            max_batch: config.durability.max_batch.max(1),
            counters: counters.clone(),
            since_cp: 0,
            last_cp: Instant::now(),
        };
        let (tx, rx) = channel();
        std::thread::Builder::new()
            .name("sallyport-audit-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(crate::store::StoreError::from)?;
        Ok(Self {
            tx,
            permits: Arc::new(Semaphore::new(capacity)),
            capacity,
            mode: config.durability.mode,
            when_full: config.durability.when_full,
            counters,
            config,
            public,
            key,
        })
    }

    /// Append an event. In `sync` mode this resolves once the event is committed; in `async`
    /// mode once it is queued. A full queue waits (`block`) or fails with
    /// [`AuditError::QueueFull`] (`refuse`).
    pub async fn append(&self, event: AuditEvent) -> Result<Ack, AuditError> {
        let event = EncodedEvent::new(&event)?;
        let permit = match self.when_full {
            WhenFull::Block => self
                .permits
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| AuditError::Closed)?,
            WhenFull::Refuse => self.try_permit()?,
        };
        match self.mode {
            DurabilityMode::Async => self.enqueue(event, permit, None),
            DurabilityMode::Sync => {
                let (ack, done) = oneshot::channel();
                self.enqueue(event, permit, Some(ack))?;
                Ok(Ack::Committed(done.await.map_err(|_| AuditError::Closed)??))
            }
        }
    }

    /// Queue an event without waiting, whatever the mode (for callers that must not block,
    /// such as a `DecisionSink`). Fails with [`AuditError::QueueFull`] when full.
    pub fn try_append(&self, event: AuditEvent) -> Result<Ack, AuditError> {
        let event = EncodedEvent::new(&event)?;
        let permit = self.try_permit()?;
        self.enqueue(event, permit, None)
    }

    fn try_permit(&self) -> Result<OwnedSemaphorePermit, AuditError> {
        self.permits.clone().try_acquire_owned().map_err(|_| {
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
            AuditError::QueueFull {
                capacity: self.capacity,
            }
        })
    }

    fn enqueue(
        &self,
        event: EncodedEvent,
        permit: OwnedSemaphorePermit,
        ack: Option<oneshot::Sender<Result<Receipt, AuditError>>>,
    ) -> Result<Ack, AuditError> {
        self.tx
            .send(Command::Append(Job { event, ack, permit }))
            .map_err(|_| AuditError::Closed)?;
        Ok(Ack::Queued {
            pending: self.pending(),
        })
    }

    /// Events accepted but not yet committed.
    pub fn pending(&self) -> u64 {
        (self.capacity - self.permits.available_permits()) as u64
    }

    /// Counters.
    pub fn stats(&self) -> AuditStats {
        let c = &self.counters;
        AuditStats {
            pending: self.pending(),
            capacity: self.capacity as u64,
            committed: c.committed.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            store_failures: c.store_failures.load(Ordering::Relaxed),
            checkpoints: c.checkpoints.load(Ordering::Relaxed),
            head_seq: c.head_seq.load(Ordering::Relaxed),
        }
    }

    /// Commit everything queued before this call and sign a checkpoint at the head.
    pub async fn flush(&self) -> Result<Head, AuditError> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send(Command::Flush(reply))
            .map_err(|_| AuditError::Closed)?;
        done.await.map_err(|_| AuditError::Closed)?
    }

    /// Delete events past their class's retention (as of now) and chain a `retention_purge`
    /// record of the deletion.
    pub async fn purge(&self) -> Result<PurgeReport, AuditError> {
        self.purge_at(crate::event::now_unix_ms()).await
    }

    /// [`AuditLog::purge`] as of `now_unix_ms`.
    pub async fn purge_at(&self, now_unix_ms: u64) -> Result<PurgeReport, AuditError> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send(Command::Purge(now_unix_ms, reply))
            .map_err(|_| AuditError::Closed)?;
        done.await.map_err(|_| AuditError::Closed)?
    }

    /// Verify the stored chain over a fresh connection.
    pub async fn verify(&self) -> Result<VerifyReport, AuditError> {
        crate::verify_store(&self.config.store, &self.public, VerifyOptions::default()).await
    }

    /// A detached signature with the checkpoint key (see [`SigningKey::sign_detached`]).
    pub fn sign_detached(&self, context: &str, message: &[u8]) -> Vec<u8> {
        self.key.sign_detached(context, message)
    }

    /// The public checkpoint key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }

    /// The configuration this log was opened with.
    pub fn config(&self) -> &AuditConfig {
        &self.config
    }

    /// Commit everything, sign a final checkpoint and stop the writer.
    pub async fn close(self) -> Result<Head, AuditError> {
        self.flush().await
    }
}

/// Run blocking store work on its own thread (PostgreSQL stores drive a private runtime,
/// which must not run inside the caller's).
pub(crate) async fn run_blocking<T, F>(f: F) -> Result<T, AuditError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, AuditError> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("sallyport-audit-io".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(crate::store::StoreError::from)?;
    rx.await.map_err(|_| AuditError::Closed)?
}
