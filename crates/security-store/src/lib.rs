//! Where the gateway's security state lives beyond its memory.
//!
//! The data path reads blocks, quarantines and approval holds from the in-memory
//! [`SecurityState`] only. This crate keeps that state across restarts in a SQLite file (one
//! gateway), or shares it between the replicas of a fleet through Redis: every change any
//! replica makes is stored there and reaches every other replica at once. See
//! `docs/response.md`, "Shared and lasting state".
#![deny(missing_docs)]

mod config;
mod error;
mod redis_store;
mod sqlite;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use config::{SecurityStateConfig, StateRedisConfig, StateRedisUrl};
pub use error::StoreError;
use sallyport_respond::SecurityState;
pub use sqlite::SqliteStateStore;
use tokio::sync::mpsc;

/// Changes waiting for the store; beyond it a change stays on this replica (with a warning).
const CHANGE_QUEUE: usize = 10_000;

/// What the running store reports.
#[derive(Debug, Clone)]
pub struct StoreStatus {
    backend: &'static str,
    up: Arc<AtomicBool>,
}

impl StoreStatus {
    /// `sqlite` or `redis`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Whether the store answers (always true for SQLite once opened).
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }
}

/// Loads the stored state into `state` and keeps the store in step with it from now on.
/// A SQLite file that cannot be opened fails; an unreachable Redis is retried in the
/// background (the replica starts with its own state and logs an error).
pub async fn start(
    config: &SecurityStateConfig,
    state: &Arc<SecurityState>,
) -> Result<StoreStatus, StoreError> {
    if let Some(redis) = &config.redis {
        let up = Arc::new(AtomicBool::new(false));
        let replica = redis_store::RedisReplica::new(redis, state.clone(), up.clone())?;
        let (tx, rx) = mpsc::channel(CHANGE_QUEUE);
        state.set_sink(tx);
        replica.start(rx).await;
        return Ok(StoreStatus {
            backend: "redis",
            up,
        });
    }
    let path = config.path.clone().unwrap_or_default();
    sqlite::start(&path, state, CHANGE_QUEUE)?;
    Ok(StoreStatus {
        backend: "sqlite",
        up: Arc::new(AtomicBool::new(true)),
    })
}
