//! What a rate-limit check answers.

use std::time::Duration;

/// The answer of a rate-limit check. A refusal names only the rule that refused and when to
/// retry; it never carries counts, so it says nothing about other principals' usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitDecision {
    /// Every matching limit allows the call.
    Allow,
    /// A limit refuses the call.
    Refuse {
        /// Stable name of the rule, for audit and metrics: `global:per_minute`,
        /// `per_principal:per_hour`, `service_accounts:per_minute`,
        /// `per_tool:execute_command:per_minute`, `quota:tenant_daily`, or
        /// `redis_unavailable` when Redis could not answer and the limiter fails closed.
        rule: String,
        /// When the refusing limit will next allow a call.
        retry_after: Duration,
        /// Whose budget ran out.
        scope: LimitScope,
    },
}

impl LimitDecision {
    /// Whether the call may proceed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow)
    }
}

/// Whose budget a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitScope {
    /// The gateway-wide budget.
    Global,
    /// The caller's own budget (`per_principal` or `service_accounts`).
    Principal,
    /// A tool budget (shared by the tool's callers, or the caller's own per tool).
    Tool,
    /// The tenant's daily quota.
    Tenant,
    /// No budget: the shared counter store could not answer.
    Backend,
}

impl LimitScope {
    /// Stable name, for audit and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::Principal => "principal",
            Self::Tool => "tool",
            Self::Tenant => "tenant",
            Self::Backend => "backend",
        }
    }
}
