//! Every shipped rule fires exactly once on a scripted attack, with the right key and
//! MITRE ids, and stays quiet on a benign replay of similar traffic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sallyport_correlate::{
    Alert, CorrelationAction, CorrelationConfig, CorrelationEvent, Engine, KeyField,
};

/// 2023-11-14T22:13:20Z.
const T0: u64 = 1_700_000_000_000;
const SECOND: u64 = 1_000;
const MINUTE: u64 = 60 * SECOND;

fn engine() -> Engine {
    Engine::new(CorrelationConfig::default().compile().unwrap())
}

/// Feeds the events in order, then ticks well past every window; returns every alert.
fn replay(events: &[CorrelationEvent<'_>]) -> Vec<Alert> {
    let mut engine = engine();
    let mut alerts = Vec::new();
    for event in events {
        engine.observe_into(event, &mut alerts);
    }
    let end = events.iter().map(|e| e.time_ms).max().unwrap_or(T0);
    alerts.extend(engine.tick(end + 24 * 60 * MINUTE));
    alerts
}

/// The only alert raised, which must be `rule_id`'s.
fn single_alert(alerts: Vec<Alert>, rule_id: &str) -> Alert {
    let ids: Vec<&str> = alerts.iter().map(|a| a.rule_id.as_str()).collect();
    assert_eq!(ids, [rule_id], "expected exactly one alert, from {rule_id}");
    alerts.into_iter().next().unwrap()
}

fn assert_quiet(alerts: &[Alert]) {
    let ids: Vec<&str> = alerts.iter().map(|a| a.rule_id.as_str()).collect();
    assert!(ids.is_empty(), "benign traffic raised {ids:?}");
}

fn auth_failed(
    time_ms: u64,
    ip: &'static str,
    principal: &'static str,
) -> CorrelationEvent<'static> {
    CorrelationEvent::new("authentication_failed", time_ms)
        .with_source_ip(ip)
        .with_principal(principal)
        .with_auth_method("api_key")
        .with_outcome("deny")
}

fn tool_call(
    time_ms: u64,
    principal: &'static str,
    tool: &'static str,
) -> CorrelationEvent<'static> {
    CorrelationEvent::new("tool_call", time_ms)
        .with_principal(principal)
        .with_tool(tool)
        .with_server("upstream")
        .with_session("session-1")
        .with_outcome("allow")
}

fn principal_name(n: usize) -> &'static str {
    Box::leak(format!("user-{n}").into_boxed_str())
}

#[test]
fn brute_force_fires_once_on_a_burst_from_one_address() {
    let attack: Vec<_> = (0..30)
        .map(|i| auth_failed(T0 + i * SECOND, "203.0.113.7", "unauthenticated"))
        .collect();
    let alert = single_alert(replay(&attack), "brute_force");
    assert_eq!(alert.key_value(KeyField::SourceIp), Some("203.0.113.7"));
    assert_eq!(alert.mitre, ["T1110"]);
    assert_eq!(alert.count, 10);
    assert_eq!((alert.first_ms, alert.last_ms), (T0, T0 + 9 * SECOND));
    assert!(alert.actions.contains(&CorrelationAction::BlockIp {
        duration_secs: Some(3600)
    }));
    assert_eq!(alert.evidence.len(), 8);
    assert!(
        alert
            .evidence
            .iter()
            .all(|e| e.kind == "authentication_failed")
    );
}

#[test]
fn brute_force_stays_quiet_when_failures_are_spread_or_scattered() {
    // The same thirty failures from one address, one a minute.
    let spread: Vec<_> = (0..30)
        .map(|i| auth_failed(T0 + i * MINUTE, "203.0.113.7", "alice"))
        .collect();
    assert_quiet(&replay(&spread));
    // Two hundred addresses mistyping twice each within the same minute.
    let ips: Vec<&'static str> = (0..200)
        .map(|n| &*Box::leak(format!("10.0.{}.{}", n / 250, n % 250).into_boxed_str()))
        .collect();
    let scattered: Vec<_> = (0..400)
        .map(|i| auth_failed(T0 + i as u64 * 100, ips[i % 200], "alice"))
        .collect();
    assert_quiet(&replay(&scattered));
}

#[test]
fn credential_stuffing_fires_once_on_many_identities_from_one_address() {
    let attack: Vec<_> = (0..15)
        .map(|n| {
            auth_failed(
                T0 + n as u64 * 10 * SECOND,
                "198.51.100.23",
                principal_name(n),
            )
        })
        .collect();
    let alert = single_alert(replay(&attack), "credential_stuffing");
    assert_eq!(alert.key_value(KeyField::SourceIp), Some("198.51.100.23"));
    assert_eq!(alert.mitre, ["T1110.003", "T1110.004"]);
    assert_eq!(alert.count, 10);
    let values: Vec<_> = alert
        .evidence
        .iter()
        .filter_map(|e| e.value.as_deref())
        .collect();
    assert_eq!(values.len(), 8);
    assert_eq!(values.last(), Some(&"user-9"));
}

#[test]
fn credential_stuffing_stays_quiet_for_an_office_behind_one_address() {
    // Twelve colleagues behind one NAT address each mistype once over two hours, and one
    // of them three times in a row.
    let mut events: Vec<_> = (0..12)
        .map(|n| auth_failed(T0 + n as u64 * 10 * MINUTE, "192.0.2.1", principal_name(n)))
        .collect();
    events.extend((0..3).map(|i| auth_failed(T0 + 5 * MINUTE + i * SECOND, "192.0.2.1", "user-3")));
    events.sort_by_key(|e| e.time_ms);
    assert_quiet(&replay(&events));
}

#[test]
fn tool_scanning_fires_once_when_one_principal_probes_many_tools() {
    let tools = [
        "delete_repo",
        "admin_users",
        "read_secrets",
        "exec_shell",
        "drop_table",
        "list_keys",
        "write_config",
        "shutdown",
    ];
    let attack: Vec<_> = tools
        .iter()
        .enumerate()
        .map(|(i, tool)| {
            CorrelationEvent::new("authorization_denied", T0 + i as u64 * 5 * SECOND)
                .with_principal("mallory")
                .with_tool(tool)
                .with_outcome("deny")
        })
        .collect();
    let alert = single_alert(replay(&attack), "tool_scanning");
    assert_eq!(alert.key_value(KeyField::Principal), Some("mallory"));
    assert_eq!(alert.mitre, ["T1046", "AML.T0084.001"]);
    let probed: Vec<_> = alert
        .evidence
        .iter()
        .filter_map(|e| e.value.as_deref())
        .collect();
    assert_eq!(probed, tools[..5]);
}

#[test]
fn tool_scanning_stays_quiet_for_repeated_denials_on_the_same_tools() {
    let tools = ["delete_repo", "admin_users"];
    let mut events: Vec<_> = (0..20)
        .map(|i| {
            CorrelationEvent::new("authorization_denied", T0 + i as u64 * 10 * SECOND)
                .with_principal("bob")
                .with_tool(tools[i % 2])
        })
        .collect();
    // Alice is denied on eight different tools, but over a working day.
    let other = ["a", "b", "c", "d", "e", "f", "g", "h"];
    events.extend(other.iter().enumerate().map(|(i, tool)| {
        CorrelationEvent::new("authorization_denied", T0 + i as u64 * 60 * MINUTE)
            .with_principal("alice")
            .with_tool(tool)
    }));
    events.sort_by_key(|e| e.time_ms);
    assert_quiet(&replay(&events));
}

#[test]
fn privilege_escalation_fires_once_on_repeated_attempts() {
    let attack: Vec<_> = (0..6)
        .map(|i| {
            CorrelationEvent::new("privilege_escalation_attempt", T0 + i * 20 * SECOND)
                .with_principal("eve")
                .with_tool("delete_user")
                .with_action("delete")
        })
        .collect();
    let alert = single_alert(replay(&attack), "privilege_escalation");
    assert_eq!(alert.key_value(KeyField::Principal), Some("eve"));
    assert_eq!(alert.mitre, ["T1068", "T1078"]);
    assert!(
        alert
            .actions
            .contains(&CorrelationAction::InvalidateSessions)
    );
    assert_eq!(alert.evidence[0].tool.as_deref(), Some("delete_user"));
}

#[test]
fn privilege_escalation_stays_quiet_for_an_occasional_mistake() {
    let events: Vec<_> = (0..5)
        .map(|i| {
            CorrelationEvent::new("privilege_escalation_attempt", T0 + i * 60 * MINUTE)
                .with_principal("eve")
        })
        .collect();
    assert_quiet(&replay(&events));
}

#[test]
fn exfiltration_chain_fires_once_on_flagged_read_then_egress() {
    let pii: &'static [&'static str] = &["pii"];
    let attack = vec![
        tool_call(T0, "agent-7", "query_customers").with_labels(pii),
        tool_call(T0 + 10 * SECOND, "agent-7", "list_files"),
        tool_call(T0 + 20 * SECOND, "agent-7", "summarize"),
        tool_call(T0 + 60 * SECOND, "agent-7", "http_post"),
        tool_call(T0 + 70 * SECOND, "agent-7", "http_post"),
    ];
    let alert = single_alert(replay(&attack), "exfiltration_chain");
    assert_eq!(alert.key_value(KeyField::Principal), Some("agent-7"));
    assert_eq!(alert.mitre, ["T1567", "AML.T0086", "AML.T0025"]);
    assert_eq!(alert.count, 2);
    assert_eq!((alert.first_ms, alert.last_ms), (T0, T0 + 60 * SECOND));
    let tools: Vec<_> = alert
        .evidence
        .iter()
        .filter_map(|e| e.tool.as_deref())
        .collect();
    assert_eq!(tools, ["query_customers", "http_post"]);
}

#[test]
fn exfiltration_chain_stays_quiet_without_read_then_egress_by_one_principal() {
    let secret: &'static [&'static str] = &["secret"];
    let events = vec![
        // A flagged read with no egress after it.
        tool_call(T0, "agent-1", "read_env").with_labels(secret),
        tool_call(T0 + SECOND, "agent-1", "summarize"),
        // Egress first, flagged read after.
        tool_call(T0 + 2 * SECOND, "agent-2", "fetch"),
        tool_call(T0 + 3 * SECOND, "agent-2", "read_env").with_labels(secret),
        // Read by one principal, egress by another.
        tool_call(T0 + 4 * SECOND, "agent-3", "read_env").with_labels(secret),
        tool_call(T0 + 5 * SECOND, "agent-4", "http_get"),
        // Unflagged read, then egress: ordinary agent work.
        tool_call(T0 + 6 * SECOND, "agent-5", "read_file"),
        tool_call(T0 + 7 * SECOND, "agent-5", "http_get"),
        // Flagged read, egress only after the window.
        tool_call(T0 + 8 * SECOND, "agent-6", "read_env").with_labels(secret),
        tool_call(T0 + 30 * MINUTE, "agent-6", "send_email"),
    ];
    assert_quiet(&replay(&events));
}

#[test]
fn secret_read_then_egress_fires_once_on_a_vault_read_then_mail() {
    let attack = vec![
        tool_call(T0, "agent-9", "vault_get_secret"),
        tool_call(T0 + 30 * SECOND, "agent-9", "list_files"),
        tool_call(T0 + 2 * MINUTE, "agent-9", "send_email"),
        tool_call(T0 + 3 * MINUTE, "agent-9", "Send_Email"),
    ];
    let alert = single_alert(replay(&attack), "secret_read_then_egress");
    assert_eq!(alert.key_value(KeyField::Principal), Some("agent-9"));
    assert_eq!(alert.mitre, ["T1552", "T1567", "AML.T0086"]);
}

#[test]
fn secret_read_then_egress_stays_quiet_for_ordinary_reads_and_local_work() {
    let events = vec![
        tool_call(T0, "agent-1", "read_file"),
        tool_call(T0 + SECOND, "agent-1", "http_get"),
        tool_call(T0 + 2 * SECOND, "agent-2", "get_secret"),
        tool_call(T0 + 3 * SECOND, "agent-2", "list_files"),
        tool_call(T0 + 4 * SECOND, "agent-2", "postgres_query"),
    ];
    assert_quiet(&replay(&events));
}

#[test]
fn repeated_detector_hits_fire_once_on_a_burst_of_injections() {
    let labels: &'static [&'static str] = &["prompt_injection"];
    let attack: Vec<_> = (0..5)
        .map(|i| {
            let kind = if i % 2 == 0 {
                "threat_detected"
            } else {
                "suspicious_pattern"
            };
            CorrelationEvent::new(kind, T0 + i * 30 * SECOND)
                .with_principal("agent-3")
                .with_tool("fetch")
                .with_labels(labels)
        })
        .collect();
    let alert = single_alert(replay(&attack), "repeated_detector_hits");
    assert_eq!(alert.key_value(KeyField::Principal), Some("agent-3"));
    assert_eq!(alert.mitre, ["AML.T0051", "AML.T0054"]);
    let kinds: Vec<_> = alert.evidence.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["threat_detected", "suspicious_pattern", "threat_detected"]
    );
}

#[test]
fn repeated_detector_hits_stay_quiet_for_sparse_hits() {
    let events: Vec<_> = (0..6)
        .map(|i| {
            CorrelationEvent::new("threat_detected", T0 + i * 10 * MINUTE).with_principal("agent-3")
        })
        .collect();
    assert_quiet(&replay(&events));
}

/// A deterministic day of ordinary traffic: many principals calling tools (reads, fetches,
/// writes), an occasional failed login, denial or detector hit. Nothing should fire.
#[test]
fn a_day_of_benign_traffic_raises_nothing() {
    let tools = [
        "read_file",
        "list_files",
        "http_get",
        "search",
        "write_file",
        "summarize",
    ];
    let principals: Vec<&'static str> = (0..50).map(principal_name).collect();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut events = Vec::new();
    for i in 0..20_000u64 {
        let time = T0 + i * 4 * SECOND;
        let principal = principals[(next() % 50) as usize];
        let roll = next() % 1000;
        let event = match roll {
            0..=2 => auth_failed(time, "192.0.2.1", principal),
            3..=4 => CorrelationEvent::new("authorization_denied", time)
                .with_principal(principal)
                .with_tool(tools[(next() % 6) as usize]),
            5 => CorrelationEvent::new("threat_detected", time).with_principal(principal),
            _ => tool_call(time, principal, tools[(next() % 6) as usize]),
        };
        events.push(event);
    }
    assert_quiet(&replay(&events));
}
