//! Configuration types (serde + JSON Schema) and the error their compilation reports.
//!
//! Each section compiles into its runtime type: [`RateLimitConfig`] into
//! [`LocalLimiter`](crate::LocalLimiter) or [`RedisLimiter`](crate::RedisLimiter),
//! [`ConcurrencyConfig`] into [`ConcurrencyLimits`](crate::ConcurrencyLimits),
//! [`TimeoutConfig`] into [`Timeouts`](crate::Timeouts) and [`CircuitBreakerConfig`] into
//! [`CircuitBreakers`](crate::CircuitBreakers). Compilation collects every error.

mod rate;
mod resilience;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use rate::{
    QuotaConfig, RateLimitConfig, RedisConfig, RedisFailureMode, RedisUrl, ToolLimitConfig,
    ToolLimitKey, WindowLimitConfig,
};
pub use resilience::{
    BreakerProfileConfig, CircuitBreakerConfig, ConcurrencyConfig, TimeoutConfig,
};

/// Every traffic-protection section in one place (all optional).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct LimitsConfig {
    /// Rate limits and daily tenant quotas.
    #[serde(default)]
    pub rate_limits: RateLimitConfig,
    /// Calls in flight per upstream and per tool.
    #[serde(default)]
    pub concurrency: ConcurrencyConfig,
    /// Connect, request and stream timeouts.
    #[serde(default)]
    pub timeouts: TimeoutConfig,
    /// Circuit breakers per upstream and per tool.
    #[serde(default)]
    pub circuit_breakers: CircuitBreakerConfig,
}

/// A configuration value that cannot be used, with the path of the field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// Where, as a field path inside the section (`per_tool.execute_command.burst_size`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}
