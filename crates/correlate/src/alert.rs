//! The engine's output.

use serde::{Deserialize, Serialize};

use crate::action::CorrelationAction;
use crate::compile::RuleMeta;
use crate::config::Severity;
use crate::event::{CorrelationEvent, KeyField};

/// A rule fired for one key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Alert {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's title.
    pub title: String,
    /// The rule's severity.
    pub severity: Severity,
    /// The rule's MITRE ATT&CK and ATLAS ids.
    pub mitre: Vec<String>,
    /// The key the rule fired for: one entry per `group_by` field, in order.
    pub key: Vec<KeyValue>,
    /// Time of the first event that made the rule fire (ms since the epoch).
    pub first_ms: u64,
    /// Time of the last one (for absence rules: when the wait ended).
    pub last_ms: u64,
    /// Threshold: events in the window; distinct: different values; sequence: steps;
    /// absence: 1.
    pub count: u32,
    /// What the gateway should do.
    pub actions: Vec<CorrelationAction>,
    /// Up to 8 of the events behind the alert, oldest first.
    pub evidence: Vec<Evidence>,
}

impl Alert {
    /// The key's value for `field`, if the rule groups by it.
    pub fn key_value(&self, field: KeyField) -> Option<&str> {
        self.key
            .iter()
            .find(|entry| entry.field == field)
            .map(|entry| entry.value.as_str())
    }

    /// An alert of `rule` for the key in `key`.
    pub(crate) fn new(rule: &RuleMeta, key: Vec<KeyValue>, span: AlertSpan) -> Self {
        Self {
            rule_id: rule.id.clone(),
            title: rule.title.clone(),
            severity: rule.severity,
            mitre: rule.mitre.clone(),
            key,
            first_ms: span.first_ms,
            last_ms: span.last_ms,
            count: span.count,
            actions: rule.actions.clone(),
            evidence: span.evidence,
        }
    }
}

/// The part of an alert a detector works out.
#[derive(Debug)]
pub(crate) struct AlertSpan {
    pub(crate) first_ms: u64,
    pub(crate) last_ms: u64,
    pub(crate) count: u32,
    pub(crate) evidence: Vec<Evidence>,
}

/// One field of an alert's key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct KeyValue {
    /// The field.
    pub field: KeyField,
    /// Its value.
    pub value: String,
}

/// The key values of `event` for `fields` (every field is present: the event was keyed).
pub(crate) fn key_of(event: &CorrelationEvent<'_>, fields: &[KeyField]) -> Vec<KeyValue> {
    fields
        .iter()
        .map(|&field| KeyValue {
            field,
            value: event.field(field).unwrap_or_default().to_owned(),
        })
        .collect()
}

/// One event behind an alert (names cut to 64 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Evidence {
    /// When it happened (ms since the epoch).
    pub time_ms: u64,
    /// Its kind.
    pub kind: String,
    /// Its tool, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// For distinct rules: the value counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}
