//! Trust score factors moving as expected, driven by a manual clock through the engine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/helpers.rs"]
mod helpers;

use helpers::{NOW_SECS, policy_with, user};
use sallyport_policy::{
    AuthzRequest, Clock, Decision, Engine, ManualClock, Outcome, Stage, Subject, Timestamp,
};

const TRUST: &str = "
trust:
  deny_below: 0.3
  step_up_below: 0.5
  principals:
    alice:
      devices: [laptop-1]
      networks: [10.0.0.0/8]
      countries: [DE]
";

fn engine(extra: &str) -> Engine {
    Engine::new(policy_with(&format!("{TRUST}{extra}"), ""))
}

fn clock() -> ManualClock {
    ManualClock::new(Timestamp::from_secs(NOW_SECS))
}

fn run(e: &Engine, s: &Subject, tool: &str, at: Timestamp) -> Decision {
    e.decide(&AuthzRequest::call(s, "docker", tool, None, at))
}

fn operator(id: &str) -> Subject {
    let mut s = user(&["operator"]);
    s.id = id.into();
    s
}

#[test]
fn reputation_falls_with_violations_and_grows_with_age() {
    let e = engine("");
    let c = clock();
    let mut s = operator("bob");
    let base = run(&e, &s, "docker_ps", c.now()).trust.unwrap().reputation;
    s.attributes.recent_violations = 3;
    let bad = run(&e, &s, "docker_ps", c.now()).trust.unwrap();
    assert!(bad.reputation < base, "{} < {base}", bad.reputation);
    assert!(bad.notes.iter().any(|n| n.contains("violation")));
    s.attributes.recent_violations = 50;
    let worst = run(&e, &s, "docker_ps", c.now()).trust.unwrap().reputation;
    assert!((worst - (base - 0.5)).abs() < 1e-9, "penalty is capped");
    s.attributes.recent_violations = 0;
    s.attributes.account_created = Some(NOW_SECS - 400 * 86_400);
    let old = run(&e, &s, "docker_ps", c.now()).trust.unwrap().reputation;
    assert!((old - (base + 0.2)).abs() < 1e-9, "{old}");
}

#[test]
fn device_known_first_seen_new_and_missing() {
    let e = engine("");
    let c = clock();
    let mut alice = operator("alice");
    alice.attributes.device_id = Some("laptop-1".into());
    assert_eq!(
        run(&e, &alice, "docker_ps", c.now()).trust.unwrap().device,
        1.0
    );

    let mut bob = operator("bob");
    bob.attributes.device_id = Some("phone".into());
    let first = run(&e, &bob, "docker_ps", c.now()).trust.unwrap().device;
    c.advance_ms(1000);
    let seen = run(&e, &bob, "docker_ps", c.now()).trust.unwrap().device;
    bob.attributes.device_id = Some("stranger".into());
    let new = run(&e, &bob, "docker_ps", c.now()).trust.unwrap();
    bob.attributes.device_id = None;
    let missing = run(&e, &bob, "docker_ps", c.now()).trust.unwrap().device;
    assert_eq!((first, seen, new.device, missing), (0.5, 0.7, 0.2, 0.3));
    assert!(new.notes.contains(&"new device".to_owned()));
    // Devices the identity store knows count as known.
    bob.attributes.device_id = Some("corp-7".into());
    bob.attributes.known_devices = vec!["corp-7".into()];
    assert_eq!(
        run(&e, &bob, "docker_ps", c.now()).trust.unwrap().device,
        1.0
    );
}

#[test]
fn location_known_network_seen_network_and_new_country() {
    let e = engine("");
    let c = clock();
    let mut alice = operator("alice");
    alice.attributes.source_ip = Some("10.2.3.4".parse().unwrap());
    assert_eq!(
        run(&e, &alice, "docker_ps", c.now())
            .trust
            .unwrap()
            .location,
        1.0
    );
    alice.attributes.source_ip = Some("203.0.113.9".parse().unwrap());
    alice.attributes.country = Some("de".into());
    assert_eq!(
        run(&e, &alice, "docker_ps", c.now())
            .trust
            .unwrap()
            .location,
        0.7,
        "listed country"
    );
    alice.attributes.source_ip = Some("203.0.113.77".parse().unwrap());
    assert_eq!(
        run(&e, &alice, "docker_ps", c.now())
            .trust
            .unwrap()
            .location,
        0.8,
        "seen /24"
    );
    alice.attributes.source_ip = Some("198.51.100.1".parse().unwrap());
    alice.attributes.country = Some("KP".into());
    let far = run(&e, &alice, "docker_ps", c.now()).trust.unwrap();
    assert_eq!(far.location, 0.1);
    assert!(far.notes.contains(&"new country KP".to_owned()));

    let mut carol = operator("carol");
    carol.attributes.source_ip = Some("192.0.2.1".parse().unwrap());
    carol.attributes.country = Some("FR".into());
    assert_eq!(
        run(&e, &carol, "docker_ps", c.now())
            .trust
            .unwrap()
            .location,
        0.5,
        "first"
    );
    carol.attributes.source_ip = None;
    carol.attributes.country = None;
    assert_eq!(
        run(&e, &carol, "docker_ps", c.now())
            .trust
            .unwrap()
            .location,
        0.4,
        "unknown"
    );
}

/// A steady principal: one call a minute for three hours over three tools.
fn steady(e: &Engine, c: &ManualClock, s: &Subject) {
    let tools = ["docker_ps", "docker_logs", "docker_inspect"];
    for i in 0..180 {
        run(e, s, tools[i % 3], c.now());
        c.advance_ms(60_000);
    }
}

#[test]
fn behaviour_learns_then_flags_bursts_and_unusual_tools() {
    let e = engine("");
    let c = clock();
    let s = operator("dave");
    let learning = run(&e, &s, "docker_ps", c.now()).trust.unwrap();
    assert_eq!((learning.behaviour, learning.rate_ratio), (0.6, None));
    steady(&e, &c, &s);
    let normal = run(&e, &s, "docker_ps", c.now()).trust.unwrap();
    assert_eq!(normal.behaviour, 1.0, "{normal:?}");
    let ratio = normal.rate_ratio.unwrap();
    assert!((0.5..2.0).contains(&ratio), "{ratio}");

    let novel = run(&e, &s, "docker_exec", c.now()).trust.unwrap();
    assert!(novel.behaviour < 1.0 && novel.notes.contains(&"unusual tool".to_owned()));

    // 300 calls in 30 seconds.
    let mut last = None;
    for _ in 0..300 {
        c.advance_ms(100);
        last = run(&e, &s, "docker_ps", c.now()).trust;
    }
    let burst = last.unwrap();
    assert!(burst.rate_ratio.unwrap() > 12.0, "{burst:?}");
    assert!(burst.behaviour <= 0.5 + 1e-9, "{burst:?}");
    assert!(burst.score < normal.score);

    // Quiet for an hour: back to normal.
    c.advance_ms(3_600_000);
    let calm = run(&e, &s, "docker_ps", c.now()).trust.unwrap();
    assert_eq!(calm.behaviour, 1.0, "{calm:?}");
}

#[test]
fn deterministic_given_inputs_and_clock() {
    let run_all = || {
        let e = engine("");
        let c = clock();
        let mut s = operator("erin");
        s.attributes.device_id = Some("d1".into());
        steady(&e, &c, &s);
        run(&e, &s, "docker_run", c.now()).trust.unwrap()
    };
    assert_eq!(run_all(), run_all());
}

#[test]
fn thresholds_deny_and_step_up() {
    let e = engine("");
    let c = clock();
    // No device, no location, no history, three violations: 0.3×0.5 + 0.2×0.3 + 0.2×0.4 + 0.3×0.6.
    let mut mallory = operator("mallory");
    mallory.attributes.recent_violations = 3;
    let d = run(&e, &mallory, "docker_ps", c.now());
    assert_eq!(d.trust.as_ref().unwrap().score, 0.47);
    // Under step_up_below, but with a fresh MFA login: allowed, step-up satisfied.
    assert_eq!(d.outcome, Outcome::Allow, "{}", d.summary());
    assert!(d.reasons.iter().any(|r| r.contains("step-up satisfied")));
    // The same score with a stale login: step-up.
    mallory.attributes.auth_time = Some(NOW_SECS - 3_600);
    let d = run(&e, &mallory, "docker_ps", c.now());
    assert!(matches!(d.outcome, Outcome::StepUp(_)), "{}", d.summary());
    assert_eq!(d.decided_by, Stage::StepUp);
    // Under deny_below: denied outright.
    let p = policy_with(&TRUST.replace("deny_below: 0.3", "deny_below: 0.48"), "");
    let d = run(&Engine::new(p), &mallory, "docker_ps", c.now());
    assert_eq!(
        (&d.outcome, d.decided_by),
        (&Outcome::Deny, Stage::Trust),
        "{}",
        d.summary()
    );
}

#[test]
fn per_tool_minimum_trust() {
    let rules = "tools:\n  - { server: docker, tool: docker_run, resource: mcp.docker.run, action: execute, min_trust: 0.9 }\n";
    let e = engine(rules);
    let c = clock();
    let s = operator("frank");
    let d = run(&e, &s, "docker_run", c.now());
    assert_eq!((&d.outcome, d.decided_by), (&Outcome::Deny, Stage::Trust));
    assert!(d.reasons[0].contains("minimum 0.90"), "{}", d.reasons[0]);
    assert_eq!(run(&e, &s, "docker_ps", c.now()).outcome, Outcome::Allow);
}

#[test]
fn profiles_are_bounded() {
    let e = engine("  max_profiles: 3\n");
    let c = clock();
    for i in 0..10 {
        run(&e, &operator(&format!("p{i}")), "docker_ps", c.now());
    }
    assert_eq!(e.profiles().len(), 3);
}

#[test]
fn bad_trust_config_is_reported() {
    let bad =
        "trust:\n  weights: { reputation: 2 }\n  principals: { x: { networks: [10.0.0.0/40] } }\n";
    let config = sallyport_policy::AuthzConfig::from_yaml(bad, "t.yaml").unwrap();
    let errs = sallyport_policy::AuthzPolicy::new(&config, sallyport_policy::PolicyStore::empty())
        .unwrap_err();
    let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["trust.weights.reputation", "trust.principals.x.networks[0]"]
    );
}

#[test]
fn a_reloaded_engine_keeps_what_the_profiles_learned() {
    let e = engine("");
    let c = clock();
    let mut bob = operator("bob");
    bob.attributes.device_id = Some("phone".into());
    let first = run(&e, &bob, "docker_ps", c.now()).trust.unwrap().device;
    assert_eq!(first, 0.5, "a device seen for the first time");
    // A configuration reload builds the successor with the new policy.
    let reloaded = e.successor(policy_with(TRUST, ""));
    c.advance_ms(1000);
    let after = run(&reloaded, &bob, "docker_ps", c.now())
        .trust
        .unwrap()
        .device;
    assert_eq!(after, 0.7, "the device is remembered across the reload");
    // A fresh engine (a restart) has forgotten it.
    let restarted = engine("");
    let fresh = run(&restarted, &bob, "docker_ps", c.now())
        .trust
        .unwrap()
        .device;
    assert_eq!(fresh, 0.5);
}
