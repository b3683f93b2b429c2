//! Concurrency limits: refusal when full, release on drop, bounded wait.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sallyport_limits::{ConcurrencyConfig, ConcurrencyLimits, ConcurrencyScope};

fn limits(yaml: &str) -> ConcurrencyLimits {
    let config: ConcurrencyConfig = serde_saphyr::from_str(yaml).unwrap();
    ConcurrencyLimits::new(&config).unwrap()
}

#[test]
fn full_upstream_refuses_and_a_dropped_permit_frees_its_slot() {
    let limits = limits("per_upstream: { \"*\": 2, slow: 1 }");
    let a = limits.try_acquire("fast", Some("t")).unwrap();
    let _b = limits.try_acquire("fast", None).unwrap();
    let refusal = limits.try_acquire("fast", Some("t")).unwrap_err();
    assert_eq!(
        (refusal.scope, refusal.limit),
        (ConcurrencyScope::Upstream, 2)
    );
    // The most specific pattern sets the limit, and each upstream has its own slots.
    let _slow = limits.try_acquire("slow", None).unwrap();
    assert_eq!(limits.try_acquire("slow", None).unwrap_err().limit, 1);
    drop(a);
    assert!(limits.try_acquire("fast", Some("t")).is_ok());
}

#[test]
fn full_tool_refuses_and_gives_back_the_upstream_slot() {
    let limits = limits("per_upstream: { up: 2 }\nper_tool: { docker_build: 1 }");
    let _build = limits.try_acquire("up", Some("docker_build")).unwrap();
    let refusal = limits.try_acquire("up", Some("docker_build")).unwrap_err();
    assert_eq!((refusal.scope, refusal.limit), (ConcurrencyScope::Tool, 1));
    // The refused call did not keep its upstream slot: one is still free.
    let _other = limits.try_acquire("up", Some("ls")).unwrap();
    assert_eq!(
        limits.try_acquire("up", None).unwrap_err().scope,
        ConcurrencyScope::Upstream
    );
    // The tool limit is per upstream.
    assert!(
        limits
            .try_acquire("elsewhere", Some("docker_build"))
            .is_ok()
    );
}

#[tokio::test]
async fn bounded_wait_gets_a_freed_slot_or_is_refused_at_the_deadline() {
    let limits = std::sync::Arc::new(limits("per_upstream: { up: 1 }\nmax_wait_ms: 200"));
    let held = limits.acquire("up", None).await.unwrap();
    let started = tokio::time::Instant::now();
    assert!(limits.acquire("up", None).await.is_err());
    assert!(started.elapsed() >= Duration::from_millis(200));

    let waiter = {
        let limits = limits.clone();
        tokio::spawn(async move { limits.acquire("up", None).await.is_ok() })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(held);
    assert!(waiter.await.unwrap());
}

#[test]
fn zero_limits_are_config_errors() {
    let config: ConcurrencyConfig = serde_saphyr::from_str("per_tool: { x: 0 }").unwrap();
    let errors = ConcurrencyLimits::new(&config).unwrap_err();
    assert_eq!(errors[0].path, "per_tool.x");
}
