//! Sallyport traffic protection: the decision machinery for rate limits, daily tenant
//! quotas, concurrency limits, timeouts and circuit breakers. Pure decisions over plain
//! values — no HTTP, no transports; the gateway asks and acts on the answer.
//!
//! # The model
//!
//! - **Rate limits** ([`RateLimitConfig`]) are budgets over one or two windows
//!   (`requests_per_minute`, `requests_per_hour`, `burst_size`), each enforced as GCRA: a
//!   token bucket that holds `burst_size` calls and refills continuously at the window's rate.
//!   A call to tool *t* by principal *p* draws on: *p*'s own budget (`per_principal`, or
//!   `service_accounts` for service principals), every `per_tool` pattern matching *t* (shared
//!   per tool, or per principal and tool), the `global` budget, and *p*'s tenant's daily
//!   quota. It passes only if all allow it; a refusal ([`LimitDecision::Refuse`]) names the
//!   rule (`per_tool:execute_command:per_minute`), when to retry and whose budget it was —
//!   never anyone's counts.
//! - [`LocalLimiter`] counts in-process (governor buckets, no I/O).
//!   [`RedisLimiter`] counts in Redis with one atomic Lua script per check, so several
//!   gateway processes share one budget; it can pre-claim a small batch of calls and serve
//!   them locally (`local_allowance`), and when Redis cannot answer it fails closed (or open,
//!   by config) and reports [`RedisLimiter::is_healthy`] as false until Redis answers again.
//! - **Concurrency limits** ([`ConcurrencyLimits`]) cap calls in flight per upstream and per
//!   tool; a full limit refuses (or waits up to `max_wait_ms`).
//! - **Timeouts** ([`Timeouts`]): connect, per request with per-upstream and per-tool
//!   overrides ([`Timeouts::timeout_for`]), idle stream, maximum stream life.
//! - **Circuit breakers** ([`CircuitBreakers`]) per upstream and per tool: closed → open after
//!   `failure_threshold` consecutive failures → half-open after `recovery_timeout` (one probe
//!   at a time) → closed on success, open again on failure. Only transport errors, timeouts
//!   and HTTP 5xx are failures ([`CallFailure`]); a tool result with `isError` is an answer.
//!
//! Every time-dependent part reads a [`Clock`]; tests drive a [`ManualClock`].
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use sallyport_limits::{
//!     Clock, LimitDecision, LimitScope, LocalLimiter, ManualClock, RateLimitConfig, Subject,
//!     SubjectKind,
//! };
//!
//! let config: RateLimitConfig = serde_json::from_str(r#"{
//!     "per_principal": { "requests_per_minute": 60, "burst_size": 10 },
//!     "per_tool": { "execute_command": { "requests_per_minute": 5, "burst_size": 2 } }
//! }"#).unwrap();
//! let time = ManualClock::starting_at(Duration::from_secs(1_800_000_000));
//! let limiter = LocalLimiter::new(&config, Clock::manual(&time)).unwrap();
//! let call = Subject {
//!     principal_id: "alice",
//!     kind: SubjectKind::User,
//!     tenant: None,
//!     tool: Some("execute_command"),
//! };
//! assert!(limiter.check(&call).is_allowed());
//! assert!(limiter.check(&call).is_allowed());
//! let LimitDecision::Refuse { rule, retry_after, scope } = limiter.check(&call) else {
//!     panic!("the third call in a burst of two is refused");
//! };
//! assert_eq!(rule, "per_tool:execute_command:per_minute");
//! assert_eq!((retry_after, scope), (Duration::from_secs(12), LimitScope::Tool));
//! ```
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod breaker;
mod bucket_key;
mod clock;
mod concurrency;
pub mod config;
mod decision;
mod distributed;
mod local;
mod pattern;
mod quota;
mod rule;
mod subject;
mod timeout;

pub use breaker::{
    BreakerPass, BreakerProfile, BreakerRefusal, BreakerScope, BreakerState, CallFailure,
    CallOutcome, CircuitBreakers, DEFAULT_PROFILE,
};
pub use clock::{Clock, ManualClock};
pub use concurrency::{ConcurrencyLimits, ConcurrencyPermit, ConcurrencyRefusal, ConcurrencyScope};
pub use config::{
    CircuitBreakerConfig, ConcurrencyConfig, ConfigError, LimitsConfig, RateLimitConfig,
    TimeoutConfig,
};
pub use decision::{LimitDecision, LimitScope};
pub use distributed::{LimitError, REDIS_UNAVAILABLE_RULE, RedisLimiter};
pub use local::LocalLimiter;
pub use subject::{Subject, SubjectKind};
pub use timeout::Timeouts;

/// A rate limiter of either kind, chosen by config: Redis-backed when `redis` is set.
#[derive(Debug)]
pub enum RateLimiter {
    /// Counters in this process.
    Local(LocalLimiter),
    /// Counters in Redis, shared by every process.
    Redis(RedisLimiter),
}

impl RateLimiter {
    /// Build the limiter `config` asks for. With `redis`, must be called inside a Tokio
    /// runtime.
    pub fn new(config: &RateLimitConfig, clock: Clock) -> Result<Self, Vec<ConfigError>> {
        match config.redis {
            Some(_) => RedisLimiter::new(config, clock).map(Self::Redis),
            None => LocalLimiter::new(config, clock).map(Self::Local),
        }
    }

    /// Take one call for `subject`, or say which limit refuses (see
    /// [`LocalLimiter::check`] and [`RedisLimiter::check`]).
    pub async fn check(&self, subject: &Subject<'_>) -> LimitDecision {
        match self {
            Self::Local(limiter) => limiter.check(subject),
            Self::Redis(limiter) => limiter.check(subject).await,
        }
    }

    /// Whether the counter store answers (always true for the local limiter).
    pub fn is_healthy(&self) -> bool {
        match self {
            Self::Local(_) => true,
            Self::Redis(limiter) => limiter.is_healthy(),
        }
    }
}
