//! The in-process limiter: GCRA buckets from `governor`, keyed per principal, tool or both,
//! plus in-process tenant quotas.

use std::ops::ControlFlow;
use std::time::Duration;

use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::bucket_key::{BucketKey, KeyHasher, LocalKeys, PassThrough};
use crate::clock::{Clock, frozen_at};
use crate::config::{ConfigError, RateLimitConfig};
use crate::decision::{LimitDecision, LimitScope};
use crate::quota::{LocalQuotaCounter, QUOTA_RULE, until_next_day, utc_day};
use crate::rule::{RateRule, RateRules};
use crate::subject::Subject;

type KeyedBucket =
    RateLimiter<BucketKey, DashMapStateStore<BucketKey, PassThrough>, Clock, NoOpMiddleware<Nanos>>;

/// Rate limits and quotas enforced inside one process.
///
/// Limits are checked narrowest first — the caller's own budgets, then shared tool budgets,
/// then the global budget, then the tenant quota — and the first that refuses answers. A
/// call refused by one limit is not charged to the limits after it, so a caller that keeps
/// hitting its own limit cannot drain the shared ones (it is charged to those before it).
///
/// Call [`retain_recent`](Self::retain_recent) now and then (say every minute) so that
/// buckets of principals that went quiet are dropped.
#[derive(Debug)]
pub struct LocalLimiter {
    rules: RateRules,
    buckets: Vec<KeyedBucket>,
    quota_used: LocalQuotaCounter,
    clock: Clock,
    keys: KeyHasher,
}

impl LocalLimiter {
    /// Compile `config` (its `redis` section is ignored) into a limiter reading `clock`.
    pub fn new(config: &RateLimitConfig, clock: Clock) -> Result<Self, Vec<ConfigError>> {
        let rules = RateRules::compile(config)?;
        let buckets = rules
            .rules
            .iter()
            .map(|rule| {
                RateLimiter::dashmap_with_clock_and_hasher(
                    quota_of(rule),
                    clock.clone(),
                    PassThrough,
                )
            })
            .collect();
        Ok(Self {
            rules,
            buckets,
            quota_used: LocalQuotaCounter::default(),
            clock,
            keys: KeyHasher::random(),
        })
    }

    /// Take one call for `subject` from every matching budget, or say which refuses.
    /// The clock is read once: every bucket judges the same instant.
    pub fn check(&self, subject: &Subject<'_>) -> LimitDecision {
        let now = self.clock.now_nanos();
        let mut keys = LocalKeys::new(subject, &self.keys);
        let refused = frozen_at(now, || {
            self.rules.for_each_matching(subject, |index, rule| {
                match self.buckets[index].check_key(&keys.get(rule.key)) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(not_until) => ControlFlow::Break(LimitDecision::Refuse {
                        rule: rule.name.clone(),
                        retry_after: not_until.wait_time_from(Nanos::new(now)),
                        scope: rule.scope,
                    }),
                }
            })
        });
        match refused {
            ControlFlow::Break(refusal) => refusal,
            ControlFlow::Continue(()) => self.check_quota(subject, Duration::from_nanos(now)),
        }
    }

    fn check_quota(&self, subject: &Subject<'_>, now: Duration) -> LimitDecision {
        let Some(tenant) = subject.tenant else {
            return LimitDecision::Allow;
        };
        let Some(limit) = self
            .rules
            .quota
            .as_ref()
            .and_then(|q| q.daily_limit(tenant))
        else {
            return LimitDecision::Allow;
        };
        if self.quota_used.try_take(tenant, utc_day(now), limit) {
            return LimitDecision::Allow;
        }
        LimitDecision::Refuse {
            rule: QUOTA_RULE.to_owned(),
            retry_after: until_next_day(now),
            scope: LimitScope::Tenant,
        }
    }

    /// Drop buckets that are back to full and quota counts of past days (memory hygiene;
    /// it changes no decision).
    pub fn retain_recent(&self) {
        for bucket in &self.buckets {
            bucket.retain_recent();
            bucket.shrink_to_fit();
        }
        self.quota_used.retain_day(utc_day(self.clock.unix_now()));
    }
}

/// The governor quota of `rule`.
fn quota_of(rule: &RateRule) -> Quota {
    // `emission_interval` is at least 3.6 s / u32::MAX > 0, so `with_period` succeeds; the
    // fallback is never taken but keeps this free of panics.
    Quota::with_period(rule.emission_interval)
        .unwrap_or_else(|| Quota::per_second(rule.burst))
        .allow_burst(rule.burst)
}
