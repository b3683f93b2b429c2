//! Decision records for tests and doc examples.

use sallyport_pipeline::{DecisionRecord, Direction, GuardRecord, Outcome};

/// A client's `tools/call` of `fs/read` from the local operator, allowed.
pub fn record() -> DecisionRecord {
    DecisionRecord {
        exchange_id: "x-1".into(),
        time_unix_ms: 1_000,
        direction: Direction::ClientToServer,
        kind: "request",
        method: Some("tools/call".into()),
        jsonrpc_id: Some("1".into()),
        server: Some("fs".into()),
        tool: Some("read".into()),
        principal: "local".into(),
        auth_method: "none",
        tenant: None,
        source_ip: None,
        session_id: Some("s-1".into()),
        era: "legacy",
        outcome: Outcome::Allow,
        deny_code: None,
        origin: None,
        reason: None,
        guards: vec![GuardRecord {
            guard: "protocol",
            outcome: Outcome::Allow,
            reason: None,
            duration_ns: 2_000,
        }],
        duration_ns: 5_000,
    }
}

/// The upstream's result answering [`record`], `elapsed_ms` later.
pub fn response(elapsed_ms: u64) -> DecisionRecord {
    let request = record();
    DecisionRecord {
        exchange_id: "x-2".into(),
        time_unix_ms: request.time_unix_ms + elapsed_ms,
        direction: Direction::ServerToClient,
        kind: "result",
        guards: Vec::new(),
        duration_ns: 1_000,
        ..request
    }
}

/// Creates one series in every labelled family, so that the exposition lists them all.
pub fn populate(metrics: &crate::Metrics) {
    use crate::labels::{
        AuthAttemptLabels, AuthFailureLabels, AuthorizationLabels, DecisionLabels, DetectorLabels,
        DirectionLabels, GuardLabels, RateLimitLabels, RequestLabels, SecurityEventLabels,
        ServerLabels, ServerToolLabels, SessionLabels, ToolExecutionLabels,
    };
    let s = &metrics.seed;
    let g = &metrics.gateway;
    let x = || "x".to_owned();
    let _ = s.auth_attempts.get_or_create(&AuthAttemptLabels {
        method: "x",
        status: "x",
    });
    let _ = s.auth_failures.get_or_create(&AuthFailureLabels {
        method: "x",
        reason: "x",
    });
    let _ = s.authorization_checks.get_or_create(&AuthorizationLabels {
        resource: x(),
        action: "x",
        status: "x",
    });
    let _ = s.rate_limit_hits.get_or_create(&RateLimitLabels {
        user_type: "x",
        resource: x(),
    });
    let _ = s.security_events.get_or_create(&SecurityEventLabels {
        event_type: "x",
        severity: "x",
    });
    let _ = s
        .active_sessions
        .get_or_create(&SessionLabels { session_type: "x" });
    let _ = s.tool_execution.get_or_create(&ToolExecutionLabels {
        server: x(),
        tool: x(),
        status: "x",
    });
    let _ = s.requests.get_or_create(&RequestLabels {
        server_name: x(),
        tool_name: x(),
        status: "x",
    });
    let _ = s.request_duration.get_or_create(&ServerToolLabels {
        server_name: x(),
        tool_name: x(),
    });
    let _ = s
        .active_connections
        .get_or_create(&ServerLabels { server_name: x() });
    let _ = s.tool_availability.get_or_create(&ServerToolLabels {
        server_name: x(),
        tool_name: x(),
    });
    let _ = g.decisions.get_or_create(&DecisionLabels {
        direction: "x",
        outcome: "x",
        deny_code: "x",
    });
    let _ = g.guard_duration.get_or_create(&GuardLabels { guard: "x" });
    let _ = g
        .pipeline_duration
        .get_or_create(&DirectionLabels { direction: "x" });
    let _ = g.detector_hits.get_or_create(&DetectorLabels {
        rule_class: "x",
        guard: "x",
    });
    let _ = g
        .breaker_state
        .get_or_create(&ServerLabels { server_name: x() });
    metrics.set_rate_limit_backend("x", true);
    metrics.set_security_state_store("x", true);
    metrics.set_response(&crate::ResponseSnapshot {
        alerts: vec![("x".into(), "x".into(), 0)],
        actions: vec![("x".into(), "x".into(), 0)],
        notifications: vec![("x".into(), "x".into(), 0)],
        approvals_pending: Some(0),
    });
}
