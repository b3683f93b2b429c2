//! The time source every limiter, quota and breaker reads: the system clock in production, a
//! [`ManualClock`] that tests move by hand.
//!
//! One type serves both needs of this crate: a monotonic reading for GCRA buckets and breaker
//! timers, and a wall-clock reading (Unix time) for the UTC day of tenant quotas. It also
//! implements governor's `Clock`, so the local limiter's buckets run on it.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use governor::nanos::Nanos;

/// A time source. Cheap to clone; clones share the same source.
#[derive(Debug, Clone)]
pub struct Clock {
    source: ClockSource,
}

#[derive(Debug, Clone)]
enum ClockSource {
    /// Unix time at construction plus the monotonic time elapsed since: never goes back.
    /// Read through `quanta` (the TSC where usable: ~10 ns instead of a `clock_gettime`).
    System {
        clock: quanta::Clock,
        origin: quanta::Instant,
        origin_unix: Duration,
    },
    Manual(ManualClock),
}

impl Clock {
    /// The system clock: monotonic, anchored to the wall clock when created.
    pub fn system() -> Self {
        let origin_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let clock = quanta::Clock::new();
        Self {
            source: ClockSource::System {
                origin: clock.now(),
                clock,
                origin_unix,
            },
        }
    }

    /// A clock that reads `manual` (tests, simulations).
    pub fn manual(manual: &ManualClock) -> Self {
        Self {
            source: ClockSource::Manual(manual.clone()),
        }
    }

    /// Time since the Unix epoch. Never decreases for the system clock.
    pub fn unix_now(&self) -> Duration {
        match &self.source {
            ClockSource::System {
                clock,
                origin,
                origin_unix,
            } => *origin_unix + clock.now().saturating_duration_since(*origin),
            ClockSource::Manual(manual) => manual.now(),
        }
    }

    /// The current reading as whole nanoseconds since the Unix epoch (saturating).
    pub(crate) fn now_nanos(&self) -> u64 {
        u64::try_from(self.unix_now().as_nanos()).unwrap_or(u64::MAX)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl governor::clock::Clock for Clock {
    type Instant = Nanos;

    /// The frozen instant inside [`frozen_at`], else a fresh reading.
    fn now(&self) -> Nanos {
        FROZEN
            .with(Cell::get)
            .unwrap_or_else(|| Nanos::new(self.now_nanos()))
    }
}

thread_local! {
    static FROZEN: Cell<Option<Nanos>> = const { Cell::new(None) };
}

/// Runs `f` with every [`Clock`] read by governor on this thread reading `unix_nanos`: one
/// check reads the clock once, and all its buckets judge the same instant.
pub(crate) fn frozen_at<T>(unix_nanos: u64, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Nanos>);
    impl Drop for Restore {
        fn drop(&mut self) {
            FROZEN.with(|cell| cell.set(self.0));
        }
    }
    let _restore = Restore(FROZEN.with(|cell| cell.replace(Some(Nanos::new(unix_nanos)))));
    f()
}

/// A clock that moves only when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    unix_nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock that reads `unix_time` (time since the Unix epoch) until moved.
    pub fn starting_at(unix_time: Duration) -> Self {
        let nanos = u64::try_from(unix_time.as_nanos()).unwrap_or(u64::MAX);
        Self {
            unix_nanos: Arc::new(AtomicU64::new(nanos)),
        }
    }

    /// Move the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.unix_nanos.fetch_add(nanos, Ordering::SeqCst);
    }

    /// The current reading (time since the Unix epoch).
    pub fn now(&self) -> Duration {
        Duration::from_nanos(self.unix_nanos.load(Ordering::SeqCst))
    }
}
