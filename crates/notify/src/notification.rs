//! The notification: what the response orchestrator tells people about, and how severe it is.

use chrono::{DateTime, SecondsFormat, Utc};

/// How serious a notification is; a sink sends those at or above its `min_severity`.
pub use sallyport_correlate::Severity;

/// One alert to deliver: the gateway converts its correlation alerts into this.
///
/// Every field may hold text that an attacker influenced (a principal name, a tool name):
/// the Slack format escapes it, the other formats carry it as JSON strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Unique id of this notification; receivers use it to drop duplicates (a delivery can be
    /// retried after the receiver processed it but before its answer arrived).
    pub id: String,
    /// When the alert was raised, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Stable id of the rule that raised it (`"credential_stuffing"`).
    pub rule_id: String,
    /// One-line human title.
    pub title: String,
    /// How serious it is.
    pub severity: Severity,
    /// MITRE ATT&CK technique ids (`"T1110"`).
    pub mitre: Vec<String>,
    /// The correlation key, as named dimensions in order (`principal = alice`); names are
    /// expected to be unique.
    pub key: Vec<(String, String)>,
    /// A few sentences on what happened.
    pub summary: String,
    /// What the gateway already did about it (`"blocked principal alice for 3600 s"`).
    pub actions_taken: Vec<String>,
    /// The incident this alert belongs to, if the orchestrator opened or joined one.
    pub incident_id: Option<String>,
}

impl Notification {
    /// [`Notification::time_ms`] as RFC 3339 / ISO 8601 UTC with milliseconds
    /// (`2025-01-31T12:00:00.000Z`); out-of-range values render as the epoch.
    pub fn time_rfc3339(&self) -> String {
        i64::try_from(self.time_ms)
            .ok()
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

/// Cuts `text` to at most `max_chars` characters, ending with `…` when it was cut.
pub(crate) fn truncate_chars(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_are_ordered_from_info_to_critical() {
        assert!(Severity::Info < Severity::Warning);
        assert!(Severity::Warning < Severity::High);
        assert!(Severity::High < Severity::Critical);
        assert_eq!(Severity::High.to_string(), "high");
    }

    #[test]
    fn time_renders_as_utc_with_milliseconds() {
        let mut n = crate::test_notification();
        n.time_ms = 1_700_000_000_123;
        assert_eq!(n.time_rfc3339(), "2023-11-14T22:13:20.123Z");
        n.time_ms = u64::MAX;
        assert_eq!(n.time_rfc3339(), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate_chars("héllo", 5), "héllo");
        assert_eq!(truncate_chars("héllo wörld", 5), "héll…");
    }
}
