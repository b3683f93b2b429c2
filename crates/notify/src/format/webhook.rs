//! The generic webhook body: a stable, versioned JSON object (documented in
//! docs/notifications.md; change it only with a new `schema` value).

use serde_json::{Value, json};

use crate::format::key_object;
use crate::notification::Notification;

/// Value of the body's `schema` field.
pub(crate) const SCHEMA: &str = "sallyport.notification.v1";

pub(super) fn body(notification: &Notification) -> Value {
    json!({
        "schema": SCHEMA,
        "id": notification.id,
        "time": notification.time_rfc3339(),
        "time_ms": notification.time_ms,
        "rule_id": notification.rule_id,
        "severity": notification.severity,
        "title": notification.title,
        "summary": notification.summary,
        "key": key_object(notification),
        "mitre": notification.mitre,
        "actions_taken": notification.actions_taken,
        "incident_id": notification.incident_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_in_a_stable_order() {
        let text = body(&crate::test_notification()).to_string();
        assert_eq!(
            text,
            concat!(
                r#"{"schema":"sallyport.notification.v1","id":"n-1","time":"2023-11-14T22:13:20.000Z","#,
                r#""time_ms":1700000000000,"rule_id":"credential_stuffing","severity":"high","#,
                r#""title":"Credential stuffing","summary":"12 failed logins in 60 s","#,
                r#""key":{"principal":"alice","client_ip":"203.0.113.7"},"mitre":["T1110"],"#,
                r#""actions_taken":["blocked principal alice for 3600 s"],"incident_id":"inc-7"}"#
            )
        );
    }
}
