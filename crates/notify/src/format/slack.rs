//! A Slack incoming-webhook message: `text` (the fallback shown in notifications) and Block
//! Kit `blocks` — a header, the summary, the key fields, MITRE ids, actions taken, and a
//! context line.
//!
//! Every attacker-influenced string goes into `mrkdwn` text escaped (`&`, `<`, `>`), so a
//! principal named `<!channel>` or `<https://evil|click>` cannot ping a channel or plant a
//! link. Texts are cut to Slack's limits: header 150 characters, section text 3,000,
//! field 2,000, at most 10 fields.

use serde_json::{Value, json};

use crate::notification::{Notification, Severity, truncate_chars};

const HEADER_MAX_CHARS: usize = 150;
const SECTION_MAX_CHARS: usize = 3_000;
const FIELD_MAX_CHARS: usize = 2_000;
const MAX_FIELDS: usize = 10;

pub(super) fn message(notification: &Notification) -> Value {
    let mut blocks = vec![
        header_block(notification),
        mrkdwn_section(&escape(&notification.summary)),
        fields_block(notification),
    ];
    if !notification.mitre.is_empty() {
        let ids: Vec<String> = notification.mitre.iter().map(|id| escape(id)).collect();
        blocks.push(mrkdwn_section(&format!(
            "*MITRE ATT&amp;CK*\n{}",
            ids.join(", ")
        )));
    }
    if !notification.actions_taken.is_empty() {
        let lines: Vec<String> = notification
            .actions_taken
            .iter()
            .map(|action| format!("• {}", escape(action)))
            .collect();
        blocks.push(mrkdwn_section(&format!(
            "*Actions taken*\n{}",
            lines.join("\n")
        )));
    }
    blocks.push(context_block(notification));
    json!({
        "text": escape(&format!(
            "[{}] {}",
            notification.severity.as_str().to_uppercase(),
            notification.title
        )),
        "blocks": blocks,
    })
}

fn header_block(notification: &Notification) -> Value {
    let text = format!(
        "{} {}: {}",
        emoji(notification.severity),
        notification.severity.as_str().to_uppercase(),
        notification.title
    );
    json!({
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": truncate_chars(&text, HEADER_MAX_CHARS),
            "emoji": true,
        },
    })
}

fn fields_block(notification: &Notification) -> Value {
    let mut fields = vec![field("Rule", &notification.rule_id)];
    if let Some(incident) = &notification.incident_id {
        fields.push(field("Incident", incident));
    }
    for (name, value) in &notification.key {
        if fields.len() == MAX_FIELDS {
            break;
        }
        fields.push(field(name, value));
    }
    json!({ "type": "section", "fields": fields })
}

fn field(label: &str, value: &str) -> Value {
    let text = format!("*{}*\n{}", escape(label), escape(value));
    json!({ "type": "mrkdwn", "text": truncate_chars(&text, FIELD_MAX_CHARS) })
}

fn mrkdwn_section(text: &str) -> Value {
    let text = if text.is_empty() { " " } else { text };
    json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": truncate_chars(text, SECTION_MAX_CHARS) },
    })
}

fn context_block(notification: &Notification) -> Value {
    let text = format!(
        "Sallyport · event {} · {}",
        escape(&notification.id),
        notification.time_rfc3339()
    );
    json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": truncate_chars(&text, FIELD_MAX_CHARS) }],
    })
}

fn emoji(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => ":information_source:",
        Severity::Warning => ":warning:",
        Severity::High => ":red_circle:",
        Severity::Critical => ":rotating_light:",
    }
}

/// Slack's three control characters in `mrkdwn` text.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_and_links_in_values_are_escaped() {
        let mut n = crate::test_notification();
        n.key = vec![(
            "principal".to_owned(),
            "<!channel> & <https://evil|x>".to_owned(),
        )];
        let text = message(&n).to_string();
        assert!(
            text.contains("&lt;!channel&gt; &amp; &lt;https://evil|x&gt;"),
            "{text}"
        );
        assert!(!text.contains("<!channel>"));
    }

    #[test]
    fn long_titles_and_many_fields_stay_within_limits() {
        let mut n = crate::test_notification();
        n.title = "x".repeat(500);
        n.key = (0..20).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        let message = message(&n);
        let header = message["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(header.chars().count(), HEADER_MAX_CHARS);
        let fields = message["blocks"][2]["fields"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(fields, MAX_FIELDS);
    }

    #[test]
    fn empty_lists_leave_their_blocks_out() {
        let mut n = crate::test_notification();
        n.mitre.clear();
        n.actions_taken.clear();
        n.summary.clear();
        let message = message(&n);
        let types: Vec<&str> = message["blocks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|block| block["type"].as_str())
            .collect();
        assert_eq!(types, ["header", "section", "section", "context"]);
        assert_eq!(message["blocks"][1]["text"]["text"], " ");
    }
}
