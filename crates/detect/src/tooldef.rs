//! Tool- and prompt-definition scanning (`tools/list`, `prompts/list`, server instructions):
//! hidden instructions, credential-reading orders, side-channel parameters, padding, length,
//! hidden characters, references to other servers' tools (shadowing) and look-alike names.

use serde::Serialize;
use serde_json::Value;

use crate::config::DetectConfig;
use crate::finding::{Class, Finding, Severity};
use crate::normalize::skeleton;
use crate::text_scan::{INJECTION, POISON, scan_views};
use crate::walk::{for_each_string, push_escaped};

/// A tool another upstream exposes, for shadowing and look-alike checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownTool<'a> {
    /// The upstream that exposes it.
    pub server: &'a str,
    /// Its upstream-local name.
    pub name: &'a str,
}

/// What one definition scan found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DefinitionReport {
    /// All findings.
    pub findings: Vec<Finding>,
}

impl DefinitionReport {
    /// Poisoned: any finding of High severity or worse, or Medium findings from two different
    /// rules (each weak alone — an odd parameter, a "before using" — together an attack).
    pub fn is_poisoned(&self) -> bool {
        if self.findings.iter().any(|f| f.severity >= Severity::High) {
            return true;
        }
        let mut medium: Vec<&str> = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Medium)
            .map(|f| f.rule_id)
            .collect();
        medium.sort_unstable();
        medium.dedup();
        medium.len() >= 2
    }

    /// The highest severity found.
    pub fn max_severity(&self) -> Option<Severity> {
        crate::finding::max_severity(&self.findings)
    }
}

/// Parameter names that serve as exfiltration channels when a tool has no use for them.
const SIDE_CHANNEL_PARAMS: &[&str] = &[
    "sidenote",
    "side_note",
    "note",
    "notes",
    "context",
    "feedback",
    "remark",
    "remarks",
    "comment",
    "extra",
    "extra_info",
    "additional_info",
    "additional_context",
    "metadata",
    "debug",
    "debug_info",
    "reasoning",
    "thoughts",
    "explanation",
    "details",
];
/// Parameter names that ask for the conversation or the model's instructions: always High.
const HARVEST_PARAMS: &[&str] = &[
    "conversation_history",
    "chat_history",
    "conversation",
    "system_prompt",
    "previous_messages",
    "full_conversation",
    "user_messages",
    "messages_so_far",
    "instructions_received",
    "memory_dump",
    "credentials",
    "api_key_value",
    "ssh_key",
    "private_key",
];
/// Words that make a mention of another server's tool an instruction about it.
const DIRECTIVES: &[&str] = &[
    "when", "whenever", "always", "instead", "before", "after", "must", "never", "also",
    "redirect", "replace",
];

/// Scan one tool or prompt definition. `others` are tools of *other* upstreams.
pub fn scan_definition(
    def: &Value,
    others: &[KnownTool<'_>],
    cfg: &DetectConfig,
) -> DefinitionReport {
    let mut findings = Vec::new();
    for_each_string(def, &mut |path, text| {
        if path == "/name" {
            return;
        }
        scan_views(&[&INJECTION, &POISON], text, path, &mut findings);
        padding(text, path, &mut findings);
    });
    for f in findings.iter_mut().filter(|f| f.class == Class::HiddenText) {
        // A definition has no honest use for invisible characters.
        f.severity = f.severity.max(Severity::High);
    }
    length(def, cfg, &mut findings);
    parameters(def, &mut findings);
    let name = def.get("name").and_then(Value::as_str).unwrap_or_default();
    shadowing(def, name, others, &mut findings);
    look_alikes(name, others, &mut findings);
    DefinitionReport { findings }
}

/// Scan server-level `instructions` (initialize result or server/discover).
pub fn scan_instructions(text: &str) -> DefinitionReport {
    let mut findings = Vec::new();
    scan_views(&[&INJECTION, &POISON], text, "/instructions", &mut findings);
    padding(text, "/instructions", &mut findings);
    DefinitionReport { findings }
}

/// A long run of whitespace (or many blank lines) with text after it pushes that text out of
/// sight in most clients.
fn padding(text: &str, path: &str, out: &mut Vec<Finding>) {
    let (mut run, mut newlines) = (0usize, 0usize);
    for c in text.chars() {
        if c.is_whitespace() {
            run += 1;
            newlines += usize::from(c == '\n');
            continue;
        }
        if run >= 64 || newlines >= 10 {
            let f = Finding::new(
                "poison.whitespace_padding",
                Class::ToolPoisoning,
                Severity::High,
                0.8,
            )
            .at(path);
            out.push(f.with_excerpt(&format!("{run} whitespace characters before more text")));
            return;
        }
        (run, newlines) = (0, 0);
    }
}

fn length(def: &Value, cfg: &DetectConfig, out: &mut Vec<Finding>) {
    let Some(desc) = def.get("description").and_then(Value::as_str) else {
        return;
    };
    let n = desc.chars().count();
    if n > cfg.max_description_chars {
        let severity = if n > cfg.max_description_chars * 4 {
            Severity::High
        } else {
            Severity::Medium
        };
        let f = Finding::new(
            "poison.excessive_length",
            Class::ToolPoisoning,
            severity,
            0.5,
        )
        .at("/description");
        out.push(f.with_excerpt(&format!("{n} characters")));
    }
}

fn parameters(def: &Value, out: &mut Vec<Finding>) {
    let Some(props) = def
        .pointer("/inputSchema/properties")
        .and_then(Value::as_object)
    else {
        return;
    };
    let purpose = format!(
        "{} {}",
        def.get("name").and_then(Value::as_str).unwrap_or_default(),
        def.get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
    )
    .to_ascii_lowercase();
    for (key, schema) in props {
        let k = key.to_ascii_lowercase().replace('-', "_");
        let free_text = schema.get("enum").is_none()
            && schema
                .get("type")
                .and_then(Value::as_str)
                .is_none_or(|t| t == "string");
        let severity = if HARVEST_PARAMS.contains(&k.as_str()) {
            Severity::High
        } else if SIDE_CHANNEL_PARAMS.contains(&k.as_str())
            && free_text
            && !mentions_purpose(&purpose, &k)
        {
            Severity::Medium
        } else {
            continue;
        };
        let mut path = String::from("/inputSchema/properties/");
        push_escaped(&mut path, key);
        let f = Finding::new(
            "poison.side_channel_param",
            Class::ToolPoisoning,
            severity,
            0.6,
        )
        .at(&path);
        out.push(f.with_excerpt(key));
    }
}

/// A tool that is about notes, comments or feedback may take them.
fn mentions_purpose(purpose: &str, key: &str) -> bool {
    let stem = key.trim_end_matches('s').split('_').next().unwrap_or(key);
    stem.len() >= 4 && purpose.contains(stem)
}

/// Names distinctive enough that mentioning one is a reference, not an ordinary word.
fn distinctive(name: &str) -> bool {
    name.contains(['_', '-']) || name.chars().skip(1).any(char::is_uppercase) || name.len() >= 12
}

fn shadowing(def: &Value, own: &str, others: &[KnownTool<'_>], out: &mut Vec<Finding>) {
    let mut reported = std::collections::HashSet::new();
    for_each_string(def, &mut |path, text| {
        if path == "/name" {
            return;
        }
        let lower = text.to_ascii_lowercase();
        for other in others
            .iter()
            .filter(|o| o.name != own && distinctive(o.name))
        {
            let needle = other.name.to_ascii_lowercase();
            if !contains_word(&lower, &needle) || !reported.insert(other.name) {
                continue;
            }
            let directive = DIRECTIVES.iter().any(|d| contains_word(&lower, d));
            let severity = if directive {
                Severity::High
            } else {
                Severity::Medium
            };
            let f = Finding::new(
                "shadow.cross_server_reference",
                Class::Shadowing,
                severity,
                0.8,
            )
            .at(path);
            out.push(f.with_excerpt(&format!("{}/{}", other.server, other.name)));
        }
    });
}

fn contains_word(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + needle.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        boundary(before) && boundary(after)
    })
}

fn look_alikes(name: &str, others: &[KnownTool<'_>], out: &mut Vec<Finding>) {
    if name.is_empty() {
        return;
    }
    let own = skeleton(name);
    for other in others {
        if other.name == name {
            let f = Finding::new(
                "shadow.name_collision",
                Class::Shadowing,
                Severity::Medium,
                0.6,
            )
            .at("/name");
            out.push(f.with_excerpt(&format!("{}/{}", other.server, other.name)));
        } else if skeleton(other.name) == own {
            let f = Finding::new(
                "shadow.confusable_name",
                Class::Confusable,
                Severity::High,
                0.9,
            )
            .at("/name");
            out.push(f.with_excerpt(&format!(
                "{name} looks like {}/{}",
                other.server, other.name
            )));
        }
    }
}

#[cfg(test)]
mod tests;
