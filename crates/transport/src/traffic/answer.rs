//! What a caller is told when traffic protection refuses: one deny code per kind, the rule
//! that fired in `error.data.limit` and in the audit detail, and when to retry. Never any
//! counts, so a refusal says nothing about other principals' usage.

use std::time::Duration;

use sallyport_limits::{
    BreakerRefusal, BreakerScope, ConcurrencyRefusal, ConcurrencyScope, LimitScope,
    REDIS_UNAVAILABLE_RULE,
};
use sallyport_pipeline::{Denial, DenyCode, Origin};
use serde_json::json;

/// Whole seconds to wait, rounded up, at least 1.
pub(crate) fn retry_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// A rate-limit or quota refusal.
pub(super) fn rate_denial(rule: &str, retry_after: Duration, scope: LimitScope) -> Denial {
    let secs = retry_secs(retry_after);
    let (code, message) = match scope {
        LimitScope::Tenant => (
            DenyCode::QuotaExceeded,
            format!("Daily quota exceeded; retry after {secs} s"),
        ),
        LimitScope::Backend => (
            DenyCode::RateLimited,
            format!("Rate limits cannot be checked right now; retry after {secs} s"),
        ),
        LimitScope::Global | LimitScope::Principal | LimitScope::Tool => (
            DenyCode::RateLimited,
            format!("Rate limit exceeded; retry after {secs} s"),
        ),
    };
    let mut denial = Denial::client(code, message)
        .with_detail(format!("rule {rule} (scope {})", scope.as_str()))
        .with_data(json!({ "retry_after": secs, "limit": rule }));
    if rule == REDIS_UNAVAILABLE_RULE {
        denial.origin = Origin::Gateway;
    }
    denial
}

/// A refusal by an open (or probing) circuit breaker.
pub(super) fn breaker_denial(server: &str, tool: Option<&str>, refusal: &BreakerRefusal) -> Denial {
    let (what, rule) = match (refusal.scope, tool) {
        (BreakerScope::Tool, Some(tool)) => ("tool", format!("circuit_breaker:tool:{tool}")),
        (BreakerScope::Tool | BreakerScope::Upstream, _) => {
            ("server", format!("circuit_breaker:server:{server}"))
        }
    };
    let mut data = json!({ "limit": rule });
    let mut message = format!("The {what} is temporarily unavailable (circuit open)");
    if let Some(wait) = refusal.retry_after {
        let secs = retry_secs(wait);
        data["retry_after"] = json!(secs);
        message.push_str(&format!("; retry after {secs} s"));
    }
    let mut denial = Denial::client(DenyCode::CircuitOpen, message)
        .with_detail(format!("{rule} is open"))
        .with_data(data);
    denial.origin = Origin::Upstream;
    denial
}

/// A refusal by a full concurrency limit.
pub(super) fn concurrency_denial(refusal: &ConcurrencyRefusal) -> Denial {
    let rule = match refusal.scope {
        ConcurrencyScope::Upstream => "concurrency:per_upstream",
        ConcurrencyScope::Tool => "concurrency:per_tool",
    };
    Denial::client(
        DenyCode::ConcurrencyLimited,
        "Too many calls in flight; retry shortly",
    )
    .with_detail(format!("{rule} (limit {})", refusal.limit))
    .with_data(json!({ "retry_after": 1, "limit": rule }))
}

/// The answer when the upstream did not answer within the request timeout.
pub(crate) fn timeout_denial(server: &str, tool: Option<&str>, timeout: Duration) -> Denial {
    let secs = timeout.as_secs();
    let rule = match tool {
        Some(tool) => format!("timeout:{server}:{tool}"),
        None => format!("timeout:{server}"),
    };
    let mut denial = Denial::client(
        DenyCode::UpstreamTimeout,
        format!("The upstream did not answer within {secs} s; the request was cancelled"),
    )
    .with_detail(format!("{rule} after {secs} s"))
    .with_data(json!({ "limit": rule, "timeout_secs": secs }));
    denial.origin = Origin::Upstream;
    denial
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn rate_refusals_name_the_rule_and_round_the_wait_up() {
        let d = rate_denial(
            "per_tool:execute_command:per_minute",
            Duration::from_millis(11_200),
            LimitScope::Tool,
        );
        assert_eq!(d.code, DenyCode::RateLimited);
        let data = d.data.unwrap();
        assert_eq!(data["retry_after"], 12);
        assert_eq!(data["limit"], "per_tool:execute_command:per_minute");
        let q = rate_denial(
            "quota:tenant_daily",
            Duration::from_secs(60),
            LimitScope::Tenant,
        );
        assert_eq!(q.code, DenyCode::QuotaExceeded);
        let r = rate_denial(REDIS_UNAVAILABLE_RULE, Duration::ZERO, LimitScope::Backend);
        assert_eq!(
            (r.origin, r.data.unwrap()["retry_after"].clone()),
            (Origin::Gateway, json!(1))
        );
    }

    #[test]
    fn breaker_refusals_tell_when_to_retry_only_when_the_profile_says() {
        let quiet = BreakerRefusal {
            scope: BreakerScope::Upstream,
            retry_after: None,
        };
        let d = breaker_denial("files", None, &quiet);
        assert_eq!(d.code, DenyCode::CircuitOpen);
        assert!(d.data.as_ref().unwrap().get("retry_after").is_none());
        let told = BreakerRefusal {
            scope: BreakerScope::Tool,
            retry_after: Some(Duration::from_secs(30)),
        };
        let d = breaker_denial("ops", Some("execute_command"), &told);
        let data = d.data.unwrap();
        assert_eq!(
            (data["retry_after"].clone(), data["limit"].clone()),
            (json!(30), json!("circuit_breaker:tool:execute_command"))
        );
    }
}
