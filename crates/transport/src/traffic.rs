//! Traffic protection on the request path: rate limits and tenant quotas, circuit breakers,
//! concurrency limits and per-request timeouts, asked before a request is sent upstream and
//! told how it ended. The decisions themselves live in `sallyport-limits`; this module turns
//! them into denials (one deny code each, the rule in the detail) and keeps the state that a
//! hot reload may carry over.

mod answer;

use std::time::Duration;

use sallyport_config::MessageLimits;
use sallyport_limits::{
    BreakerPass, CallOutcome, CircuitBreakers, Clock, ConcurrencyLimits, ConcurrencyPermit,
    LimitDecision, RateLimitConfig, RateLimiter, Subject, Timeouts,
};
use sallyport_pipeline::{Denial, Principal};

pub(crate) use answer::timeout_denial;

/// The limits of one configuration generation.
#[derive(Debug)]
pub struct Traffic {
    /// The configuration it was built from, to tell whether a reload changes it.
    source: MessageLimits,
    /// Absent when no rate limit or quota is configured.
    limiter: Option<RateLimiter>,
    concurrency: ConcurrencyLimits,
    timeouts: Option<Timeouts>,
    breakers: CircuitBreakers,
}

/// Why the traffic sections cannot be built (config validation normally catches it first).
#[derive(Debug, thiserror::Error)]
#[error("limits: {0}")]
pub struct TrafficError(String);

/// A call let through: holds its concurrency slots until dropped, and records its outcome
/// on the breakers with [`Admitted::finish`].
#[derive(Debug)]
pub struct Admitted {
    _permit: ConcurrencyPermit,
    breaker: BreakerPass,
}

impl Admitted {
    /// Records how the call ended; the concurrency slots are freed with `self`.
    pub fn finish(self, outcome: CallOutcome) {
        self.breaker.record(outcome);
    }
}

/// A call's admission until its outcome is known. The outcome must be recorded before the
/// answer is sent: the HTTP listener may drop the request's future as soon as the answer
/// is on its way.
#[derive(Debug)]
pub(crate) struct PendingOutcome(std::sync::Mutex<Option<Admitted>>);

impl PendingOutcome {
    pub(crate) fn new(admitted: Admitted) -> Self {
        Self(std::sync::Mutex::new(Some(admitted)))
    }

    /// Records `outcome` (only the first outcome counts).
    pub(crate) fn finish(&self, outcome: CallOutcome) {
        if let Some(admitted) = crate::lock(&self.0).take() {
            admitted.finish(outcome);
        }
    }
}

/// A reply stream that records its call's outcome when it is dropped: a failure the
/// stream saw, an answer, or nothing when the client went away first.
pub(crate) struct TrackedStream<'a> {
    pub(crate) stream: crate::upstream::ReplyStream,
    pub(crate) pending: &'a PendingOutcome,
}

impl Drop for TrackedStream<'_> {
    fn drop(&mut self) {
        match self.stream.failure() {
            Some(failure) => self.pending.finish(CallOutcome::Failed(failure)),
            None if self.stream.answered() => self.pending.finish(CallOutcome::Answered),
            None => {}
        }
    }
}

impl Traffic {
    /// Builds the traffic limits of `limits`. With `limits.redis` it must run inside a Tokio
    /// runtime (the Redis connection is made lazily, on first use).
    pub fn build(limits: &MessageLimits) -> Result<Self, TrafficError> {
        let join = |section: &str, errors: Vec<sallyport_limits::ConfigError>| {
            let text: Vec<String> = errors
                .iter()
                .map(|e| format!("{section}.{}: {}", e.path, e.message))
                .collect();
            TrafficError(text.join("; "))
        };
        let rules = RateLimitConfig {
            redis: limits.redis.clone(),
            ..limits.rate_limits.clone()
        };
        let limiter = if rules == RateLimitConfig::default() {
            None
        } else {
            Some(RateLimiter::new(&rules, Clock::system()).map_err(|e| join("rate_limits", e))?)
        };
        let timeouts = limits
            .timeouts
            .as_ref()
            .map(Timeouts::new)
            .transpose()
            .map_err(|e| join("timeouts", e))?;
        Ok(Self {
            source: limits.clone(),
            limiter,
            concurrency: ConcurrencyLimits::new(&limits.concurrency)
                .map_err(|e| join("concurrency", e))?,
            timeouts,
            breakers: CircuitBreakers::new(&limits.circuit_breakers, Clock::system())
                .map_err(|e| join("circuit_breakers", e))?,
        })
    }

    /// Whether `other` was built from the same traffic configuration (message-size limits
    /// aside), so that a reload may keep this one and its counters, breakers and slots.
    pub fn same_config(&self, other: &Self) -> bool {
        let (a, b) = (&self.source, &other.source);
        a.rate_limits == b.rate_limits
            && a.redis == b.redis
            && a.concurrency == b.concurrency
            && a.timeouts == b.timeouts
            && a.circuit_breakers == b.circuit_breakers
    }

    /// Lets a request by `principal` to `server` through, or says which limit refuses.
    /// `tool` is set for `tools/call` only. Order: rate limits and quota (the caller's own
    /// budget), then breakers (the upstream's health), then concurrency slots.
    pub async fn admit(
        &self,
        principal: &Principal,
        server: &str,
        tool: Option<&str>,
    ) -> Result<Admitted, Denial> {
        if let Some(limiter) = &self.limiter {
            let subject = Subject::from_principal(principal, tool);
            if let LimitDecision::Refuse {
                rule,
                retry_after,
                scope,
            } = limiter.check(&subject).await
            {
                return Err(answer::rate_denial(&rule, retry_after, scope));
            }
        }
        let breaker = self
            .breakers
            .admit(server, tool)
            .map_err(|refusal| answer::breaker_denial(server, tool, &refusal))?;
        let permit = self
            .concurrency
            .acquire(server, tool)
            .await
            .map_err(|refusal| answer::concurrency_denial(&refusal))?;
        Ok(Admitted {
            _permit: permit,
            breaker,
        })
    }

    /// The request timeout of a call to `tool` on `server`, when `limits.timeouts` is set
    /// (otherwise the server's own `request_timeout_secs` applies, inside the link).
    pub fn timeout_for(&self, server: &str, tool: Option<&str>) -> Option<Duration> {
        self.timeouts.as_ref().map(|t| t.timeout_for(server, tool))
    }

    /// Idle and lifetime limits of long-lived downstream SSE streams, when `limits.timeouts`
    /// is set (otherwise streams stay open while the client keeps them).
    pub fn stream_limits(&self) -> StreamLimits {
        self.timeouts
            .as_ref()
            .map(|t| StreamLimits {
                idle: Some(t.idle_stream_timeout()),
                life: Some(t.max_stream_life()),
            })
            .unwrap_or_default()
    }

    /// The circuit breakers, for the health checker.
    pub fn breakers(&self) -> &CircuitBreakers {
        &self.breakers
    }

    /// The shared counter store's health: `None` without Redis, else whether it answers.
    pub fn backend(&self) -> Option<BackendHealth> {
        match self.limiter.as_ref()? {
            RateLimiter::Local(_) => None,
            RateLimiter::Redis(redis) => Some(BackendHealth {
                healthy: redis.is_healthy(),
                fail_open: self.source.redis.as_ref().is_some_and(|r| {
                    r.on_redis_failure == sallyport_limits::config::RedisFailureMode::Open
                }),
            }),
        }
    }

    /// Asks Redis for a `PING` now (readiness); `None` without Redis.
    pub async fn probe_backend(&self) -> Option<bool> {
        match self.limiter.as_ref()? {
            RateLimiter::Local(_) => None,
            RateLimiter::Redis(redis) => Some(redis.probe().await),
        }
    }
}

/// What `/readyz` says about the shared counter store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendHealth {
    /// Redis answered the last time it was asked.
    pub healthy: bool,
    /// Checks let calls through while Redis is down (`on_redis_failure: open`).
    pub fail_open: bool,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;
    use sallyport_limits::CallFailure;

    fn limits(yaml: &str) -> MessageLimits {
        let config = sallyport_config::load_str(
            &format!("servers: [{{ name: a, http: {{ url: \"http://127.0.0.1:1/mcp\" }} }}]\nlimits:\n{yaml}"),
            "t.yaml",
        )
        .unwrap();
        config.limits
    }

    #[tokio::test]
    async fn failures_open_the_breaker_and_is_error_answers_do_not() {
        let traffic = Traffic::build(&limits(
            "  circuit_breakers:\n    profiles: { fast: { failure_threshold: 2, recovery_timeout_secs: 60 } }\n    default_profile: fast\n",
        ))
        .unwrap();
        let who = Principal::local();
        for _ in 0..5 {
            let pass = traffic.admit(&who, "a", Some("echo")).await.unwrap();
            pass.finish(CallOutcome::Answered);
        }
        for _ in 0..2 {
            let pass = traffic.admit(&who, "a", Some("echo")).await.unwrap();
            pass.finish(CallOutcome::Failed(CallFailure::Transport));
        }
        let denial = traffic.admit(&who, "a", Some("echo")).await.unwrap_err();
        assert_eq!(denial.code, sallyport_pipeline::DenyCode::CircuitOpen);
    }

    #[tokio::test]
    async fn unchanged_traffic_sections_are_the_same_config() {
        let a = Traffic::build(&limits("  max_depth: 10\n")).unwrap();
        let b = Traffic::build(&limits("  max_depth: 20\n")).unwrap();
        let c = Traffic::build(&limits("  concurrency: { per_upstream: { a: 1 } }\n")).unwrap();
        assert!(a.same_config(&b));
        assert!(!a.same_config(&c));
    }
}

/// How long a long-lived downstream SSE stream may stay quiet, and may live at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamLimits {
    /// A stream that carries no message for this long is closed (keep-alives don't count).
    pub idle: Option<Duration>,
    /// A stream is closed after this long, however busy.
    pub life: Option<Duration>,
}
