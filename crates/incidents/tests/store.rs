//! Grouping alerts into incidents, and the operators' state changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sallyport_incidents::{IncidentError, IncidentState, IncidentStore, NewAlert};

const HOUR: u64 = 3_600_000;

fn alert(key: &str, rule: &str, severity: &str, at: u64) -> NewAlert {
    NewAlert {
        key: key.into(),
        rule_id: rule.into(),
        title: format!("{rule} title"),
        severity: severity.into(),
        mitre: vec![format!("M-{rule}")],
        time_ms: at,
        detail: format!("{{\"rule\":\"{rule}\"}}"),
    }
}

#[test]
fn alerts_for_one_key_group_and_other_keys_stay_apart() {
    let store = IncidentStore::in_memory().unwrap();
    let a = store
        .record(
            &alert("principal=mallory", "tool_scanning", "high", 1_000),
            HOUR,
        )
        .unwrap();
    let b = store
        .record(
            &alert("principal=mallory", "exfiltration_chain", "critical", 2_000),
            HOUR,
        )
        .unwrap();
    let c = store
        .record(
            &alert("source_ip=203.0.113.7", "brute_force", "high", 3_000),
            HOUR,
        )
        .unwrap();
    assert_eq!(a.id, b.id);
    assert_ne!(a.id, c.id);
    assert_eq!(b.severity, "critical", "the highest severity wins");
    assert_eq!(b.rules, ["tool_scanning", "exfiltration_chain"]);
    assert_eq!(b.mitre, ["M-tool_scanning", "M-exfiltration_chain"]);
    assert_eq!(store.alerts(&a.id).unwrap().len(), 2);
    assert_eq!(store.list(false, 10).unwrap().len(), 2);
    // Past the grouping window: a new incident.
    let d = store
        .record(
            &alert(
                "principal=mallory",
                "tool_scanning",
                "high",
                2_000 + HOUR + 1,
            ),
            HOUR,
        )
        .unwrap();
    assert_ne!(d.id, a.id);
}

#[test]
fn open_acknowledged_resolved_and_a_resolved_incident_takes_no_more_alerts() {
    let store = IncidentStore::in_memory().unwrap();
    let i = store.record(&alert("k", "r", "high", 1), HOUR).unwrap();
    let acked = store
        .acknowledge(&i.id, "olga", Some("looking"), 2)
        .unwrap();
    assert_eq!(acked.state, IncidentState::Acknowledged);
    assert_eq!(acked.acknowledged_by.as_deref(), Some("olga"));
    // Still joins while acknowledged.
    assert_eq!(
        store.record(&alert("k", "r", "high", 3), HOUR).unwrap().id,
        i.id
    );
    let err = store.acknowledge(&i.id, "olga", None, 4).unwrap_err();
    assert!(
        matches!(
            err,
            IncidentError::WrongState {
                state: "acknowledged",
                ..
            }
        ),
        "{err}"
    );
    let resolved = store
        .resolve(&i.id, "olga", Some("key rotated"), 5)
        .unwrap();
    assert_eq!(resolved.state, IncidentState::Resolved);
    assert_eq!(resolved.note.as_deref(), Some("key rotated"));
    assert!(store.list(false, 10).unwrap().is_empty());
    assert_eq!(store.list(true, 10).unwrap().len(), 1);
    let next = store.record(&alert("k", "r", "high", 6), HOUR).unwrap();
    assert_ne!(next.id, i.id, "a resolved incident takes no more alerts");
    let err = store.resolve("nope", "olga", None, 7).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no incident nope; `sallyport incidents list --all` shows the ids"
    );
}

#[test]
fn the_cli_and_the_gateway_share_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("incidents.db");
    let gateway = IncidentStore::open(&path).unwrap();
    let cli = IncidentStore::open(&path).unwrap();
    let i = gateway.record(&alert("k", "r", "high", 1), HOUR).unwrap();
    cli.acknowledge(&i.id, "olga", None, 2).unwrap();
    assert_eq!(
        gateway.get(&i.id).unwrap().unwrap().state,
        IncidentState::Acknowledged
    );
}
