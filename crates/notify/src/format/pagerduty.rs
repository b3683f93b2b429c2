//! A PagerDuty Events API v2 `trigger` event.
//!
//! Field names and limits follow PagerDuty's "Send an Alert Event" reference: `summary` at
//! most 1,024 characters, `dedup_key` at most 255, `severity` one of `critical`, `error`,
//! `warning`, `info`.

use aws_lc_rs::digest;
use serde_json::{Value, json};

use crate::format::key_object;
use crate::notification::{Notification, Severity, truncate_chars};

const SUMMARY_MAX_CHARS: usize = 1_024;
const DEDUP_KEY_MAX_CHARS: usize = 255;
/// `payload.source`: the system the event is about.
pub(crate) const SOURCE: &str = "sallyport";
/// `payload.component`: the part of Sallyport that raised the event.
pub(crate) const COMPONENT: &str = "response_orchestrator";
/// `payload.group`: the logical group of the event.
pub(crate) const GROUP: &str = "security";

pub(super) fn event(notification: &Notification, routing_key: &str) -> Value {
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key(notification),
        "payload": {
            "summary": summary(notification),
            "source": SOURCE,
            "severity": severity(notification.severity),
            "timestamp": notification.time_rfc3339(),
            "component": COMPONENT,
            "group": GROUP,
            "class": notification.rule_id,
            "custom_details": {
                "event_id": notification.id,
                "rule_id": notification.rule_id,
                "severity": notification.severity,
                "title": notification.title,
                "summary": notification.summary,
                "key": key_object(notification),
                "mitre": notification.mitre,
                "actions_taken": notification.actions_taken,
                "incident_id": notification.incident_id,
            },
        },
        "client": "Sallyport",
    })
}

/// `high` has no PagerDuty equivalent; it maps to `error`, between `warning` and `critical`.
fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::High => "error",
        Severity::Critical => "critical",
    }
}

fn summary(notification: &Notification) -> String {
    let text = if notification.summary.is_empty() {
        notification.title.clone()
    } else {
        format!("{}: {}", notification.title, notification.summary)
    };
    truncate_chars(&text, SUMMARY_MAX_CHARS)
}

/// The incident id when there is one, so every alert of an incident lands on one PagerDuty
/// alert; otherwise `<rule_id>:<name>=<value>,…`, so repeats of one rule for one key do.
/// A key longer than PagerDuty accepts is replaced by `sha256:<hex>` of itself.
fn dedup_key(notification: &Notification) -> String {
    let key = match &notification.incident_id {
        Some(incident) => incident.clone(),
        None => {
            let dimensions: Vec<String> = notification
                .key
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            format!("{}:{}", notification.rule_id, dimensions.join(","))
        }
    };
    if key.chars().count() <= DEDUP_KEY_MAX_CHARS {
        return key;
    }
    let hash = digest::digest(&digest::SHA256, key.as_bytes());
    format!("sha256:{}", hex::encode(hash.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_key_prefers_the_incident_then_rule_and_key() {
        let mut n = crate::test_notification();
        assert_eq!(dedup_key(&n), "inc-7");
        n.incident_id = None;
        assert_eq!(
            dedup_key(&n),
            "credential_stuffing:principal=alice,client_ip=203.0.113.7"
        );
        n.key = vec![("principal".to_owned(), "a".repeat(300))];
        let long = dedup_key(&n);
        assert!(long.starts_with("sha256:") && long.len() == 71, "{long}");
    }

    #[test]
    fn severities_map_onto_pagerduty_levels() {
        assert_eq!(severity(Severity::Info), "info");
        assert_eq!(severity(Severity::Warning), "warning");
        assert_eq!(severity(Severity::High), "error");
        assert_eq!(severity(Severity::Critical), "critical");
    }

    #[test]
    fn the_summary_is_cut_to_1024_characters() {
        let mut n = crate::test_notification();
        n.summary = "é".repeat(5_000);
        assert_eq!(summary(&n).chars().count(), SUMMARY_MAX_CHARS);
        n.summary.clear();
        assert_eq!(summary(&n), "Credential stuffing");
    }
}
