//! Concurrency limits, timeouts and circuit breakers (seed 001's `CIRCUIT_BREAKER_CONFIG`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How many calls may be in flight at once. Patterns use `*` as a wildcard; when several
/// match, the most specific (most literal characters) sets the limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ConcurrencyConfig {
    /// Upstream-name pattern → calls in flight to each matching upstream.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_upstream: BTreeMap<String, u32>,
    /// Tool-name pattern → calls in flight to each matching tool (counted per upstream).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_tool: BTreeMap<String, u32>,
    /// How long a call may wait for a free slot before it is refused; 0 (the default)
    /// refuses at once.
    #[serde(default)]
    pub max_wait_ms: u64,
}

/// Timeouts towards upstreams and of downstream streams.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct TimeoutConfig {
    /// Establishing a connection to an upstream.
    #[serde(default = "default_connect_timeout_secs")]
    pub connect_timeout_secs: u64,
    /// One request to an upstream, unless overridden below.
    #[serde(default = "default_request_timeout_secs")]
    pub request_timeout_secs: u64,
    /// Upstream-name pattern → request timeout for that upstream.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_server_request_timeout_secs: BTreeMap<String, u64>,
    /// Tool-name pattern → request timeout for `tools/call` of that tool; wins over the
    /// upstream's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_tool_request_timeout_secs: BTreeMap<String, u64>,
    /// An SSE stream with no event for this long is closed.
    #[serde(default = "default_idle_stream_timeout_secs")]
    pub idle_stream_timeout_secs: u64,
    /// An SSE stream is closed after this long, however busy.
    #[serde(default = "default_max_stream_life_secs")]
    pub max_stream_life_secs: u64,
}

impl Default for TimeoutConfig {
    fn default() -> Self {
        Self {
            connect_timeout_secs: default_connect_timeout_secs(),
            request_timeout_secs: default_request_timeout_secs(),
            per_server_request_timeout_secs: BTreeMap::new(),
            per_tool_request_timeout_secs: BTreeMap::new(),
            idle_stream_timeout_secs: default_idle_stream_timeout_secs(),
            max_stream_life_secs: default_max_stream_life_secs(),
        }
    }
}

fn default_connect_timeout_secs() -> u64 {
    10
}

fn default_request_timeout_secs() -> u64 {
    60
}

fn default_idle_stream_timeout_secs() -> u64 {
    300
}

fn default_max_stream_life_secs() -> u64 {
    3600
}

/// Circuit breakers per upstream and per tool.
///
/// Built-in profiles (seed 001): `default` (5 failures, 60 s), `critical_tools` (3, 30 s,
/// refusals carry `retry_after`) and `non_critical_tools` (10, 120 s). A profile defined in
/// `profiles` under one of these names replaces the built-in one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct CircuitBreakerConfig {
    /// Named profiles, added to (or replacing) the built-in ones.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub profiles: BTreeMap<String, BreakerProfileConfig>,
    /// Upstream-name pattern → profile of that upstream's breaker.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_server: BTreeMap<String, String>,
    /// Tool-name pattern → profile of that tool's breaker.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_tool: BTreeMap<String, String>,
    /// The profile of breakers no pattern names. Default: `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_profile: Option<String>,
}

/// When a breaker opens and how long it stays open.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct BreakerProfileConfig {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// How long the breaker stays open before one probe call may try.
    pub recovery_timeout_secs: u64,
    /// Whether refusals tell the caller when to retry.
    #[serde(default)]
    pub include_retry_after: bool,
}
