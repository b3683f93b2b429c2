//! Engine behaviour: sliding windows, sequence order, absence, cooldown, late events and
//! bounded memory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::num::NonZeroU32;

use sallyport_correlate::{Alert, CorrelationConfig, CorrelationEvent, Engine, KeyField, RuleFile};

const SECOND: u64 = 1_000;

/// An engine running only the rules in `yaml` (a rules file), tracking `max_keys` keys.
fn engine_with(yaml: &str, max_keys: u32) -> Engine {
    let file = RuleFile::from_yaml(yaml, "test").unwrap();
    let config = CorrelationConfig {
        include_default_rules: false,
        max_keys_per_rule: NonZeroU32::new(max_keys).unwrap(),
        ..CorrelationConfig::default()
    };
    Engine::new(config.compile_with_file(Some(&file)).unwrap())
}

fn engine(yaml: &str) -> Engine {
    engine_with(yaml, 10_000)
}

fn feed(engine: &mut Engine, events: &[CorrelationEvent<'_>]) -> Vec<Alert> {
    events
        .iter()
        .flat_map(|event| engine.observe(event))
        .collect()
}

fn event(kind: &'static str, time_ms: u64, principal: &'static str) -> CorrelationEvent<'static> {
    CorrelationEvent::new(kind, time_ms).with_principal(principal)
}

const THREE_IN_TEN: &str = r"
rules:
  - id: three_in_ten
    title: Three denials in ten seconds
    severity: warning
    window_secs: 10
    group_by: [principal]
    condition: { type: threshold, match: { kind: denied }, count: 3 }
";

#[test]
fn events_at_the_window_edge_do_not_count() {
    let mut engine = engine(THREE_IN_TEN);
    let times = [0, 5 * SECOND, 10 * SECOND];
    let events: Vec<_> = times.iter().map(|&t| event("denied", t, "p")).collect();
    assert!(
        feed(&mut engine, &events).is_empty(),
        "t=0 is exactly one window before t=10 s"
    );
    let alerts = engine.observe(&event("denied", 14_999, "p"));
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (alerts[0].first_ms, alerts[0].last_ms),
        (5 * SECOND, 14_999)
    );
}

#[test]
fn keys_are_counted_apart_and_events_without_the_key_are_ignored() {
    let mut engine = engine(THREE_IN_TEN);
    let events = [
        event("denied", 0, "a"),
        event("denied", 1, "b"),
        CorrelationEvent::new("denied", 2),
        event("denied", 3, "a"),
        event("denied", 4, "b"),
        CorrelationEvent::new("denied", 5),
        event("other", 6, "a"),
    ];
    assert!(feed(&mut engine, &events).is_empty());
    let alerts = engine.observe(&event("denied", 7, "b"));
    assert_eq!(alerts[0].key_value(KeyField::Principal), Some("b"));
}

#[test]
fn cooldown_suppresses_then_fires_again() {
    let yaml = r"
rules:
  - id: pairs
    title: Two events in ten seconds
    severity: info
    window_secs: 10
    cooldown_secs: 30
    group_by: []
    condition: { type: threshold, match: { kind: x }, count: 2 }
";
    let mut engine = engine(yaml);
    let events: Vec<_> = (0..100)
        .map(|s| CorrelationEvent::new("x", s * SECOND))
        .collect();
    let fired: Vec<u64> = feed(&mut engine, &events)
        .iter()
        .map(|a| a.last_ms)
        .collect();
    assert_eq!(fired, [SECOND, 31 * SECOND, 61 * SECOND, 91 * SECOND]);
    assert!(engine.stats().alerts_suppressed > 0);
    assert!(
        engine
            .observe(&CorrelationEvent::new("x", 100 * SECOND))
            .is_empty()
    );
}

#[test]
fn zero_cooldown_fires_every_time_the_condition_holds() {
    let yaml = r"
rules:
  - id: each
    title: Every second event
    severity: info
    window_secs: 10
    cooldown_secs: 0
    group_by: []
    condition: { type: threshold, match: { kind: x }, count: 2 }
";
    let mut engine = engine(yaml);
    let events: Vec<_> = (0..10)
        .map(|s| CorrelationEvent::new("x", s * SECOND))
        .collect();
    assert_eq!(feed(&mut engine, &events).len(), 5);
}

const READ_THEN_SEND: &str = r"
rules:
  - id: read_then_send
    title: Read, then send
    severity: high
    window_secs: 60
    group_by: [principal]
    condition:
      type: sequence
      steps:
        - { kind: tool_call, tool: 'read_*' }
        - { kind: tool_call, tool: 'send_*' }
        - { kind: tool_call, tool: 'delete_*' }
";

fn call(time_ms: u64, principal: &'static str, tool: &'static str) -> CorrelationEvent<'static> {
    event("tool_call", time_ms, principal).with_tool(tool)
}

#[test]
fn sequence_fires_in_order_with_gaps() {
    let mut engine = engine(READ_THEN_SEND);
    let events = [
        call(0, "p", "read_db"),
        call(1_000, "p", "list"),
        call(2_000, "q", "send_mail"),
        call(3_000, "p", "send_mail"),
        call(4_000, "p", "list"),
        call(5_000, "p", "delete_logs"),
    ];
    let alerts = feed(&mut engine, &events);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].count, 3);
    let tools: Vec<_> = alerts[0]
        .evidence
        .iter()
        .filter_map(|e| e.tool.as_deref())
        .collect();
    assert_eq!(tools, ["read_db", "send_mail", "delete_logs"]);
}

#[test]
fn sequence_out_of_order_or_too_slow_does_not_fire() {
    let mut engine = engine(READ_THEN_SEND);
    let backwards = [
        call(0, "p", "delete_logs"),
        call(1_000, "p", "send_mail"),
        call(2_000, "p", "read_db"),
    ];
    assert!(feed(&mut engine, &backwards).is_empty());
    let skipping = [call(3_000, "q", "read_db"), call(4_000, "q", "delete_logs")];
    assert!(feed(&mut engine, &skipping).is_empty());
    let slow = [
        call(10_000, "r", "read_db"),
        call(20_000, "r", "send_mail"),
        call(70_000, "r", "delete_logs"),
    ];
    assert!(feed(&mut engine, &slow).is_empty(), "60 s after the read");
    // A later read restarts the chain inside the window.
    let restarted = [call(71_000, "r", "read_db"), call(72_000, "r", "send_mail")];
    assert!(feed(&mut engine, &restarted).is_empty());
    assert_eq!(engine.observe(&call(73_000, "r", "delete_x")).len(), 1);
}

#[test]
fn one_event_is_never_two_steps() {
    let yaml = r"
rules:
  - id: twice
    title: Two calls
    severity: info
    window_secs: 60
    group_by: [principal]
    condition:
      type: sequence
      steps: [{ kind: tool_call }, { kind: tool_call }]
";
    let mut engine = engine(yaml);
    assert!(engine.observe(&call(0, "p", "a")).is_empty());
    assert_eq!(engine.observe(&call(1, "p", "b")).len(), 1);
}

const LOGIN_WITHOUT_MFA: &str = r"
rules:
  - id: login_without_mfa
    title: Session without a second factor
    severity: warning
    mitre: [T1078]
    window_secs: 60
    group_by: [principal, session]
    condition:
      type: absence
      start: { kind: session_started }
      expect: { kind: mfa_passed }
";

#[test]
fn absence_fires_at_tick_after_the_window() {
    let mut engine = engine(LOGIN_WITHOUT_MFA);
    let start = event("session_started", 0, "p").with_session("s1");
    assert!(engine.observe(&start).is_empty());
    assert!(engine.tick(59_999).is_empty());
    let alerts = engine.tick(60_000);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].key_value(KeyField::Session), Some("s1"));
    assert_eq!(alerts[0].key_value(KeyField::Principal), Some("p"));
    assert_eq!((alerts[0].first_ms, alerts[0].last_ms), (0, 60_000));
    assert_eq!(alerts[0].evidence[0].kind, "session_started");
    assert!(engine.tick(120_000).is_empty(), "fires once");
}

#[test]
fn absence_is_cancelled_by_the_expected_event_in_time_only() {
    let mut engine = engine(LOGIN_WITHOUT_MFA);
    let events = [
        event("session_started", 0, "p").with_session("s1"),
        event("session_started", 0, "p").with_session("s2"),
        event("mfa_passed", 30_000, "p").with_session("s1"),
        // Arrives after the deadline: too late, s2 still fires.
        event("mfa_passed", 60_000, "p").with_session("s2"),
    ];
    assert!(
        feed(&mut engine, &events).is_empty(),
        "absence never fires on observe"
    );
    let alerts = engine.tick(61_000);
    let sessions: Vec<_> = alerts
        .iter()
        .map(|a| a.key_value(KeyField::Session))
        .collect();
    assert_eq!(sessions, [Some("s2")]);
}

#[test]
fn late_events_count_at_their_keys_newest_time() {
    let mut engine = engine(THREE_IN_TEN);
    assert!(
        engine
            .observe(&event("denied", 100 * SECOND, "p"))
            .is_empty()
    );
    assert!(
        engine
            .observe(&event("denied", 50 * SECOND, "p"))
            .is_empty()
    );
    let alerts = engine.observe(&event("denied", 101 * SECOND, "p"));
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].first_ms, 100 * SECOND);
    assert_eq!(engine.stats().events_out_of_order, 1);
}

#[test]
fn distinct_counts_each_value_once() {
    let yaml = r"
rules:
  - id: many_tools
    title: Many tools
    severity: info
    window_secs: 60
    group_by: [principal]
    condition: { type: distinct, match: { kind: tool_call }, field: tool, count: 3 }
";
    let mut engine = engine(yaml);
    let tools = ["a", "b", "a", "b", "a"];
    let events: Vec<_> = (tools.iter().enumerate())
        .map(|(i, tool)| call(i as u64 * SECOND, "p", tool))
        .collect();
    assert!(feed(&mut engine, &events).is_empty());
    // "a" and "b" slide out of the window: "c" alone is one value.
    assert!(engine.observe(&call(70 * SECOND, "p", "c")).is_empty());
    assert!(engine.observe(&call(71 * SECOND, "p", "a")).is_empty());
    let alerts = engine.observe(&call(72 * SECOND, "p", "d"));
    assert_eq!(alerts.len(), 1);
    let values: Vec<_> = alerts[0]
        .evidence
        .iter()
        .filter_map(|e| e.value.as_deref())
        .collect();
    assert_eq!(values, ["c", "a", "d"]);
}

#[test]
fn idle_keys_expire_on_tick() {
    let mut engine = engine(THREE_IN_TEN);
    let events: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|p| event("denied", 0, p))
        .collect();
    feed(&mut engine, &events);
    assert_eq!(engine.tracked_keys("three_in_ten"), Some(3));
    engine.tick(5 * SECOND);
    assert_eq!(engine.tracked_keys("three_in_ten"), Some(3));
    engine.tick(10 * SECOND);
    assert_eq!(engine.tracked_keys("three_in_ten"), Some(0));
    assert_eq!(engine.stats().expired_keys, 3);
}

/// One rule of each type, all keyed by principal.
const ONE_OF_EACH: &str = r"
rules:
  - id: threshold
    title: t
    severity: info
    window_secs: 3600
    group_by: [principal]
    condition: { type: threshold, match: { kind: x }, count: 5 }
  - id: distinct
    title: d
    severity: info
    window_secs: 3600
    group_by: [principal]
    condition: { type: distinct, match: { kind: x }, field: tool, count: 5 }
  - id: sequence
    title: s
    severity: info
    window_secs: 3600
    group_by: [principal]
    condition: { type: sequence, steps: [{ kind: x }, { kind: y }] }
  - id: absence
    title: a
    severity: info
    window_secs: 3600
    group_by: [principal]
    condition: { type: absence, start: { kind: x }, expect: { kind: y } }
";

#[test]
fn a_million_distinct_keys_stay_within_the_cap() {
    const CAP: usize = 1_000;
    const KEYS: usize = 1_000_000;
    let mut engine = engine_with(ONE_OF_EACH, CAP as u32);
    let mut name = String::new();
    let mut alerts = Vec::new();
    for i in 0..KEYS {
        name.clear();
        name.push_str("principal-");
        name.push_str(&i.to_string());
        let event = CorrelationEvent::new("x", i as u64)
            .with_principal(&name)
            .with_tool("t");
        engine.observe_into(&event, &mut alerts);
        if i % 10_000 == 0 {
            engine.tick_into(i as u64, &mut alerts);
            assert!(engine.stats().max_tracked_keys_per_rule <= CAP);
        }
    }
    let stats = engine.stats();
    assert!(alerts.is_empty());
    assert_eq!(stats.max_tracked_keys_per_rule, CAP);
    assert_eq!(stats.tracked_keys, 4 * CAP);
    assert_eq!(
        stats.evicted_keys + stats.expired_keys,
        4 * (KEYS - CAP) as u64
    );
    assert_eq!(stats.events_observed, KEYS as u64);
}

#[test]
fn large_thresholds_count_in_buckets_without_forgetting_early() {
    let yaml = r"
rules:
  - id: runaway
    title: A runaway session
    severity: warning
    window_secs: 32
    group_by: [session]
    condition: { type: threshold, match: { kind: tool_call }, count: 100 }
";
    let mut engine = engine(yaml);
    let call = |time_ms| CorrelationEvent::new("tool_call", time_ms).with_session("s");
    // 99 calls spread over 64 s: never 100 within 32 s.
    let slow: Vec<_> = (0..99).map(|i| call(i * 650)).collect();
    assert!(feed(&mut engine, &slow).is_empty());
    // 100 calls within 10 s.
    let burst: Vec<_> = (0..100).map(|i| call(100_000 + i * 100)).collect();
    let alerts = feed(&mut engine, &burst);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].count, 100);
    assert_eq!(alerts[0].evidence.len(), 8);
    assert!(alerts[0].first_ms <= 100_000, "the first bucket's start");
}

#[test]
fn stats_count_what_the_engine_did() {
    let mut engine = engine(THREE_IN_TEN);
    assert_eq!(engine.rule_ids().collect::<Vec<_>>(), ["three_in_ten"]);
    let events: Vec<_> = (0..4).map(|i| event("denied", i * SECOND, "p")).collect();
    feed(&mut engine, &events);
    engine.observe(&event("unrelated", 5 * SECOND, "p"));
    let stats = engine.stats();
    assert_eq!(stats.rules, 1);
    assert_eq!(stats.events_observed, 5);
    assert_eq!(stats.alerts_raised, 1);
    assert_eq!(stats.alerts_suppressed, 0);
    assert_eq!(stats.tracked_keys, 1);
    assert_eq!(engine.tracked_keys("three_in_ten"), Some(1));
    assert_eq!(engine.tracked_keys("nope"), None);
}

#[test]
fn alerts_serialise_for_the_audit_log() {
    let mut engine = engine(THREE_IN_TEN);
    let events: Vec<_> = (0..3)
        .map(|i| event("denied", i * SECOND, "p").with_tool("delete_repo"))
        .collect();
    let alert = feed(&mut engine, &events).remove(0);
    let json = serde_json::to_value(&alert).unwrap();
    assert_eq!(json["rule_id"], "three_in_ten");
    assert_eq!(json["severity"], "warning");
    assert_eq!(json["key"][0]["field"], "principal");
    assert_eq!(json["key"][0]["value"], "p");
    assert_eq!(json["actions"][0]["type"], "alert");
    assert_eq!(json["evidence"][2]["tool"], "delete_repo");
    let back: Alert = serde_json::from_value(json).unwrap();
    assert_eq!(back, alert);
}
