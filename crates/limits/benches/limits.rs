//! Cost of one rate-limit check: local (governor), Redis-backed (one round trip to
//! 127.0.0.1:6379), and Redis-backed served from a local allowance.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use sallyport_limits::{Clock, LocalLimiter, RateLimitConfig, RedisLimiter, Subject, SubjectKind};

/// Seed 001's table with limits high enough that every benchmarked call is allowed, so each
/// check walks all its buckets (2 principal + 2 tool + 2 global) plus the tenant quota.
const LIMITS: &str = "global: { requests_per_minute: 4000000000, requests_per_hour: 4000000000 }
per_principal: { requests_per_minute: 4000000000, requests_per_hour: 4000000000 }
service_accounts: { requests_per_minute: 4000000000, requests_per_hour: 4000000000 }
per_tool:
  execute_command: { requests_per_minute: 4000000000, requests_per_hour: 4000000000 }
  docker_build: { requests_per_minute: 2, burst_size: 1 }
quotas: { per_tenant_daily: 1000000000000 }
";

fn subject() -> Subject<'static> {
    Subject {
        principal_id: "alice@example.com",
        kind: SubjectKind::User,
        tenant: Some("acme"),
        tool: Some("execute_command"),
    }
}

fn local_check(c: &mut Criterion) {
    let config: RateLimitConfig = serde_saphyr::from_str(LIMITS).unwrap();
    let limiter = LocalLimiter::new(&config, Clock::system()).unwrap();
    let subject = subject();
    assert!(limiter.check(&subject).is_allowed());
    c.bench_function("local_check", |b| {
        b.iter(|| black_box(limiter.check(black_box(&subject))))
    });
}

fn redis_limiter(allowance: u32, test: &str) -> RedisLimiter {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let yaml = format!(
        "{LIMITS}redis:\n  url: redis://127.0.0.1:6379\n  key_prefix: \"sallyport-bench:{test}:{nanos}\"\n  local_allowance: {allowance}\n  local_allowance_ttl_ms: 1000\n  timeout_ms: 1000\n"
    );
    let config: RateLimitConfig = serde_saphyr::from_str(&yaml).unwrap();
    RedisLimiter::new(&config, Clock::system()).unwrap()
}

fn redis_check(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let limiter = runtime.block_on(async { redis_limiter(0, "check") });
    let subject = subject();
    assert!(runtime.block_on(limiter.check(&subject)).is_allowed());
    c.bench_function("redis_check", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(limiter.check(black_box(&subject)).await) })
    });
}

fn redis_allowance_check(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let limiter = runtime.block_on(async { redis_limiter(64, "allowance") });
    let subject = subject();
    assert!(runtime.block_on(limiter.check(&subject)).is_allowed());
    c.bench_function("redis_allowance_check_batch_64", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(limiter.check(black_box(&subject)).await) })
    });
}

/// Criterion reports means; the Redis target is a p99, so sample single calls and print
/// their percentiles (to stderr).
fn redis_check_percentiles(_: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let limiter = runtime.block_on(async { redis_limiter(0, "percentiles") });
    let subject = subject();
    let mut samples: Vec<Duration> = runtime.block_on(async {
        let mut samples = Vec::with_capacity(20_000);
        for _ in 0..20_000 {
            let started = Instant::now();
            assert!(limiter.check(&subject).await.is_allowed());
            samples.push(started.elapsed());
        }
        samples
    });
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    eprintln!(
        "redis_check latency over {} calls: p50 {:?}, p99 {:?}, p99.9 {:?}, max {:?}",
        samples.len(),
        at(0.50),
        at(0.99),
        at(0.999),
        samples[samples.len() - 1]
    );
}

criterion_group!(
    benches,
    local_check,
    redis_check,
    redis_allowance_check,
    redis_check_percentiles
);
criterion_main!(benches);
