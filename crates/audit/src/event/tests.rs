use super::*;
use sallyport_pipeline::{DecisionRecord, DenyCode, Direction, GuardRecord, Origin, Outcome};
use serde_json::json;

fn record() -> DecisionRecord {
    DecisionRecord {
        exchange_id: "ex-1".into(),
        time_unix_ms: 1_700_000_000_000,
        direction: Direction::ClientToServer,
        kind: "request",
        method: Some("tools/call".into()),
        jsonrpc_id: Some("7".into()),
        server: Some("fs".into()),
        tool: Some("read_file".into()),
        principal: "alice".into(),
        auth_method: "none",
        tenant: None,
        source_ip: None,
        session_id: Some("s-1".into()),
        era: "modern",
        outcome: Outcome::Deny,
        deny_code: Some(DenyCode::ToolNotAllowed),
        origin: Some(Origin::Client),
        reason: Some("not in allow list".into()),
        guards: vec![GuardRecord {
            guard: "authorize",
            outcome: Outcome::Deny,
            reason: Some("not in allow list".into()),
            duration_ns: 1200,
        }],
        duration_ns: 5000,
    }
}

#[test]
fn from_decision_keeps_digest_not_arguments() {
    let args = json!({"path": "/etc/shadow", "mode": "r"});
    let ctx = AuditContext {
        tenant: Some("acme"),
        source_ip: Some("10.0.0.5"),
        user_agent: Some("claude-code/1.0"),
        arguments: Some(&args),
        compliance_tags: vec!["sox".into()],
        retention_class: Some("security"),
        risk_score: Some(0.75),
        ..AuditContext::default()
    };
    let event = AuditEvent::from_decision(&record(), &ctx);
    assert_eq!(event.event_type, "authorization_denied");
    assert_eq!(event.resource.as_deref(), Some("mcp://fs/read_file"));
    assert_eq!(event.action, "tools/call");
    assert_eq!(event.outcome, "deny");
    assert_eq!(event.deny_code.as_deref(), Some("tool_not_allowed"));
    assert_eq!(event.findings.len(), 1);
    let req = event.request.as_ref().unwrap();
    assert_eq!(req.argument_keys, vec!["mode", "path"]);
    assert_eq!(
        req.arguments_sha256.as_deref(),
        Some(
            arguments_digest(&json!({"mode": "r", "path": "/etc/shadow"}))
                .unwrap()
                .as_str()
        )
    );
    let text = crate::canonical::to_canonical_json(&event).unwrap();
    assert!(
        !text.contains("/etc/shadow"),
        "raw arguments leaked: {text}"
    );
    let back: AuditEvent = serde_json::from_str(&text).unwrap();
    assert_eq!(back, event);
}

#[test]
fn direct_serialisation_is_canonical() {
    let args = json!({"b": 1, "a": [1.5, "x\n\"y\""]});
    let ctx = AuditContext {
        tenant: Some("acme"),
        source_ip: Some("10.0.0.5"),
        user_agent: Some("ua \u{e9}"),
        arguments: Some(&args),
        response: Some(ResponseSummary {
            is_error: true,
            content_items: Some(2),
            bytes: Some(9),
        }),
        findings: vec![Finding {
            source: "secrets".into(),
            outcome: "rewrite".into(),
            reason: Some("aws key".into()),
            duration_ns: 3,
        }],
        compliance_tags: vec!["gdpr".into()],
        risk_score: Some(0.125),
        trust_score: Some(1e-7),
        ..AuditContext::default()
    };
    let mut event = AuditEvent::from_decision(&record(), &ctx);
    event.purge = Some(PurgeRecord {
        runs: vec![PurgedRun {
            first_seq: 1,
            last_seq: 2,
            hash_before: "00".into(),
            hash_last: "11".into(),
            hashes_sha256: "22".into(),
        }],
        deleted: 2,
        cutoffs: vec![PurgeCutoff {
            class: "debug".into(),
            before_unix_ms: 5,
        }],
    });
    let direct = serde_json::to_string(&event).unwrap();
    assert_eq!(direct, crate::canonical::to_canonical_json(&event).unwrap());
    let minimal = AuditEvent::new("mcp_request", "a", "tools/list", "allow");
    assert_eq!(
        serde_json::to_string(&minimal).unwrap(),
        crate::canonical::to_canonical_json(&minimal).unwrap()
    );
}

#[test]
fn event_ids_are_time_ordered_uuid_v7() {
    let ids: Vec<String> = (0..1000).map(|_| new_event_id()).collect();
    for id in &ids {
        let uuid = uuid::Uuid::parse_str(id).unwrap();
        assert_eq!(uuid.get_version_num(), 7, "{id}");
    }
    // Ascending within a process: inserts land at the right edge of the event-id index.
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let event = AuditEvent::new("mcp_request", "alice", "tools/call", "allow");
    assert_eq!(
        uuid::Uuid::parse_str(&event.id).unwrap().get_version_num(),
        7
    );
}
