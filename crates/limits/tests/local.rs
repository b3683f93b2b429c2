//! The in-process limiter, driven by a manual clock: exact instants of refusal and refill.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sallyport_limits::{
    Clock, LimitDecision, LimitScope, LocalLimiter, ManualClock, RateLimitConfig, Subject,
    SubjectKind,
};

/// 2026-01-01T00:00:00Z.
const NEW_YEAR: Duration = Duration::from_secs(1_767_225_600);

fn limiter(yaml: &str, start: Duration) -> (LocalLimiter, ManualClock) {
    let config: RateLimitConfig = serde_saphyr::from_str(yaml).unwrap();
    let time = ManualClock::starting_at(start);
    (
        LocalLimiter::new(&config, Clock::manual(&time)).unwrap(),
        time,
    )
}

fn user<'a>(id: &'a str, tool: Option<&'a str>) -> Subject<'a> {
    Subject {
        principal_id: id,
        kind: SubjectKind::User,
        tenant: None,
        tool,
    }
}

fn refusal(decision: LimitDecision) -> (String, Duration, LimitScope) {
    match decision {
        LimitDecision::Refuse {
            rule,
            retry_after,
            scope,
        } => (rule, retry_after, scope),
        LimitDecision::Allow => panic!("expected a refusal"),
    }
}

#[test]
fn burst_then_refusal_then_refill_at_the_exact_instant() {
    let (limiter, time) = limiter(
        "per_principal: { requests_per_minute: 60, burst_size: 10 }",
        NEW_YEAR,
    );
    let alice = user("alice", None);
    for _ in 0..10 {
        assert!(limiter.check(&alice).is_allowed());
    }
    let (rule, retry_after, scope) = refusal(limiter.check(&alice));
    assert_eq!(
        (rule.as_str(), scope),
        ("per_principal:per_minute", LimitScope::Principal)
    );
    assert_eq!(retry_after, Duration::from_secs(1));

    // One nanosecond early: still refused, and told exactly how long is left.
    time.advance(Duration::from_secs(1) - Duration::from_nanos(1));
    assert_eq!(refusal(limiter.check(&alice)).1, Duration::from_nanos(1));
    time.advance(Duration::from_nanos(1));
    assert!(limiter.check(&alice).is_allowed());
    assert!(!limiter.check(&alice).is_allowed());

    // A quiet 10 s refills the whole burst, and no more.
    time.advance(Duration::from_secs(10));
    for _ in 0..10 {
        assert!(limiter.check(&alice).is_allowed());
    }
    assert!(!limiter.check(&alice).is_allowed());

    // Budgets are per principal: bob is untouched by alice.
    assert!(limiter.check(&user("bob", None)).is_allowed());
}

#[test]
fn hour_window_caps_the_sustained_rate() {
    let (limiter, time) = limiter(
        "per_principal: { requests_per_minute: 60, requests_per_hour: 120, burst_size: 10 }",
        NEW_YEAR,
    );
    let alice = user("alice", None);
    // One call per second is within the minute budget. The hour budget holds 120 calls and
    // refills one every 30 s: by t = 123 s it has let through 120 + 4 refilled calls (at
    // 30, 60, 90 and 120 s) and refuses the call at t = 124 s until t = 150 s.
    let mut allowed = 0;
    while limiter.check(&alice).is_allowed() {
        allowed += 1;
        time.advance(Duration::from_secs(1));
    }
    assert_eq!(allowed, 124);
    let (rule, retry_after, _) = refusal(limiter.check(&alice));
    assert_eq!(rule, "per_principal:per_hour");
    assert_eq!(retry_after, Duration::from_secs(26));
}

#[test]
fn stricter_per_tool_limit_wins_over_per_principal() {
    let (limiter, time) = limiter(
        "per_principal: { requests_per_minute: 60, burst_size: 10 }
per_tool:
  execute_command: { requests_per_minute: 5, burst_size: 2 }",
        NEW_YEAR,
    );
    let exec = user("alice", Some("execute_command"));
    assert!(limiter.check(&exec).is_allowed());
    assert!(limiter.check(&exec).is_allowed());
    let (rule, retry_after, scope) = refusal(limiter.check(&exec));
    assert_eq!(rule, "per_tool:execute_command:per_minute");
    assert_eq!(
        (retry_after, scope),
        (Duration::from_secs(12), LimitScope::Tool)
    );
    // Other tools and other messages still pass on alice's own budget.
    assert!(
        limiter
            .check(&user("alice", Some("read_file")))
            .is_allowed()
    );
    assert!(limiter.check(&user("alice", None)).is_allowed());
    // The default key is the tool: bob shares execute_command's budget.
    assert!(
        !limiter
            .check(&user("bob", Some("execute_command")))
            .is_allowed()
    );
    time.advance(Duration::from_secs(12));
    assert!(
        limiter
            .check(&user("bob", Some("execute_command")))
            .is_allowed()
    );
}

#[test]
fn principal_and_tool_key_gives_each_principal_its_own_tool_budget() {
    let (limiter, _time) = limiter(
        "per_tool:
  \"docker_*\": { requests_per_minute: 2, burst_size: 1, key: principal_and_tool }",
        NEW_YEAR,
    );
    assert!(
        limiter
            .check(&user("alice", Some("docker_build")))
            .is_allowed()
    );
    let (rule, _, _) = refusal(limiter.check(&user("alice", Some("docker_build"))));
    assert_eq!(rule, "per_tool:docker_*:per_minute");
    // Each matching tool has its own budget, and so does each principal.
    assert!(
        limiter
            .check(&user("alice", Some("docker_run")))
            .is_allowed()
    );
    assert!(
        limiter
            .check(&user("bob", Some("docker_build")))
            .is_allowed()
    );
    assert!(limiter.check(&user("alice", Some("ls"))).is_allowed());
}

#[test]
fn service_account_profile_applies_to_service_principals() {
    let (limiter, _time) = limiter(
        "per_principal: { requests_per_minute: 60, burst_size: 2 }
service_accounts: { requests_per_minute: 200, burst_size: 5 }",
        NEW_YEAR,
    );
    let service = Subject {
        kind: SubjectKind::Service,
        ..user("ci-bot", None)
    };
    for _ in 0..5 {
        assert!(limiter.check(&service).is_allowed());
    }
    let (rule, retry_after, _) = refusal(limiter.check(&service));
    assert_eq!(rule, "service_accounts:per_minute");
    assert_eq!(retry_after, Duration::from_millis(300));

    let human = user("carol", None);
    assert!(limiter.check(&human).is_allowed());
    assert!(limiter.check(&human).is_allowed());
    assert_eq!(refusal(limiter.check(&human)).0, "per_principal:per_minute");
}

#[test]
fn refusal_by_own_budget_does_not_drain_the_global_one() {
    let (limiter, _time) = limiter(
        "global: { requests_per_minute: 3, burst_size: 3 }
per_principal: { requests_per_minute: 1, burst_size: 1 }",
        NEW_YEAR,
    );
    let mallory = user("mallory", None);
    assert!(limiter.check(&mallory).is_allowed());
    for _ in 0..100 {
        assert_eq!(
            refusal(limiter.check(&mallory)).0,
            "per_principal:per_minute"
        );
    }
    assert!(limiter.check(&user("a", None)).is_allowed());
    assert!(limiter.check(&user("b", None)).is_allowed());
    let (rule, _, scope) = refusal(limiter.check(&user("c", None)));
    assert_eq!(
        (rule.as_str(), scope),
        ("global:per_minute", LimitScope::Global)
    );
}

#[test]
fn tenant_quota_resets_at_midnight_utc() {
    let (limiter, time) = limiter(
        "quotas: { per_tenant_daily: 3, tenants: { big: 5 } }",
        NEW_YEAR - Duration::from_secs(10),
    );
    let in_tenant = |id, tenant| Subject {
        tenant: Some(tenant),
        ..user(id, None)
    };
    for id in ["a", "b", "a"] {
        assert!(limiter.check(&in_tenant(id, "acme")).is_allowed());
    }
    let (rule, retry_after, scope) = refusal(limiter.check(&in_tenant("c", "acme")));
    assert_eq!(
        (rule.as_str(), scope),
        ("quota:tenant_daily", LimitScope::Tenant)
    );
    assert_eq!(retry_after, Duration::from_secs(10));
    // Named tenants have their own quota; principals without a tenant have none.
    for _ in 0..5 {
        assert!(limiter.check(&in_tenant("a", "big")).is_allowed());
    }
    assert!(!limiter.check(&in_tenant("a", "big")).is_allowed());
    assert!(limiter.check(&user("a", None)).is_allowed());

    time.advance(Duration::from_secs(10) - Duration::from_nanos(1));
    assert!(!limiter.check(&in_tenant("a", "acme")).is_allowed());
    time.advance(Duration::from_nanos(1));
    for _ in 0..3 {
        assert!(limiter.check(&in_tenant("a", "acme")).is_allowed());
    }
    assert!(!limiter.check(&in_tenant("a", "acme")).is_allowed());
    limiter.retain_recent();
    assert!(!limiter.check(&in_tenant("a", "acme")).is_allowed());
}

#[test]
fn no_rules_allow_everything() {
    let (limiter, _time) = limiter("{}", NEW_YEAR);
    for _ in 0..1000 {
        assert!(limiter.check(&user("a", Some("t"))).is_allowed());
    }
}
