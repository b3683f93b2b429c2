use std::sync::Arc;

use sallyport_pipeline::{DecisionRecord, DenyCode, Direction, GuardRecord, Outcome};

use super::DecisionObserver;
use crate::labels::LabelBounds;
use crate::metrics::{AuditSnapshot, BreakerPosition, Metrics};
use crate::testing::{record, response};

fn setup() -> (Arc<Metrics>, DecisionObserver) {
    let metrics = Arc::new(Metrics::new(["fs".to_owned(), "web".to_owned()]));
    let observer = DecisionObserver::new(metrics.clone());
    (metrics, observer)
}

/// The value of the series written exactly as `series` (name and labels in field order).
fn sample(metrics: &Metrics, series: &str) -> Option<f64> {
    let page = metrics.encode();
    page.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok())?
    })
}

fn denial(code: DenyCode, guard: &'static str, reason: &str) -> DecisionRecord {
    DecisionRecord {
        outcome: Outcome::Deny,
        deny_code: Some(code),
        reason: Some(reason.to_owned()),
        guards: vec![GuardRecord {
            guard,
            outcome: Outcome::Deny,
            reason: Some(reason.to_owned()),
            duration_ns: 0,
        }],
        duration_ns: 0,
        ..record()
    }
}

#[test]
fn a_tool_call_and_its_result_are_counted_and_timed() {
    let (metrics, mut observer) = setup();
    observer.observe(&record());
    assert_eq!(observer.in_flight(), 1);
    observer.observe(&response(1_500));
    assert_eq!(observer.in_flight(), 0);
    let ok = r#"server_name="fs",tool_name="read",status="success""#;
    assert_eq!(
        sample(&metrics, &format!("mcp_requests_total{{{ok}}}")),
        Some(1.0)
    );
    let exec = r#"server="fs",tool="read",status="success""#;
    assert_eq!(
        sample(
            &metrics,
            &format!("mcp_tool_execution_duration_seconds_sum{{{exec}}}")
        ),
        Some(1.5)
    );
    assert_eq!(
        sample(
            &metrics,
            &format!("mcp_tool_execution_duration_seconds_bucket{{le=\"2.0\",{exec}}}")
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &metrics,
            r#"mcp_request_duration_seconds_count{server_name="fs",tool_name="read"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &metrics,
            r#"mcp_auth_attempts_total{method="none",status="success"}"#
        ),
        Some(1.0)
    );
    let decisions = r#"sallyport_decisions_total{direction="client_to_server",outcome="allow",deny_code="none"}"#;
    assert_eq!(sample(&metrics, decisions), Some(1.0));
    assert_eq!(
        sample(
            &metrics,
            r#"sallyport_guard_duration_seconds_count{guard="protocol"}"#
        ),
        Some(1.0)
    );
}

#[test]
fn unknown_servers_and_unanswered_tools_fold_into_other() {
    let (metrics, mut observer) = setup();
    let mut call = record();
    call.server = Some("attacker-chosen".into());
    call.tool = Some("x".repeat(50));
    observer.observe(&denial(DenyCode::ToolNotAllowed, "route", "unknown tool"));
    observer.observe(&DecisionRecord {
        outcome: Outcome::Deny,
        deny_code: Some(DenyCode::ToolNotAllowed),
        ..call
    });
    // The tool of a configured server never answered: its name is not a label yet.
    let denied = r#"mcp_requests_total{server_name="fs",tool_name="other",status="denied"}"#;
    assert_eq!(sample(&metrics, denied), Some(1.0));
    let other = r#"mcp_requests_total{server_name="other",tool_name="other",status="denied"}"#;
    assert_eq!(sample(&metrics, other), Some(1.0));
    assert!(!metrics.encode().contains("attacker-chosen"));
}

#[test]
fn tool_labels_are_capped_per_server() {
    let metrics = Arc::new(Metrics::with_bounds(LabelBounds::new(
        ["fs".to_owned()],
        2,
        10,
    )));
    let mut observer = DecisionObserver::new(metrics.clone());
    for (i, tool) in ["a", "b", "c"].into_iter().enumerate() {
        let id = i.to_string();
        let call = DecisionRecord {
            tool: Some(tool.into()),
            jsonrpc_id: Some(id.clone()),
            ..record()
        };
        let answer = DecisionRecord {
            tool: Some(tool.into()),
            jsonrpc_id: Some(id),
            ..response(10)
        };
        observer.observe(&call);
        observer.observe(&answer);
    }
    let page = metrics.encode();
    assert!(page.contains(r#"tool_name="a""#) && page.contains(r#"tool_name="b""#));
    assert!(!page.contains(r#"tool_name="c""#));
    assert_eq!(
        sample(
            &metrics,
            r#"mcp_requests_total{server_name="fs",tool_name="other",status="success"}"#
        ),
        Some(1.0)
    );
}

#[test]
fn authentication_failures_name_method_and_reason_but_no_principal() {
    let (metrics, mut observer) = setup();
    let mut refused = denial(DenyCode::Unauthenticated, "edge", "token_expired");
    refused.kind = "notification";
    refused.principal = "alice@example.com".into();
    observer.observe(&refused);
    assert_eq!(
        sample(
            &metrics,
            r#"mcp_auth_failures_total{method="jwt",reason="token_expired"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &metrics,
            r#"mcp_auth_attempts_total{method="jwt",status="failure"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &metrics,
            r#"mcp_security_events_total{event_type="unauthenticated",severity="low"}"#
        ),
        Some(1.0)
    );
    assert!(!metrics.encode().contains("alice"));
}

#[test]
fn rate_limits_authorization_and_detectors_have_their_series() {
    let (metrics, mut observer) = setup();
    let mut limited = denial(DenyCode::RateLimited, "traffic", "rule per_principal");
    limited.principal = "bob".into();
    observer.observe(&limited);
    observer.observe(&denial(DenyCode::ToolNotAllowed, "authz", "policy forbids"));
    let reason = "arguments of fs/read: secret.aws_access_key at /path";
    observer.observe(&denial(DenyCode::ThreatDetected, "tool_arguments", reason));
    assert_eq!(
        sample(
            &metrics,
            r#"mcp_rate_limit_hits_total{user_type="authenticated",resource="fs"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &metrics,
            r#"mcp_authorization_checks_total{resource="fs",action="tools/call",status="denied"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &metrics,
            r#"sallyport_detector_hits_total{rule_class="secret",guard="tool_arguments"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &metrics,
            r#"mcp_security_events_total{event_type="threat_detected",severity="high"}"#
        ),
        Some(1.0)
    );
}

#[test]
fn a_refusal_after_the_chain_ends_the_remembered_call() {
    let (metrics, mut observer) = setup();
    observer.observe(&record());
    observer.observe(&denial(DenyCode::CircuitOpen, "traffic", "breaker open"));
    assert_eq!(observer.in_flight(), 0);
    let denied = r#"mcp_requests_total{server_name="fs",tool_name="other",status="denied"}"#;
    assert_eq!(sample(&metrics, denied), Some(1.0));
    let late = response(5);
    assert_eq!(late.direction, Direction::ServerToClient);
    observer.observe(&late);
    // An unpaired response is still counted, without a duration.
    let ok = r#"mcp_requests_total{server_name="fs",tool_name="read",status="success"}"#;
    assert_eq!(sample(&metrics, ok), Some(1.0));
}

#[test]
fn hooks_set_gauges_and_turn_audit_totals_into_increments() {
    let (metrics, _) = setup();
    metrics.set_active_sessions("http", 3);
    metrics.set_breaker_state("web", BreakerPosition::Open);
    metrics.set_audit(AuditSnapshot {
        pending: 7,
        capacity: 100,
        refused: 2,
        store_failures: 0,
    });
    metrics.set_audit(AuditSnapshot {
        pending: 1,
        capacity: 100,
        refused: 5,
        store_failures: 1,
    });
    assert_eq!(
        sample(&metrics, r#"mcp_active_sessions{session_type="http"}"#),
        Some(3.0)
    );
    assert_eq!(
        sample(
            &metrics,
            r#"sallyport_circuit_breaker_state{server_name="web"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(&metrics, "sallyport_audit_pending_events"),
        Some(1.0)
    );
    assert_eq!(
        sample(&metrics, "sallyport_audit_refused_events_total"),
        Some(5.0)
    );
    assert_eq!(
        sample(&metrics, "sallyport_audit_store_failures_total"),
        Some(1.0)
    );
}

#[test]
fn successful_authentications_are_counted_by_the_method_used() {
    let (metrics, mut observer) = setup();
    for method in ["api_key", "jwt", "jwt", "mtls"] {
        observer.observe(&DecisionRecord {
            principal: "alice".into(),
            auth_method: method,
            ..record()
        });
    }
    let count = |method: &str| {
        sample(
            &metrics,
            &format!("mcp_auth_attempts_total{{method=\"{method}\",status=\"success\"}}"),
        )
    };
    assert_eq!(count("jwt"), Some(2.0));
    assert_eq!(count("api_key"), Some(1.0));
    assert_eq!(count("mtls"), Some(1.0));
    assert_eq!(count("unknown"), None);
}
