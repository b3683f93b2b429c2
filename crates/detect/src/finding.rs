//! Findings: what every detector reports, shaped to fit a decision record.

use std::ops::Range;

use serde::Serialize;

/// What kind of threat a finding is about. Names are API (audit, metrics, config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Hidden instructions or exfiltration channels in a tool or prompt definition.
    ToolPoisoning,
    /// Text that tries to steer the model (instructions, fake role turns).
    PromptInjection,
    /// Credentials: API keys, tokens, private keys.
    Secret,
    /// Personal data: emails, phone numbers, payment cards, national ids.
    Pii,
    /// Code meant to be evaluated (`eval(`, `__import__`, `<script>`).
    CodeInjection,
    /// Shell metacharacters chaining commands.
    CommandInjection,
    /// SQL injection shapes.
    Sql,
    /// `../` and its encodings.
    PathTraversal,
    /// Paths to credentials and system secrets (`~/.ssh`, `/etc/shadow`, `.env`).
    SensitivePath,
    /// URLs aimed at private, loopback, link-local or metadata addresses.
    Ssrf,
    /// Invisible characters: zero-width, Unicode tags, bidi controls.
    HiddenText,
    /// A definition that references or imitates another server's tools.
    Shadowing,
    /// A name that looks like another one (`read_fiIe` vs `read_file`).
    Confusable,
    /// Data leaving through a side channel (markdown image URLs with data).
    Exfiltration,
    /// Arguments that do not match the tool's input schema.
    SchemaViolation,
    /// Output larger than allowed.
    Oversized,
    /// Encoded payloads (base64, hex, percent-encoding) hiding text.
    Encoded,
}

impl Class {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ToolPoisoning => "tool_poisoning",
            Self::PromptInjection => "prompt_injection",
            Self::Secret => "secret",
            Self::Pii => "pii",
            Self::CodeInjection => "code_injection",
            Self::CommandInjection => "command_injection",
            Self::Sql => "sql",
            Self::PathTraversal => "path_traversal",
            Self::SensitivePath => "sensitive_path",
            Self::Ssrf => "ssrf",
            Self::HiddenText => "hidden_text",
            Self::Shadowing => "shadowing",
            Self::Confusable => "confusable",
            Self::Exfiltration => "exfiltration",
            Self::SchemaViolation => "schema_violation",
            Self::Oversized => "oversized",
            Self::Encoded => "encoded",
        }
    }
}

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth recording, never worth blocking on its own.
    Info,
    /// Weak signal.
    Low,
    /// Suspicious; block in strict deployments.
    Medium,
    /// Almost certainly an attack or a leak.
    High,
    /// An attack or leak with a direct path to damage.
    Critical,
}

/// One thing a detector found. Safe to put in an audit record: `excerpt` is redacted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable rule id, `family.name` (e.g. `poison.hidden_instruction`, `secret.aws_access_key`).
    pub rule_id: &'static str,
    /// The threat class.
    pub class: Class,
    /// How bad it is.
    pub severity: Severity,
    /// The MITRE ATLAS technique, when one fits.
    pub atlas: Option<&'static str>,
    /// JSON pointer (RFC 6901) to the string leaf or member; empty for plain text.
    pub path: String,
    /// Byte range of the match in the original string leaf, when it is exact there
    /// (matches found only after normalisation or decoding have none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Range<usize>>,
    /// The matched text, redacted for secrets and personal data, truncated otherwise.
    pub excerpt: String,
    /// Confidence in `[0, 1]`.
    pub score: f32,
}

impl Finding {
    /// A finding with no span, no ATLAS id and an empty path.
    pub fn new(rule_id: &'static str, class: Class, severity: Severity, score: f32) -> Self {
        Self {
            rule_id,
            class,
            severity,
            atlas: class.default_atlas(),
            path: String::new(),
            span: None,
            excerpt: String::new(),
            score,
        }
    }

    /// Set the excerpt from matched text, made safe to log.
    pub fn with_excerpt(mut self, matched: &str) -> Self {
        self.excerpt = if matches!(self.class, Class::Secret | Class::Pii) {
            mask(matched)
        } else {
            truncate_for_log(matched)
        };
        self
    }

    /// Set the exact byte range in the original leaf.
    pub fn with_span(mut self, span: Range<usize>) -> Self {
        self.span = Some(span);
        self
    }

    /// Set the JSON pointer.
    pub fn at(mut self, path: &str) -> Self {
        path.clone_into(&mut self.path);
        self
    }

    /// The label used in typed redaction: the rule id after its family
    /// (`secret.aws_access_key` → `aws_access_key`).
    pub fn redaction_label(&self) -> &'static str {
        self.rule_id
            .split_once('.')
            .map_or(self.rule_id, |(_, name)| name)
    }
}

impl Class {
    /// The MITRE ATLAS technique most findings of this class map to.
    pub fn default_atlas(self) -> Option<&'static str> {
        match self {
            // LLM Prompt Injection.
            Self::PromptInjection | Self::HiddenText | Self::Encoded => Some("AML.T0051"),
            // Poisoned tool metadata is indirect prompt injection.
            Self::ToolPoisoning | Self::Shadowing => Some("AML.T0051.001"),
            // LLM Data Leakage.
            Self::Secret | Self::Pii | Self::Exfiltration => Some("AML.T0057"),
            Self::CodeInjection
            | Self::CommandInjection
            | Self::Sql
            | Self::PathTraversal
            | Self::SensitivePath
            | Self::Ssrf
            | Self::Confusable
            | Self::SchemaViolation
            | Self::Oversized => None,
        }
    }
}

/// Keep the first four characters (at most a quarter of the value) and mask the rest.
pub(crate) fn mask(matched: &str) -> String {
    let n = matched.chars().count();
    let keep = (n / 4).min(4);
    let mut out: String = matched.chars().take(keep).collect();
    out.push_str(&"*".repeat((n - keep).min(16)));
    if n > 20 {
        out.push_str(&format!("[{n}]"));
    }
    out
}

/// At most 80 characters, control characters replaced by `?`.
pub(crate) fn truncate_for_log(matched: &str) -> String {
    let mut out: String = matched
        .chars()
        .take(80)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if matched.chars().nth(80).is_some() {
        out.push('…');
    }
    out
}

/// The highest severity among findings, if any.
pub fn max_severity(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_in_excerpts() {
        let f = Finding::new("secret.aws_access_key", Class::Secret, Severity::High, 1.0)
            .with_excerpt("AKIAIOSFODNN7EXAMPLE");
        assert!(!f.excerpt.contains("IOSFODNN7EXAMPLE"), "{}", f.excerpt);
        assert!(f.excerpt.starts_with("AKIA"));
        assert_eq!(f.redaction_label(), "aws_access_key");
    }

    #[test]
    fn other_excerpts_are_truncated_and_controls_replaced() {
        let long = format!("ignore\nall{}", "x".repeat(200));
        let f =
            Finding::new("inj.x", Class::PromptInjection, Severity::High, 1.0).with_excerpt(&long);
        assert!(f.excerpt.starts_with("ignore?all"));
        assert!(f.excerpt.chars().count() <= 81);
    }
}
