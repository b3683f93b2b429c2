//! The correlation half of the response orchestrator: decision records become correlation
//! events, fired rules act on the security state at once, and the hold guard reads it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sallyport_correlate::CorrelationConfig;
use sallyport_mcp::version::Era;
use sallyport_mcp::{Message, RequestId};
use sallyport_pipeline::{
    DecisionRecord, DenyCode, Direction, Exchange, Guard, GuardRecord, Outcome, Principal, Verdict,
};
use sallyport_respond::{
    ApprovalHoldGuard, Orchestrator, QuarantineGuard, QuarantineTarget, SecurityState,
    correlation_kind, finding_labels,
};

const IP: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));

fn record(principal: &str, tool: &str, outcome: Outcome, code: Option<DenyCode>) -> DecisionRecord {
    DecisionRecord {
        exchange_id: "x".into(),
        time_unix_ms: 1_000_000,
        direction: Direction::ClientToServer,
        kind: "request",
        method: Some("tools/call".into()),
        jsonrpc_id: Some("1".into()),
        server: Some("fs".into()),
        tool: Some(tool.into()),
        principal: principal.into(),
        auth_method: "api_key",
        tenant: Some("acme".into()),
        source_ip: Some(IP),
        session_id: None,
        era: "modern",
        outcome,
        deny_code: code,
        origin: None,
        reason: None,
        guards: Vec::new(),
        duration_ns: 0,
    }
}

fn orchestrator(yaml: &str) -> (Orchestrator, Arc<SecurityState>) {
    let config: CorrelationConfig = serde_saphyr::from_str(yaml).unwrap();
    let state = Arc::new(SecurityState::default());
    let o = Orchestrator::new(
        config.compile().unwrap(),
        state.clone(),
        Duration::from_secs(60),
    );
    (o, state)
}

#[test]
fn records_become_correlation_kinds_and_labels() {
    let allowed = record("alice", "read_file", Outcome::Allow, None);
    assert_eq!(correlation_kind(&allowed), Some("tool_call"));
    let denied = record(
        "alice",
        "read_file",
        Outcome::Deny,
        Some(DenyCode::AuthForbidden),
    );
    assert_eq!(correlation_kind(&denied), Some("authorization_denied"));
    let mut result = record("alice", "lookup", Outcome::Rewrite, None);
    result.direction = Direction::ServerToClient;
    result.kind = "result";
    result.guards.push(GuardRecord {
        guard: "tool_result",
        outcome: Outcome::Rewrite,
        reason: Some(
            "redacted in w/lookup: secret.aws_access_key(AML.T0057) at /content/0/text \"AKIA****\"; pii.email(AML.T0057) at /x".into(),
        ),
        duration_ns: 0,
    });
    assert_eq!(correlation_kind(&result), Some("threat_detected"));
    assert_eq!(finding_labels(&result), vec!["secret", "pii"]);
    // An allowed result is not a tool call.
    let mut plain = record("alice", "lookup", Outcome::Allow, None);
    plain.direction = Direction::ServerToClient;
    plain.kind = "result";
    assert_eq!(correlation_kind(&plain), None);
}

#[test]
fn a_fired_rule_blocks_raises_risk_and_holds_calls_at_once() {
    let (mut o, state) = orchestrator(
        "include_default_rules: false\nrules:\n  - id: scan\n    title: scan\n    severity: high\n    mitre: [T1046]\n    window_secs: 60\n    group_by: [principal]\n    condition: { type: distinct, match: { kind: authorization_denied }, field: tool, count: 3 }\n    actions: [ { type: block_principal, duration_secs: 30 }, { type: raise_risk, amount: 25 }, { type: require_approval }, { type: alert } ]\n",
    );
    let now = Instant::now();
    let denied = |tool| {
        record(
            "mallory",
            tool,
            Outcome::Deny,
            Some(DenyCode::AuthForbidden),
        )
    };
    assert!(o.observe(&denied("a"), now).is_empty());
    assert!(
        o.observe(&denied("a"), now).is_empty(),
        "the same tool twice is one"
    );
    assert!(o.observe(&denied("b"), now).is_empty());
    assert!(!state.is_blocked_principal_at("mallory", Some("acme"), now));
    let fired = o.observe(&denied("c"), now);
    assert_eq!(fired.len(), 1);
    let r = &fired[0];
    assert_eq!(r.tenant.as_deref(), Some("acme"));
    let statuses: Vec<(&str, &str)> = r.outcomes.iter().map(|o| (o.action, o.status)).collect();
    assert_eq!(
        statuses,
        [
            ("block_principal", "done"),
            ("raise_risk", "done"),
            ("require_approval", "done"),
            ("alert", "gateway")
        ]
    );
    assert!(state.is_blocked_principal_at("mallory", Some("acme"), now));
    assert!(!state.is_blocked_principal_at("mallory", Some("acme"), now + Duration::from_secs(31)));
    assert_eq!(
        state.recent_violations("mallory", Some("acme")),
        3,
        "25 points: 3 violations"
    );
    assert!(
        state
            .approval_required("mallory", Some("acme"), now)
            .is_some()
    );
    assert!(
        state.approval_required("mallory", None, now).is_none(),
        "tenant-scoped"
    );
}

#[test]
fn the_hold_guard_holds_tool_calls_of_held_principals_only() {
    let state = Arc::new(SecurityState::default());
    let guard = ApprovalHoldGuard::new(state.clone());
    let msg = Message::request(RequestId::Number(1), "tools/call", None);
    let mut mallory = Principal::local();
    mallory.id = "mallory".into();
    let mut ex = Exchange::new(Direction::ClientToServer, &msg, &mallory, Era::Modern);
    ex.server = Some("fs");
    ex.tool = Some("read_file");
    // While nobody has been held, the guard costs one atomic load and stays off the record.
    assert!(!guard.applies_to(&ex));
    state.require_approval("someone", None, None, "other", Instant::now());
    assert!(guard.applies_to(&ex));
    assert_eq!(guard.check(&ex).unwrap(), Verdict::Allow);
    state.require_approval("mallory", None, None, "exfiltration_chain", Instant::now());
    match guard.check(&ex).unwrap() {
        Verdict::Hold(h) => assert!(h.reason.contains("exfiltration_chain"), "{}", h.reason),
        other => panic!("{other:?}"),
    }
    let list = Message::request(RequestId::Number(2), "tools/list", None);
    let ex = Exchange::new(Direction::ClientToServer, &list, &mallory, Era::Modern);
    assert!(!guard.applies_to(&ex), "only tool calls are held");
}

#[test]
fn quarantine_tool_refuses_that_tool_until_lifted_and_revoke_key_is_left_to_the_gateway() {
    let (mut o, state) = orchestrator(
        "include_default_rules: false\nrules:\n  - id: noisy\n    title: noisy\n    severity: high\n    window_secs: 60\n    group_by: [principal, server, tool]\n    condition: { type: threshold, match: { kind: tool_call }, count: 2 }\n    actions: [ { type: quarantine_tool }, { type: revoke_key } ]\n",
    );
    let now = Instant::now();
    let call = record("mallory", "read_file", Outcome::Allow, None);
    assert!(o.observe(&call, now).is_empty());
    let fired = o.observe(&call, now);
    assert_eq!(fired.len(), 1);
    let outcomes: Vec<(&str, Option<&str>, &str)> = fired[0]
        .outcomes
        .iter()
        .map(|x| (x.action, x.target.as_deref(), x.status))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("quarantine_tool", Some("tool:fs/read_file"), "done"),
            ("revoke_key", Some("principal:acme/mallory"), "gateway"),
        ]
    );

    let guard = QuarantineGuard::new(state.clone());
    let alice = Principal::local();
    let msg = Message::request(RequestId::Number(1), "tools/call", None);
    let mut ex = Exchange::new(Direction::ClientToServer, &msg, &alice, Era::Modern);
    ex.server = Some("fs");
    ex.tool = Some("read_file");
    assert!(guard.applies_to(&ex));
    match guard.check(&ex).unwrap() {
        Verdict::Deny(d) => assert_eq!(d.code, DenyCode::ToolQuarantined),
        other => panic!("{other:?}"),
    }
    ex.tool = Some("write_file");
    assert_eq!(
        guard.check(&ex).unwrap(),
        Verdict::Allow,
        "other tools pass"
    );

    let target = QuarantineTarget {
        server: Some("fs".into()),
        tool: Some("read_file".into()),
    };
    assert!(state.release_quarantine(&target));
    assert!(
        !guard.applies_to(&ex),
        "nothing quarantined: the guard is not even asked"
    );
}
