//! Checks of the traffic-protection sections (`limits.rate_limits`, `concurrency`,
//! `timeouts`, `circuit_breakers`, `health_check`): each is compiled by
//! `sallyport-limits` exactly as the gateway will, and every error is kept.

use sallyport_limits::{
    CircuitBreakers, Clock, ConcurrencyLimits, LocalLimiter, RateLimitConfig, Timeouts,
};

use super::Issues;
use crate::types::MessageLimits;

/// Records every problem of the traffic sections of `limits`.
pub(super) fn check(limits: &MessageLimits, issues: &mut Issues) {
    if limits.rate_limits.redis.is_some() {
        issues.push(
            "limits.rate_limits.redis",
            "set the shared counter store as limits.redis",
        );
    }
    // The rules compile the same with or without Redis; compile them locally (no I/O).
    let rules = RateLimitConfig {
        redis: None,
        ..limits.rate_limits.clone()
    };
    let mut report = |section: &str, errors: Vec<sallyport_limits::ConfigError>| {
        for e in errors {
            issues.push(format!("limits.{section}.{}", e.path), e.message);
        }
    };
    if let Err(errors) = LocalLimiter::new(&rules, Clock::system()) {
        report("rate_limits", errors);
    }
    if let Err(errors) = ConcurrencyLimits::new(&limits.concurrency) {
        report("concurrency", errors);
    }
    if let Some(timeouts) = &limits.timeouts
        && let Err(errors) = Timeouts::new(timeouts)
    {
        report("timeouts", errors);
    }
    if let Err(errors) = CircuitBreakers::new(&limits.circuit_breakers, Clock::system()) {
        report("circuit_breakers", errors);
    }
    if let Some(redis) = &limits.redis
        && !redis.url.0.starts_with("redis://")
        && !redis.url.0.starts_with("rediss://")
        && !redis.url.0.starts_with("unix://")
    {
        issues.push(
            "limits.redis.url",
            "must be a redis://, rediss:// or unix:// URL",
        );
    }
    if let Some(health) = &limits.health_check {
        issues.positive("limits.health_check.interval_secs", health.interval_secs);
        issues.positive("limits.health_check.timeout_secs", health.timeout_secs);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test code")]
mod tests {
    fn load(limits: &str) -> Result<crate::Config, crate::ConfigErrors> {
        crate::load_str(
            &format!(
                "servers: [{{ name: a, http: {{ url: \"http://127.0.0.1:1/mcp\" }} }}]\nlimits:\n{limits}"
            ),
            "t.yaml",
        )
    }

    #[test]
    fn seed_001_tables_are_valid_limits() {
        let seed = include_str!("../../../limits/examples/seed001.yaml");
        let indented: String = seed.lines().map(|l| format!("  {l}\n")).collect();
        let config = load(&format!("  max_depth: 32\n{indented}")).unwrap();
        assert_eq!(config.limits.max_depth, 32);
        assert_eq!(config.limits.rate_limits.per_tool.len(), 3);
        assert_eq!(config.limits.circuit_breakers.per_tool.len(), 2);
    }

    #[test]
    fn every_traffic_error_is_reported_with_its_path() {
        let errors = load(
            "  rate_limits: { redis: { url: \"redis://x\" }, per_tool: { t: { burst_size: 0, requests_per_minute: 1 } } }\n  \
             circuit_breakers: { per_tool: { t: nope } }\n  concurrency: { per_upstream: { a: 0 } }\n  \
             redis: { url: \"http://x\" }\n",
        )
        .unwrap_err()
        .to_string();
        for path in [
            "limits.rate_limits.redis",
            "limits.rate_limits.per_tool.t",
            "limits.circuit_breakers.per_tool.t",
            "limits.concurrency.per_upstream.a",
            "limits.redis.url",
        ] {
            assert!(errors.contains(path), "{path} missing from {errors}");
        }
    }
}
