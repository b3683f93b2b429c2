//! Daily tenant quotas: a counter per tenant that resets at midnight UTC.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

const DAY: Duration = Duration::from_secs(86_400);

/// The rule name of quota refusals.
pub(crate) const QUOTA_RULE: &str = "quota:tenant_daily";

/// The UTC day number (days since the Unix epoch) of `unix_time`.
pub(crate) fn utc_day(unix_time: Duration) -> u64 {
    unix_time.as_secs() / DAY.as_secs()
}

/// Time from `unix_time` to the next midnight UTC.
pub(crate) fn until_next_day(unix_time: Duration) -> Duration {
    let next = Duration::from_secs((utc_day(unix_time) + 1) * DAY.as_secs());
    next.saturating_sub(unix_time)
}

/// In-process quota counters (one gateway process; the Redis limiter counts in Redis).
#[derive(Debug, Default)]
pub(crate) struct LocalQuotaCounter {
    /// Tenant → (UTC day, calls counted that day).
    used: Mutex<HashMap<String, (u64, u64)>>,
}

impl LocalQuotaCounter {
    /// Count one call for `tenant` on `day` if that keeps it within `limit`.
    pub(crate) fn try_take(&self, tenant: &str, day: u64, limit: u64) -> bool {
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = match used.get_mut(tenant) {
            Some(entry) => entry,
            None => used.entry(tenant.to_owned()).or_insert((day, 0)),
        };
        if entry.0 != day {
            *entry = (day, 0);
        }
        if entry.1 >= limit {
            return false;
        }
        entry.1 += 1;
        true
    }

    /// Forget tenants whose count is from before `day`.
    pub(crate) fn retain_day(&self, day: u64) {
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        used.retain(|_, (counted_day, _)| *counted_day >= day);
    }
}

#[cfg(test)]
mod tests {
    use super::{Duration, until_next_day, utc_day};

    #[test]
    fn day_boundaries_are_utc_midnight() {
        // 2026-01-01T00:00:00Z
        let midnight = Duration::from_secs(1_767_225_600);
        assert_eq!(utc_day(midnight), 20_454);
        assert_eq!(utc_day(midnight - Duration::from_nanos(1)), 20_453);
        assert_eq!(until_next_day(midnight), Duration::from_secs(86_400));
        assert_eq!(
            until_next_day(midnight - Duration::from_secs(5)),
            Duration::from_secs(5)
        );
    }
}
