//! Checking a [`NetworkConfig`] and turning it into the gate's parts, collecting every
//! error with its field path.

use std::fmt;
use std::time::Duration;

use crate::config::{NetworkConfig, PerIpConfig, ReputationConfig, SlowClientConfig};
use crate::ipset::{IpRange, IpSet};
use crate::reputation::ReputationError;

/// The configuration could not be turned into a gate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Fields with invalid values; all of them are listed.
    #[error("invalid network config: {}", FieldErrors(errors))]
    Invalid {
        /// Every problem found.
        errors: Vec<FieldError>,
    },
    /// A reputation file could not be read.
    #[error(transparent)]
    Reputation(#[from] ReputationError),
}

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path below `network`, such as `deny[2]` or `per_ip.burst`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

struct FieldErrors<'a>(&'a [FieldError]);

impl fmt::Display for FieldErrors<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// The rate a [`PerIpConfig`] asks for: `count` per `period`, bursts of `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rate {
    pub(crate) count: u32,
    pub(crate) period: Duration,
    pub(crate) burst: u32,
}

/// Collects errors while checking.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let (path, message) = (path.into(), message.into());
        self.errors.push(FieldError { path, message });
    }

    /// Every problem so far, or `Ok` when there was none.
    pub(crate) fn finish(self) -> Result<(), BuildError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(BuildError::Invalid {
                errors: self.errors,
            })
        }
    }

    /// Parses an address list field into a set.
    pub(crate) fn ip_set(&mut self, field: &str, entries: &[String]) -> IpSet {
        let mut ranges = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            match entry.parse::<IpRange>() {
                Ok(range) => ranges.push(range),
                Err(error) => self.error(format!("{field}[{i}]"), format!("{entry:?}: {error}")),
            }
        }
        IpSet::from_ranges(ranges)
    }

    /// Checks `per_ip` and returns the request rate it sets, if any.
    pub(crate) fn per_ip(&mut self, per_ip: &PerIpConfig) -> Option<Rate> {
        let at = |field: &str| format!("per_ip.{field}");
        for (field, value) in [
            ("requests_per_second", per_ip.requests_per_second),
            ("requests_per_minute", per_ip.requests_per_minute),
            ("burst", per_ip.burst),
            ("max_connections", per_ip.max_connections),
        ] {
            if value == Some(0) {
                self.error(at(field), "must be at least 1");
            }
        }
        if per_ip.max_tracked_ips < 16 {
            self.error(at("max_tracked_ips"), "must be at least 16");
        }
        if !(1..=128).contains(&per_ip.ipv6_prefix_len) {
            self.error(at("ipv6_prefix_len"), "must be between 1 and 128");
        }
        let (count, period) = match (per_ip.requests_per_second, per_ip.requests_per_minute) {
            (Some(_), Some(_)) => {
                let message = "set only one of requests_per_second and requests_per_minute";
                self.error("per_ip", message);
                return None;
            }
            (Some(n), None) => (n, Duration::from_secs(1)),
            (None, Some(n)) => (n, Duration::from_secs(60)),
            (None, None) => return None,
        };
        let burst = per_ip.burst.unwrap_or(count);
        (count > 0 && burst > 0).then_some(Rate {
            count,
            period,
            burst,
        })
    }

    /// Checks the reputation section.
    pub(crate) fn reputation(&mut self, reputation: &ReputationConfig) {
        if reputation.refresh_secs == Some(0) {
            self.error("reputation.refresh_secs", "must be at least 1");
        }
        if reputation.min_prefix_v4 > 32 {
            self.error("reputation.min_prefix_v4", "must be at most 32");
        }
        if reputation.min_prefix_v6 > 128 {
            self.error("reputation.min_prefix_v6", "must be at most 128");
        }
    }

    /// Checks the slow-client timeouts.
    pub(crate) fn slow_client(&mut self, slow: &SlowClientConfig) {
        if slow.header_read_timeout_secs == 0 {
            self.error("slow_client.header_read_timeout_secs", "must be at least 1");
        }
        if slow.body_read_timeout_secs == 0 {
            self.error("slow_client.body_read_timeout_secs", "must be at least 1");
        }
    }

    /// Checks everything that needs no file access.
    pub(crate) fn config(&mut self, config: &NetworkConfig) {
        if let Some(reputation) = &config.reputation {
            self.reputation(reputation);
        }
        self.slow_client(&config.slow_client);
    }
}
