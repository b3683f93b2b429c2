//! Decision records as the correlation engine's events: which kind, which labels.

use sallyport_correlate::CorrelationEvent;
use sallyport_pipeline::{DecisionRecord, Direction, Outcome};

use crate::event::classify;

/// Guards whose reasons name detector rules (`secret.aws_access_key(AML.T0057) at …`).
const DETECTOR_GUARDS: [&str; 4] = [
    "tool_arguments",
    "tool_result",
    "tool_definition",
    "tool_flow",
];

/// Most labels taken from one record.
const MAX_LABELS: usize = 8;

/// The event kind a record means for correlation: its security event's kind, or
/// `tool_call` for a `tools/call` request that was let through; `None` for the rest.
pub fn correlation_kind(record: &DecisionRecord) -> Option<&'static str> {
    if let Some(event) = classify(record) {
        return Some(event.kind.as_str());
    }
    let allowed = matches!(record.outcome, Outcome::Allow | Outcome::Rewrite);
    (allowed
        && record.direction == Direction::ClientToServer
        && record.kind == "request"
        && record.method.as_deref() == Some("tools/call")
        && record.tool.is_some())
    .then_some("tool_call")
}

/// The finding classes detectors named in the record's guard reasons: the prefix of each
/// rule id (`secret.aws_access_key(…)` → `secret`, `pii.email(…)` → `pii`,
/// `inj.marker_tag(…)` → `inj`), at most 8, without repeats.
pub fn finding_labels(record: &DecisionRecord) -> Vec<&str> {
    let mut labels: Vec<&str> = Vec::new();
    let reasons = record
        .guards
        .iter()
        .filter(|g| DETECTOR_GUARDS.contains(&g.guard))
        .filter_map(|g| g.reason.as_deref());
    for reason in reasons {
        for word in reason.split([' ', ';', ',', ':']) {
            let Some((rule, _)) = word.split_once('(') else {
                continue;
            };
            let Some((class, _)) = rule.split_once('.') else {
                continue;
            };
            let plain =
                !class.is_empty() && class.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            if plain && !labels.contains(&class) && labels.len() < MAX_LABELS {
                labels.push(class);
            }
        }
    }
    labels
}

/// The correlation event for `record` of `kind`, borrowing its fields; `ip` is the
/// record's source address as text, `labels` its finding labels.
pub fn correlation_event<'a>(
    record: &'a DecisionRecord,
    kind: &'a str,
    ip: Option<&'a str>,
    labels: &'a [&'a str],
) -> CorrelationEvent<'a> {
    CorrelationEvent {
        kind,
        time_ms: record.time_unix_ms,
        principal: Some(record.principal.as_str()),
        source_ip: ip,
        session: record.session_id.as_deref(),
        server: record.server.as_deref(),
        tool: record.tool.as_deref(),
        tenant: record.tenant.as_deref(),
        outcome: Some(record.outcome.as_str()),
        action: None,
        auth_method: Some(record.auth_method),
        labels,
    }
}
