//! ArcSight Common Event Format (CEF) rendering.

use crate::chain::ChainEntry;
use crate::event::AuditEvent;
use crate::export::ExportError;

/// `CEF:0|Sallyport|Sallyport|0.1|<event type>|<name>|<severity>|<extension>`.
pub fn to_cef(entry: &ChainEntry) -> Result<String, ExportError> {
    let event = entry.event().map_err(|source| ExportError::BadEvent {
        seq: entry.seq,
        source,
    })?;
    Ok(render(entry, &event))
}

fn render(entry: &ChainEntry, event: &AuditEvent) -> String {
    let name = format!("{} {}", event.action, event.outcome);
    let mut ext = Extension::default();
    ext.put("rt", Some(event.time_unix_ms.to_string()));
    ext.put("externalId", Some(event.id.clone()));
    ext.put("suser", Some(event.principal.clone()));
    ext.put("src", event.source_ip.clone());
    ext.put("requestClientApplication", event.user_agent.clone());
    ext.put("act", Some(event.action.clone()));
    ext.put("outcome", Some(event.outcome.clone()));
    ext.put("request", event.resource.clone());
    ext.put("reason", event.reason.clone());
    ext.labelled("cs1", "tenant", event.tenant.clone());
    ext.labelled("cs2", "session", event.session.clone());
    let tags = (!event.compliance_tags.is_empty()).then(|| event.compliance_tags.join(","));
    ext.labelled("cs3", "complianceTags", tags);
    let digest = event
        .request
        .as_ref()
        .and_then(|r| r.arguments_sha256.clone());
    ext.labelled("cs4", "argumentsSha256", digest);
    ext.labelled("cs5", "chainHash", Some(hex::encode(entry.hash)));
    ext.labelled("cs6", "denyCode", event.deny_code.clone());
    ext.labelled("cn1", "seq", Some(entry.seq.to_string()));
    ext.labelled("cfp1", "riskScore", event.risk_score.map(|s| s.to_string()));
    format!(
        "CEF:0|Sallyport|Sallyport|0.1|{}|{}|{}|{}",
        escape_header(&event.event_type),
        escape_header(&name),
        event.severity(),
        ext.0
    )
}

#[derive(Default)]
struct Extension(String);

impl Extension {
    fn put(&mut self, key: &str, value: Option<String>) {
        if let Some(value) = value {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            self.0.push_str(key);
            self.0.push('=');
            self.0.push_str(&escape_value(&value));
        }
    }

    fn labelled(&mut self, key: &str, label: &str, value: Option<String>) {
        if value.is_some() {
            self.put(&format!("{key}Label"), Some(label.to_owned()));
            self.put(key, value);
        }
    }
}

/// Header fields: backslash and pipe are escaped; line breaks become spaces.
pub fn escape_header(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Extension values: backslash and equals are escaped; line breaks as `\n` / `\r`.
pub fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::chain::{EncodedEvent, GENESIS_HASH};

    #[test]
    fn cef_escapes_header_and_extension() {
        let mut event = AuditEvent::new("authorization_denied", "alice|bob", "tools/call", "deny");
        event.reason = Some("a=b\\c\nnext".into());
        event.resource = Some("mcp://fs/read_file".into());
        event.compliance_tags = vec!["gdpr".into(), "sox".into()];
        let entry = EncodedEvent::new(&event).unwrap().seal(3, GENESIS_HASH);
        let line = to_cef(&entry).unwrap();
        assert!(
            line.starts_with(
                "CEF:0|Sallyport|Sallyport|0.1|authorization_denied|tools/call deny|5|"
            ),
            "{line}"
        );
        assert!(line.contains("suser=alice|bob"), "{line}");
        assert!(line.contains(r"reason=a\=b\\c\nnext"), "{line}");
        assert!(
            line.contains("cs3Label=complianceTags cs3=gdpr,sox"),
            "{line}"
        );
        assert!(line.contains("cn1Label=seq cn1=3"), "{line}");
        assert_eq!(escape_header("x|y\\z"), r"x\|y\\z");
        assert!(!line.contains('\n'));
    }
}
