//! Rate limits, tenant quotas and the optional shared Redis backend (seed 001's
//! `RATE_LIMIT_CONFIG`).

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Request-rate budgets and daily tenant quotas.
///
/// Every limit that matches a call applies; a call passes only if all of them allow it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RateLimitConfig {
    /// One budget shared by every caller of the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global: Option<WindowLimitConfig>,
    /// A budget for each principal (seed 001's `per_user`). Service principals use
    /// `service_accounts` instead when it is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_principal: Option<WindowLimitConfig>,
    /// Budgets for tool calls, keyed by a tool-name pattern (`*` matches any run of
    /// characters). Each tool that matches gets its own budget; when several patterns
    /// match, all of them apply.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_tool: BTreeMap<String, ToolLimitConfig>,
    /// The budget for each service principal, in place of `per_principal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_accounts: Option<WindowLimitConfig>,
    /// Calls per tenant per UTC day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quotas: Option<QuotaConfig>,
    /// Keep counters in Redis so that several gateway processes enforce one combined limit.
    /// Without it, each process counts on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisConfig>,
}

/// A budget over one or two windows. Each window is enforced as GCRA (a token bucket that
/// refills continuously): `requests_per_minute: 60` refills one call per second.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct WindowLimitConfig {
    /// Sustained calls per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
    /// Sustained calls per hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_hour: Option<u32>,
    /// Calls that may arrive at once, on the shortest window set. Longer windows allow
    /// their whole count at once. Default: the shortest window's count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst_size: Option<u32>,
}

/// A tool budget: a [`WindowLimitConfig`] plus who shares it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ToolLimitConfig {
    /// Sustained calls per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
    /// Sustained calls per hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_hour: Option<u32>,
    /// Calls that may arrive at once, on the shortest window set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst_size: Option<u32>,
    /// Who shares the budget: all callers of the tool (`tool`, the default) or each
    /// principal separately (`principal_and_tool`).
    #[serde(default)]
    pub key: ToolLimitKey,
}

impl ToolLimitConfig {
    /// The windows of this budget.
    pub fn windows(&self) -> WindowLimitConfig {
        WindowLimitConfig {
            requests_per_minute: self.requests_per_minute,
            requests_per_hour: self.requests_per_hour,
            burst_size: self.burst_size,
        }
    }
}

/// Who shares a tool budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ToolLimitKey {
    /// One budget per tool, shared by all callers (protects the upstream).
    #[default]
    Tool,
    /// One budget per principal per tool.
    PrincipalAndTool,
}

/// Calls per tenant per UTC day. Principals without a tenant have no quota.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct QuotaConfig {
    /// The daily quota of every tenant not listed in `tenants`. Unset: no quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_tenant_daily: Option<u64>,
    /// Daily quotas of named tenants, overriding `per_tenant_daily`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tenants: BTreeMap<String, u64>,
}

/// The shared counter store.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]`. May hold a password: take it from the
    /// environment; it is never logged.
    pub url: RedisUrl,
    /// Prefix of every key this crate writes.
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
    /// Calls a process may claim from Redis at once and then serve without a round trip
    /// (0 or 1: every call asks Redis). Claimed calls count against the shared budget when
    /// claimed, so the combined limit still holds; unused ones lapse.
    #[serde(default)]
    pub local_allowance: u32,
    /// How long claimed calls may be served locally before they lapse.
    #[serde(default = "default_local_allowance_ttl_ms")]
    pub local_allowance_ttl_ms: u64,
    /// What a check does when Redis cannot answer: refuse (`closed`, the default) or allow
    /// (`open`).
    #[serde(default)]
    pub on_redis_failure: RedisFailureMode,
    /// How long a check waits for Redis before applying `on_redis_failure`.
    #[serde(default = "default_redis_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_key_prefix() -> String {
    "sallyport:limits".into()
}

fn default_local_allowance_ttl_ms() -> u64 {
    1000
}

fn default_redis_timeout_ms() -> u64 {
    100
}

/// What a Redis-backed check answers when Redis cannot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RedisFailureMode {
    /// Refuse the call (the default).
    #[default]
    Closed,
    /// Allow the call.
    Open,
}

/// A Redis URL. Its `Debug` output hides the value: it may carry a password.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct RedisUrl(pub String);

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RedisUrl(<redacted>)")
    }
}
