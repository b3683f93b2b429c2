//! Time as data: a timestamp passed into every decision, and the clocks that provide it.

use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// From whole seconds since the epoch.
    pub fn from_secs(secs: i64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    /// Parses an RFC 3339 time (`2026-11-05T09:30:00Z`).
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| Self(t.timestamp_millis()))
    }

    /// Whole seconds since the epoch.
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// The UTC calendar view of this instant.
    pub fn civil(self) -> Civil {
        let t = DateTime::<Utc>::from_timestamp_millis(self.0).unwrap_or_default();
        Civil {
            hour: t.hour(),
            minute: t.minute(),
            weekday: WEEKDAYS[t.weekday().num_days_from_monday() as usize],
            date: t.format("%Y-%m-%d").to_string(),
            datetime: t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    }
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A UTC instant broken into the fields policies test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Civil {
    /// Hour, 0–23.
    pub hour: u32,
    /// Minute, 0–59.
    pub minute: u32,
    /// `mon` … `sun`.
    pub weekday: &'static str,
    /// ISO date, `YYYY-MM-DD`.
    pub date: String,
    /// RFC 3339 seconds, `YYYY-MM-DDTHH:MM:SSZ` (Cedar `datetime` syntax).
    pub datetime: String,
}

/// Where "now" comes from. Decisions never read the system time themselves.
pub trait Clock: Send + Sync + Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Timestamp(ms)
    }
}

/// A clock that only moves when told to (tests, `policy test`).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock stopped at `t`.
    pub fn new(t: Timestamp) -> Self {
        Self(AtomicI64::new(t.0))
    }

    /// Moves the clock to `t`.
    pub fn set(&self, t: Timestamp) {
        self.0.store(t.0, Ordering::SeqCst);
    }

    /// Moves the clock forward by `ms` milliseconds.
    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_fields() {
        let t = Timestamp::parse_rfc3339("2026-11-05T09:30:15+00:00").unwrap();
        let c = t.civil();
        assert_eq!((c.hour, c.minute, c.weekday), (9, 30, "thu"));
        assert_eq!(c.date, "2026-11-05");
        assert_eq!(c.datetime, "2026-11-05T09:30:15Z");
        let other_zone = Timestamp::parse_rfc3339("2026-11-05T10:30:15+01:00").unwrap();
        assert_eq!(other_zone, t);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(Timestamp(1000));
        c.advance_ms(500);
        assert_eq!(c.now(), Timestamp(1500));
        assert_eq!(Timestamp(1500).secs(), 1);
        assert_eq!(Timestamp(-1).secs(), -1);
    }
}
