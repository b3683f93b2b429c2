//! The Redis-backed limiter: the same rules as [`LocalLimiter`](crate::LocalLimiter), with
//! counters in Redis so that every gateway process draws on one budget.

mod allowance;
mod health;

use std::ops::ControlFlow;
use std::time::Duration;

use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use thiserror::Error;

use self::allowance::AllowanceCache;
use self::health::BackendHealth;
use crate::clock::Clock;
use crate::config::{ConfigError, RateLimitConfig, RedisFailureMode};
use crate::decision::{LimitDecision, LimitScope};
use crate::quota::{QUOTA_RULE, until_next_day, utc_day};
use crate::rule::{RateRules, SubjectKeys};
use crate::subject::{Subject, SubjectKind};

/// The rule name of refusals made because Redis could not answer (fail closed).
pub const REDIS_UNAVAILABLE_RULE: &str = "redis_unavailable";

/// How long a fail-closed refusal tells the caller to wait.
const BACKEND_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Why a Redis-backed check could not decide.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LimitError {
    /// Redis answered with an error or the connection failed.
    #[error("redis failed: {reason}")]
    Backend {
        /// What Redis or the connection reported (no URL, no credentials).
        reason: String,
    },
    /// Redis did not answer in time.
    #[error("redis did not answer within {timeout:?}")]
    Timeout {
        /// The configured `timeout_ms`.
        timeout: Duration,
    },
    /// Redis failed moments ago; it is not asked again until a short pause has passed.
    #[error("redis failed recently; not retried yet")]
    CoolingDown,
}

/// Rate limits and quotas with counters in Redis: N gateway processes enforce one combined
/// limit. Each check is one atomic Lua script (GCRA on the Redis clock): a call is charged to
/// every matching budget or to none, and a refusal names the limit with the longest wait.
///
/// With `local_allowance: N` (N ≥ 2) a check claims up to N calls at once and serves the
/// rest from memory for `local_allowance_ttl_ms`; claimed calls count when claimed, so the
/// combined limit still holds (unused ones lapse, which only makes it stricter).
///
/// When Redis cannot answer within `timeout_ms`, [`check`](Self::check) applies
/// `on_redis_failure` and [`is_healthy`](Self::is_healthy) turns false; the connection is
/// re-established in the background and checks use Redis again as soon as it answers.
#[derive(Debug)]
pub struct RedisLimiter {
    rules: RateRules,
    script: Script,
    connection: ConnectionManager,
    key_prefix: String,
    failure_mode: RedisFailureMode,
    timeout: Duration,
    allowance: Option<AllowanceCache>,
    health: BackendHealth,
    clock: Clock,
}

impl RedisLimiter {
    /// Compile `config`, which must have a `redis` section. Does not connect: the first
    /// check (or [`probe`](Self::probe)) does. Must be called inside a Tokio runtime.
    pub fn new(config: &RateLimitConfig, clock: Clock) -> Result<Self, Vec<ConfigError>> {
        let rules = RateRules::compile(config);
        let Some(redis) = &config.redis else {
            let mut errors = rules.err().unwrap_or_default();
            errors.push(ConfigError::new("redis", "required for the Redis limiter"));
            return Err(errors);
        };
        let timeout = Duration::from_millis(redis.timeout_ms.max(1));
        let connection = redis::Client::open(redis.url.0.as_str())
            .and_then(|client| {
                ConnectionManager::new_lazy_with_config(client, manager_config(timeout))
            })
            .map_err(|_| ConfigError::new("redis.url", "not a usable redis:// URL"));
        let (rules, connection) = match (rules, connection) {
            (Ok(rules), Ok(connection)) => (rules, connection),
            (rules, connection) => {
                let mut errors = rules.err().unwrap_or_default();
                errors.extend(connection.err());
                return Err(errors);
            }
        };
        let allowance = (redis.local_allowance >= 2).then(|| {
            AllowanceCache::new(
                redis.local_allowance,
                Duration::from_millis(redis.local_allowance_ttl_ms),
            )
        });
        Ok(Self {
            rules,
            script: Script::new(include_str!("distributed/gcra.lua")),
            connection,
            key_prefix: redis.key_prefix.clone(),
            failure_mode: redis.on_redis_failure,
            timeout,
            allowance,
            health: BackendHealth::default(),
            clock,
        })
    }

    /// Take one call for `subject` from every matching budget, or say which refuses. When
    /// Redis cannot answer, `on_redis_failure` decides: `closed` refuses with rule
    /// [`REDIS_UNAVAILABLE_RULE`] and [`LimitScope::Backend`], `open` allows.
    pub async fn check(&self, subject: &Subject<'_>) -> LimitDecision {
        match self.try_check(subject).await {
            Ok(decision) => decision,
            Err(_) => match self.failure_mode {
                RedisFailureMode::Open => LimitDecision::Allow,
                RedisFailureMode::Closed => LimitDecision::Refuse {
                    rule: REDIS_UNAVAILABLE_RULE.to_owned(),
                    retry_after: BACKEND_RETRY_AFTER,
                    scope: LimitScope::Backend,
                },
            },
        }
    }

    /// Like [`check`](Self::check), but hands a Redis failure to the caller instead of
    /// applying `on_redis_failure`.
    pub async fn try_check(&self, subject: &Subject<'_>) -> Result<LimitDecision, LimitError> {
        // Served from a claimed batch: no keys to build, no round trip.
        let allowance_key = self.allowance.as_ref().map(|_| allowance_key(subject));
        if let (Some(cache), Some(key)) = (&self.allowance, &allowance_key)
            && cache.take(key)
        {
            return Ok(LimitDecision::Allow);
        }
        let plan = self.plan(subject);
        if plan.is_empty() {
            return Ok(LimitDecision::Allow);
        }
        let want = self.allowance.as_ref().map_or(1, AllowanceCache::batch);
        let (granted, refused, retry_us) = self.run_script(&plan, want).await?;
        if granted >= 1 {
            if let (Some(cache), Some(key)) = (&self.allowance, allowance_key) {
                cache.store(key, u32::try_from(granted - 1).unwrap_or(0));
            }
            return Ok(LimitDecision::Allow);
        }
        Ok(plan.refusal(&self.rules, refused, retry_us))
    }

    /// Whether Redis answered the last time it was asked (false until it first answers).
    /// For readiness and metrics.
    pub fn is_healthy(&self) -> bool {
        self.health.is_up()
    }

    /// Ask Redis for a `PING` now, update the health flag and return it.
    pub async fn probe(&self) -> bool {
        let mut connection = self.connection.clone();
        let command = redis::cmd("PING");
        let ping = command.query_async::<String>(&mut connection);
        let result = match tokio::time::timeout(self.timeout, ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(LimitError::Backend {
                reason: error.to_string(),
            }),
            Err(_) => Err(LimitError::Timeout {
                timeout: self.timeout,
            }),
        };
        self.health.record(&result);
        result.is_ok()
    }

    /// The Redis keys and script arguments for `subject`.
    fn plan(&self, subject: &Subject<'_>) -> Plan {
        let mut plan = Plan::default();
        let mut keys = SubjectKeys::new(subject);
        let _ = self.rules.for_each_matching(subject, |index, rule| {
            let key = keys.get(rule.key);
            plan.keys
                .push(format!("{}:rate:{}:{key}", self.key_prefix, rule.name));
            plan.rule_indices.push(index);
            ControlFlow::<()>::Continue(())
        });
        let quota = subject.tenant.and_then(|tenant| {
            let limit = self.rules.quota.as_ref()?.daily_limit(tenant)?;
            Some((tenant, limit))
        });
        if let Some((tenant, limit)) = quota {
            let now = self.clock.unix_now();
            let day = utc_day(now);
            plan.keys.push(format!(
                "{}:quota:{}:{tenant}:{day}",
                self.key_prefix,
                tenant.len()
            ));
            plan.quota = Some((limit, until_next_day(now)));
        }
        plan
    }

    async fn run_script(&self, plan: &Plan, want: u32) -> Result<(i64, i64, i64), LimitError> {
        if self.health.cooling_down() {
            return Err(LimitError::CoolingDown);
        }
        let mut invocation = self.script.prepare_invoke();
        for key in &plan.keys {
            invocation.key(key);
        }
        invocation.arg(want).arg(plan.rule_indices.len());
        for &index in &plan.rule_indices {
            let rule = &self.rules.rules[index];
            let interval_us = u64::try_from(rule.emission_interval.as_micros()).unwrap_or(u64::MAX);
            invocation.arg(interval_us.max(1)).arg(rule.burst.get());
        }
        match plan.quota {
            Some((limit, retry)) => invocation
                .arg(i64::try_from(limit).unwrap_or(i64::MAX))
                .arg(u64::try_from(retry.as_micros()).unwrap_or(u64::MAX)),
            None => invocation.arg(-1).arg(0),
        };
        let mut connection = self.connection.clone();
        let call = invocation.invoke_async::<(i64, i64, i64)>(&mut connection);
        let result = match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(error)) => Err(LimitError::Backend {
                reason: error.to_string(),
            }),
            Err(_) => Err(LimitError::Timeout {
                timeout: self.timeout,
            }),
        };
        self.health.record(&result);
        result
    }
}

/// What one check asks Redis.
#[derive(Debug, Default)]
struct Plan {
    keys: Vec<String>,
    rule_indices: Vec<usize>,
    /// The tenant's daily limit and the time to midnight UTC.
    quota: Option<(u64, Duration)>,
}

impl Plan {
    fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The refusal for the script's 1-based `refused` index.
    fn refusal(&self, rules: &RateRules, refused: i64, retry_us: i64) -> LimitDecision {
        let retry_after = Duration::from_micros(u64::try_from(retry_us).unwrap_or(0));
        let position = usize::try_from(refused - 1).unwrap_or(usize::MAX);
        match self.rule_indices.get(position) {
            Some(&index) => LimitDecision::Refuse {
                rule: rules.rules[index].name.clone(),
                retry_after,
                scope: rules.rules[index].scope,
            },
            None => LimitDecision::Refuse {
                rule: QUOTA_RULE.to_owned(),
                retry_after,
                scope: LimitScope::Tenant,
            },
        }
    }
}

/// Connection settings: fail fast (one attempt, bounded by the check timeout); the manager
/// reconnects on the next use after an I/O error.
fn manager_config(timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_number_of_retries(0)
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
}

/// Everything that decides which budgets a subject draws on, as one unambiguous string.
fn allowance_key(subject: &Subject<'_>) -> String {
    let kind = match subject.kind {
        SubjectKind::User => 'u',
        SubjectKind::Service => 's',
    };
    let id = subject.principal_id;
    let tenant = subject
        .tenant
        .map_or(String::from("-"), |t| format!("{}:{t}", t.len()));
    let tool = subject
        .tool
        .map_or(String::from("-"), |t| format!("{}:{t}", t.len()));
    format!("{kind}{}:{id}{tenant}{tool}", id.len())
}
