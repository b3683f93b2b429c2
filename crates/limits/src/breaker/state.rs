//! One circuit breaker's state machine: closed → open → half-open (one probe) → closed or
//! open again.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// While a probe is in flight, other calls are told to retry after this long.
const PROBE_IN_FLIGHT_RETRY: Duration = Duration::from_secs(1);

/// When a breaker opens and how long it stays open (a compiled profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerProfile {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before one probe may try.
    pub recovery_timeout: Duration,
    /// Whether refusals carry `retry_after`.
    pub include_retry_after: bool,
}

/// The externally visible state of a breaker (for metrics and the console).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls pass; failures are counted.
    Closed,
    /// Calls are refused until the recovery timeout has passed.
    Open,
    /// The recovery timeout has passed: one probe call may pass at a time.
    HalfOpen,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Closed {
        consecutive_failures: u32,
    },
    /// Open until this clock reading (nanoseconds).
    Open {
        until: u64,
    },
    HalfOpen {
        probe_in_flight: bool,
    },
}

/// One breaker. Times are clock readings in nanoseconds.
#[derive(Debug)]
pub(crate) struct Breaker {
    pub(crate) profile: BreakerProfile,
    phase: Mutex<Phase>,
}

/// How a call was let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    Normal,
    Probe,
}

impl Breaker {
    pub(crate) fn new(profile: BreakerProfile) -> Self {
        Self {
            profile,
            phase: Mutex::new(Phase::Closed {
                consecutive_failures: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn state(&self, now: u64) -> BreakerState {
        match *self.lock() {
            Phase::Closed { .. } => BreakerState::Closed,
            Phase::Open { until } if now < until => BreakerState::Open,
            Phase::Open { .. } | Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Let a call through, or refuse it with the time until the breaker may let one through.
    pub(crate) fn admit(&self, now: u64) -> Result<Admission, Duration> {
        let mut phase = self.lock();
        match *phase {
            Phase::Closed { .. } => Ok(Admission::Normal),
            Phase::Open { until } if now < until => Err(Duration::from_nanos(until - now)),
            Phase::Open { .. }
            | Phase::HalfOpen {
                probe_in_flight: false,
            } => {
                *phase = Phase::HalfOpen {
                    probe_in_flight: true,
                };
                Ok(Admission::Probe)
            }
            Phase::HalfOpen {
                probe_in_flight: true,
            } => Err(PROBE_IN_FLIGHT_RETRY),
        }
    }

    /// The outcome of a call admitted as `admission`.
    pub(crate) fn record(&self, admission: Admission, success: bool, now: u64) {
        let mut phase = self.lock();
        *phase = match (*phase, admission, success) {
            (Phase::HalfOpen { .. }, Admission::Probe, true) => Phase::Closed {
                consecutive_failures: 0,
            },
            (Phase::HalfOpen { .. }, Admission::Probe, false) => self.open_from(now),
            (Phase::Closed { .. }, _, true) => Phase::Closed {
                consecutive_failures: 0,
            },
            (
                Phase::Closed {
                    consecutive_failures,
                },
                _,
                false,
            ) => {
                let failures = consecutive_failures.saturating_add(1);
                if failures >= self.profile.failure_threshold {
                    self.open_from(now)
                } else {
                    Phase::Closed {
                        consecutive_failures: failures,
                    }
                }
            }
            // Late outcomes of calls let through before the breaker opened change nothing.
            (other @ (Phase::Open { .. } | Phase::HalfOpen { .. }), _, _) => other,
        };
    }

    /// A probe ended without an outcome (cancelled): let another one try.
    pub(crate) fn release_probe(&self) {
        let mut phase = self.lock();
        if let Phase::HalfOpen {
            probe_in_flight: true,
        } = *phase
        {
            *phase = Phase::HalfOpen {
                probe_in_flight: false,
            };
        }
    }

    /// A health check failed: open now (or again).
    pub(crate) fn force_open(&self, now: u64) {
        *self.lock() = self.open_from(now);
    }

    /// A health check passed: an open breaker may probe at once.
    pub(crate) fn allow_probe(&self) {
        let mut phase = self.lock();
        if let Phase::Open { .. } = *phase {
            *phase = Phase::HalfOpen {
                probe_in_flight: false,
            };
        }
    }

    fn open_from(&self, now: u64) -> Phase {
        let recovery = u64::try_from(self.profile.recovery_timeout.as_nanos()).unwrap_or(u64::MAX);
        Phase::Open {
            until: now.saturating_add(recovery),
        }
    }
}
