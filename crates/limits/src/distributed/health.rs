//! Whether Redis is answering, for readiness, metrics and to pause after a failure.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::LimitError;

/// After a failure, checks do not ask Redis again for this long (they apply the failure
/// mode at once), so an outage costs neither a timeout per call nor a connect storm.
const COOL_DOWN: Duration = Duration::from_millis(250);

const UNKNOWN: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

/// The health of the Redis connection as seen by the last round trip.
#[derive(Debug)]
pub(crate) struct BackendHealth {
    state: AtomicU8,
    last_failure: Mutex<Option<Instant>>,
}

impl Default for BackendHealth {
    fn default() -> Self {
        Self {
            state: AtomicU8::new(UNKNOWN),
            last_failure: Mutex::new(None),
        }
    }
}

impl BackendHealth {
    pub(crate) fn is_up(&self) -> bool {
        self.state.load(Ordering::Acquire) == UP
    }

    /// Whether Redis failed less than [`COOL_DOWN`] ago.
    pub(crate) fn cooling_down(&self) -> bool {
        if self.state.load(Ordering::Acquire) != DOWN {
            return false;
        }
        let last = *self
            .last_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        last.is_some_and(|at| at.elapsed() < COOL_DOWN)
    }

    /// Record the outcome of a round trip; logs only transitions.
    pub(crate) fn record<T>(&self, result: &Result<T, LimitError>) {
        match result {
            Ok(_) => {
                if self.state.swap(UP, Ordering::AcqRel) == DOWN {
                    tracing::info!("Redis answers again; rate limits use it.");
                }
            }
            Err(error) => {
                *self
                    .last_failure
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
                if self.state.swap(DOWN, Ordering::AcqRel) != DOWN {
                    tracing::warn!(%error, "Redis does not answer; rate limits apply on_redis_failure.");
                }
            }
        }
    }
}
