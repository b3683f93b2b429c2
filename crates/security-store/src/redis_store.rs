//! A fleet's security state in Redis: a hash holds every entry in force, and a channel
//! carries each change to every replica at once. Each replica keeps its own copy in memory
//! (the data path never waits for Redis), loads the hash when it starts or reconnects, and
//! reloads it every `resync_secs` to repair a message lost on the way.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubStream};
use sallyport_respond::{SecurityState, StateChange, unix_now_ms};
use tokio::sync::mpsc;

use crate::StoreError;
use crate::config::StateRedisConfig;

/// How long one Redis command may take.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Most changes kept for Redis while it cannot be reached (the latest per entry).
const MAX_PENDING: usize = 100_000;
/// First and longest wait between reconnection attempts.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(200), Duration::from_secs(5));

/// A live connection: commands, and the change channel's messages.
struct Link {
    conn: MultiplexedConnection,
    messages: PubSubStream,
}

/// Why serving a link stopped.
enum Stop {
    /// The gateway is shutting down.
    Closed,
    /// Redis failed; reconnect.
    Failed(StoreError),
}

/// The replica's side of the shared state.
pub(crate) struct RedisReplica {
    client: redis::Client,
    hash: String,
    channel: String,
    resync: Duration,
    state: Arc<SecurityState>,
    pending: HashMap<String, StateChange>,
    up: Arc<AtomicBool>,
    epoch_key: String,
    /// The epoch seen at the last connection.
    epoch: Option<String>,
}

impl RedisReplica {
    /// A replica of `state` through the Redis of `config`; `up` says whether Redis answers.
    pub(crate) fn new(
        config: &StateRedisConfig,
        state: Arc<SecurityState>,
        up: Arc<AtomicBool>,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            client: redis::Client::open(config.url.0.as_str())?,
            hash: format!("{}:entries", config.key_prefix),
            channel: format!("{}:changes", config.key_prefix),
            epoch_key: format!("{}:epoch", config.key_prefix),
            epoch: None,
            resync: Duration::from_secs(config.resync_secs.max(1)),
            state,
            pending: HashMap::new(),
            up,
        })
    }

    /// Connects, subscribes, stores what was kept while Redis was away (everything this
    /// replica holds, when Redis lost its data meanwhile), and loads the shared entries
    /// into the local state.
    async fn connect(&mut self) -> Result<Link, StoreError> {
        let mut pubsub = timed(self.client.get_async_pubsub()).await?;
        timed(pubsub.subscribe(&self.channel)).await?;
        let conn = timed(self.client.get_multiplexed_async_connection()).await?;
        let mut link = Link {
            conn,
            messages: pubsub.into_on_message(),
        };
        if self.lost_data(&mut link.conn).await? {
            tracing::warn!(
                "Redis lost the shared security state (restarted without persistence?); this replica writes back every entry it holds."
            );
            for entry in self.state.entries() {
                self.keep(entry);
            }
        }
        self.flush_pending(&mut link.conn).await?;
        self.resync(&mut link.conn).await?;
        Ok(link)
    }

    /// Whether Redis lost its data since this replica last saw it: the epoch key, set once
    /// by the first replica to find it missing, has changed.
    async fn lost_data(&mut self, conn: &mut MultiplexedConnection) -> Result<bool, StoreError> {
        let candidate = hex::encode(rand::random::<[u8; 16]>());
        let current: String = timed(
            redis::pipe()
                .cmd("SET")
                .arg(&self.epoch_key)
                .arg(&candidate)
                .arg("NX")
                .ignore()
                .cmd("GET")
                .arg(&self.epoch_key)
                .query_async::<(String,)>(conn),
        )
        .await?
        .0;
        let lost = self.epoch.as_ref().is_some_and(|seen| *seen != current);
        self.epoch = Some(current);
        Ok(lost)
    }

    /// First connection, awaited at start so that a restarted replica enforces the fleet's
    /// blocks from its first request; then the task that keeps the replica in step.
    pub(crate) async fn start(mut self, rx: mpsc::Receiver<StateChange>) {
        let link = match self.connect().await {
            Ok(link) => Some(link),
            Err(error) => {
                tracing::error!(%error, "Security state not loaded from Redis; retrying. Until then this replica enforces only its own blocks.");
                None
            }
        };
        tokio::spawn(self.run(link, rx));
    }

    async fn run(mut self, mut link: Option<Link>, mut rx: mpsc::Receiver<StateChange>) {
        let mut backoff = BACKOFF.0;
        loop {
            if let Some(l) = link.take() {
                self.up.store(true, Ordering::Relaxed);
                backoff = BACKOFF.0;
                let stop = self.serve(l, &mut rx).await;
                self.up.store(false, Ordering::Relaxed);
                match stop {
                    Stop::Closed => return,
                    Stop::Failed(error) => {
                        tracing::warn!(%error, "Lost Redis for the shared security state; changes are kept until it returns.");
                    }
                }
            }
            let wait = tokio::time::sleep(backoff);
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    () = &mut wait => break,
                    change = rx.recv() => match change {
                        Some(change) => self.keep(change),
                        None => return,
                    },
                }
            }
            match self.connect().await {
                Ok(l) => {
                    tracing::info!("Redis is back for the shared security state; reloaded.");
                    link = Some(l);
                }
                Err(error) => {
                    tracing::debug!(%error, "Redis for the shared security state still unavailable.");
                    backoff = (backoff * 2).min(BACKOFF.1);
                }
            }
        }
    }

    async fn serve(&mut self, mut link: Link, rx: &mut mpsc::Receiver<StateChange>) -> Stop {
        let mut tick = tokio::time::interval(self.resync);
        tick.reset();
        loop {
            tokio::select! {
                change = rx.recv() => {
                    let Some(change) = change else { return Stop::Closed };
                    if let Err(error) = self.write(&mut link.conn, &change).await {
                        self.keep(change);
                        return Stop::Failed(error);
                    }
                }
                message = link.messages.next() => {
                    let Some(message) = message else {
                        return Stop::Failed(StoreError::Redis(redis::RedisError::from((
                            redis::ErrorKind::Io,
                            "subscription ended",
                        ))));
                    };
                    self.receive(message.get_payload_bytes());
                }
                _ = tick.tick() => {
                    // This replica's own changes go first, so the reload never lifts one
                    // that is made but not yet stored.
                    while let Ok(change) = rx.try_recv() {
                        if let Err(error) = self.write(&mut link.conn, &change).await {
                            self.keep(change);
                            return Stop::Failed(error);
                        }
                    }
                    if let Err(error) = self.resync(&mut link.conn).await {
                        return Stop::Failed(error);
                    }
                }
            }
        }
    }

    /// Applies a change published by any replica, this one included (applying its own again
    /// is harmless, and undoes a reload that ran between its change and its write).
    fn receive(&self, payload: &[u8]) {
        match serde_json::from_slice::<StateChange>(payload) {
            Ok(change) => self.state.apply(&change),
            Err(error) => {
                tracing::warn!(%error, "Ignored an unreadable security state change from Redis.");
            }
        }
    }

    /// Sets or deletes the entry and publishes the change, in one transaction.
    async fn write(
        &self,
        conn: &mut MultiplexedConnection,
        change: &StateChange,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(change).map_err(|source| StoreError::Entry {
            key: change.key(),
            source,
        })?;
        let mut pipe = redis::pipe();
        pipe.atomic();
        if change.is_removal() {
            pipe.hdel(&self.hash, change.key()).ignore();
        } else {
            pipe.hset(&self.hash, change.key(), &json).ignore();
        }
        pipe.publish(&self.channel, &json).ignore();
        timed(pipe.query_async::<()>(conn)).await
    }

    /// Makes the local state the shared entries; deletes ended ones from Redis.
    async fn resync(&self, conn: &mut MultiplexedConnection) -> Result<(), StoreError> {
        let stored: HashMap<String, String> =
            timed(redis::cmd("HGETALL").arg(&self.hash).query_async(conn)).await?;
        let now = unix_now_ms();
        let mut entries = Vec::with_capacity(stored.len());
        let mut ended = Vec::new();
        for (key, json) in stored {
            match serde_json::from_str::<StateChange>(&json) {
                Ok(change) if change.expired_at(now) => ended.push(key),
                Ok(change) => entries.push(change),
                Err(error) => {
                    tracing::warn!(%key, %error, "Skipped an unreadable security state entry in Redis.");
                }
            }
        }
        if !ended.is_empty() {
            timed(
                redis::cmd("HDEL")
                    .arg(&self.hash)
                    .arg(&ended)
                    .query_async::<()>(conn),
            )
            .await?;
        }
        self.state.replace_all(&entries);
        Ok(())
    }

    /// Stores what was kept while Redis was away.
    async fn flush_pending(&mut self, conn: &mut MultiplexedConnection) -> Result<(), StoreError> {
        let kept: Vec<StateChange> = self.pending.drain().map(|(_, c)| c).collect();
        for (i, change) in kept.iter().enumerate() {
            if let Err(error) = self.write(conn, change).await {
                for c in &kept[i..] {
                    self.keep(c.clone());
                }
                return Err(error);
            }
        }
        Ok(())
    }

    /// Keeps a change for Redis; the latest per entry wins.
    fn keep(&mut self, change: StateChange) {
        if self.pending.len() >= MAX_PENDING && !self.pending.contains_key(&change.key()) {
            tracing::warn!(
                "Too many security state changes kept while Redis is away; this one stays on this replica only."
            );
            return;
        }
        self.pending.insert(change.key(), change);
    }
}

/// Awaits a Redis command for at most [`TIMEOUT`].
async fn timed<T>(
    f: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(TIMEOUT, f).await {
        Ok(r) => r.map_err(StoreError::from),
        Err(_) => Err(StoreError::Timeout(
            u64::try_from(TIMEOUT.as_millis()).unwrap_or(u64::MAX),
        )),
    }
}
