//! Circuit breakers on a manual clock: open, half-open probe, close or reopen.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sallyport_limits::{
    BreakerScope, BreakerState, CallFailure, CallOutcome, CircuitBreakerConfig, CircuitBreakers,
    Clock, ManualClock,
};

const FAILED: CallOutcome = CallOutcome::Failed(CallFailure::Transport);

fn breakers(yaml: &str) -> (CircuitBreakers, ManualClock) {
    let config: CircuitBreakerConfig = serde_saphyr::from_str(yaml).unwrap();
    let time = ManualClock::starting_at(Duration::from_secs(1_800_000_000));
    (
        CircuitBreakers::new(&config, Clock::manual(&time)).unwrap(),
        time,
    )
}

fn fail_times(breakers: &CircuitBreakers, server: &str, tool: Option<&str>, n: u32) {
    for _ in 0..n {
        breakers.admit(server, tool).unwrap().record(FAILED);
    }
}

#[test]
fn default_profile_opens_after_five_consecutive_failures() {
    let (breakers, _time) = breakers("{}");
    fail_times(&breakers, "up", None, 4);
    // A success resets the count: failures must be consecutive.
    breakers
        .admit("up", None)
        .unwrap()
        .record(CallOutcome::Answered);
    fail_times(&breakers, "up", None, 4);
    assert_eq!(breakers.state("up", None), BreakerState::Closed);
    fail_times(&breakers, "up", None, 1);
    assert_eq!(breakers.state("up", None), BreakerState::Open);
    let refusal = breakers.admit("up", Some("any")).unwrap_err();
    assert_eq!(refusal.scope, BreakerScope::Upstream);
    // The default profile does not tell callers when to retry.
    assert_eq!(refusal.retry_after, None);
    // Other upstreams are unaffected.
    assert!(breakers.admit("other", None).is_ok());
}

#[test]
fn half_open_probe_success_closes() {
    let (breakers, time) = breakers("{}");
    fail_times(&breakers, "up", None, 5);
    time.advance(Duration::from_secs(60) - Duration::from_nanos(1));
    assert!(breakers.admit("up", None).is_err());
    time.advance(Duration::from_nanos(1));
    assert_eq!(breakers.state("up", None), BreakerState::HalfOpen);
    let probe = breakers.admit("up", None).unwrap();
    // One probe at a time.
    assert!(breakers.admit("up", None).is_err());
    probe.record(CallOutcome::Answered);
    assert_eq!(breakers.state("up", None), BreakerState::Closed);
    assert!(breakers.admit("up", None).is_ok());
    assert!(breakers.admit("up", None).is_ok());
}

#[test]
fn half_open_probe_failure_reopens_for_a_full_recovery_timeout() {
    let (breakers, time) = breakers("{}");
    fail_times(&breakers, "up", None, 5);
    time.advance(Duration::from_secs(60));
    breakers
        .admit("up", None)
        .unwrap()
        .record(CallOutcome::Failed(CallFailure::Timeout));
    assert_eq!(breakers.state("up", None), BreakerState::Open);
    time.advance(Duration::from_secs(59));
    assert!(breakers.admit("up", None).is_err());
    time.advance(Duration::from_secs(1));
    assert!(breakers.admit("up", None).is_ok());
}

#[test]
fn dropped_probe_frees_the_probe_slot() {
    let (breakers, time) = breakers("{}");
    fail_times(&breakers, "up", None, 5);
    time.advance(Duration::from_secs(60));
    drop(breakers.admit("up", None).unwrap());
    assert_eq!(breakers.state("up", None), BreakerState::HalfOpen);
    assert!(breakers.admit("up", None).is_ok());
}

#[test]
fn critical_tools_open_after_three_and_carry_retry_after() {
    let (breakers, time) = breakers("per_tool: { execute_command: critical_tools }");
    fail_times(&breakers, "up", Some("execute_command"), 3);
    assert_eq!(
        breakers.state("up", Some("execute_command")),
        BreakerState::Open
    );
    // Three failures are below the upstream's default threshold of five.
    assert_eq!(breakers.state("up", None), BreakerState::Closed);
    time.advance(Duration::from_secs(10));
    let refusal = breakers.admit("up", Some("execute_command")).unwrap_err();
    assert_eq!(refusal.scope, BreakerScope::Tool);
    assert_eq!(refusal.retry_after, Some(Duration::from_secs(20)));
    // Other tools of the upstream still pass.
    assert!(breakers.admit("up", Some("read_file")).is_ok());
    time.advance(Duration::from_secs(20));
    assert!(breakers.admit("up", Some("execute_command")).is_ok());
}

#[test]
fn non_critical_profile_and_answers_with_is_error_are_not_failures() {
    let (breakers, _time) = breakers("per_server: { \"legacy_*\": non_critical_tools }");
    fail_times(&breakers, "legacy_crm", None, 9);
    assert_eq!(breakers.state("legacy_crm", None), BreakerState::Closed);
    // A tool result with isError (or a JSON-RPC error) is an answer: it resets the count.
    breakers
        .admit("legacy_crm", None)
        .unwrap()
        .record(CallOutcome::Answered);
    fail_times(&breakers, "legacy_crm", None, 9);
    assert_eq!(breakers.state("legacy_crm", None), BreakerState::Closed);
    fail_times(&breakers, "legacy_crm", None, 1);
    assert_eq!(breakers.state("legacy_crm", None), BreakerState::Open);
}

#[test]
fn health_checker_opens_early_and_lets_a_probe_through_on_recovery() {
    let (breakers, _time) = breakers("{}");
    breakers.record_health("up", false);
    assert_eq!(breakers.state("up", None), BreakerState::Open);
    assert!(breakers.admit("up", None).is_err());
    breakers.record_health("up", true);
    let probe = breakers.admit("up", None).unwrap();
    probe.record(CallOutcome::Failed(CallFailure::UpstreamServerError));
    assert_eq!(breakers.state("up", None), BreakerState::Open);
}

#[test]
fn tool_breaker_refusing_releases_the_upstream_probe() {
    let (breakers, _time) = breakers("per_tool: { t: critical_tools }");
    fail_times(&breakers, "up", Some("t"), 3);
    assert_eq!(breakers.state("up", Some("t")), BreakerState::Open);
    breakers.record_health("up", false);
    breakers.record_health("up", true);
    assert_eq!(breakers.state("up", None), BreakerState::HalfOpen);
    // The upstream admits this call as its probe, then the open tool breaker refuses it...
    let refusal = breakers.admit("up", Some("t")).unwrap_err();
    assert_eq!(refusal.scope, BreakerScope::Tool);
    // ...and the upstream's probe slot is given back: a call to another tool may probe.
    let probe = breakers.admit("up", Some("u")).unwrap();
    assert!(breakers.admit("up", Some("v")).is_err());
    probe.record(CallOutcome::Answered);
    assert_eq!(breakers.state("up", None), BreakerState::Closed);
}
