//! Tool classification: which resource and action an upstream tool, prompt or resource is.
//!
//! Configured rules are trusted; MCP tool annotations are untrusted hints from the upstream
//! and may only make a tool stricter (see [`ToolHints`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::permission::{Action, PermissionError, ResourcePath};
use sallyport_pipeline::glob::glob_match;

/// What kind of upstream item is being classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A tool (`tools/call`, `tools/list`). Unconfigured tools are `execute`.
    #[default]
    Tool,
    /// A prompt (`prompts/get`, `prompts/list`). Unconfigured prompts are `read`.
    Prompt,
    /// A resource, named by URI (`resources/read`, `resources/list`). Unconfigured
    /// resources are `read`.
    Resource,
}

impl TargetKind {
    /// Stable name (`tool`, `prompt`, `resource`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tool => "tool",
            Self::Prompt => "prompt",
            Self::Resource => "resource",
        }
    }

    /// The action of an item no rule matches.
    pub fn default_action(self) -> Action {
        match self {
            Self::Tool => Action::Execute,
            Self::Prompt | Self::Resource => Action::Read,
        }
    }
}

/// One classification rule. Rules are tried in order; the first whose `server`, `tool` and
/// `kind` match decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolRuleConfig {
    /// Server name pattern (`*` matches any run of characters). Defaults to every server.
    #[serde(default = "star")]
    pub server: String,
    /// Tool or prompt name pattern, or resource URI pattern for `kind: resource`.
    pub tool: String,
    /// Which kind of item the rule is for.
    #[serde(default)]
    pub kind: TargetKind,
    /// Permission resource path, e.g. `mcp.kubernetes.apply`. Defaults to `mcp.<server>`.
    #[serde(default)]
    pub resource: Option<String>,
    /// The action the item performs. Defaults to `execute` for tools, `read` otherwise.
    #[serde(default)]
    pub action: Option<Action>,
    /// High-risk items require a recent strong authentication (step-up) on every call.
    #[serde(default)]
    pub high_risk: bool,
    /// Data classification labels (`pii`, `secret`, …), visible to Cedar as
    /// `resource.labels`.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Minimum trust score (0–1) for calls; below it the call is denied.
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_trust: Option<f64>,
    /// The tenant owning the item; principals of another tenant are denied.
    #[serde(default)]
    pub tenant: Option<String>,
}

fn star() -> String {
    "*".into()
}

/// MCP tool annotations as sent by the upstream: untrusted hints.
///
/// * `destructiveHint: true` raises the action to `delete`.
/// * `openWorldHint: true` adds the label `open_world`.
/// * `readOnlyHint` is ignored: it could only make a tool looser.
/// * No annotations leave the configured (or default `execute`) classification alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ToolHints {
    /// `readOnlyHint` (ignored for classification).
    pub read_only_hint: Option<bool>,
    /// `destructiveHint`.
    pub destructive_hint: Option<bool>,
    /// `idempotentHint` (recorded, unused).
    pub idempotent_hint: Option<bool>,
    /// `openWorldHint`.
    pub open_world_hint: Option<bool>,
}

impl ToolHints {
    /// Reads the `annotations` member of a `tools/list` item; missing or malformed
    /// members count as absent.
    pub fn from_tool(tool: &Value) -> Self {
        let Some(a) = tool.get("annotations") else {
            return Self::default();
        };
        let flag = |k: &str| a.get(k).and_then(Value::as_bool);
        Self {
            read_only_hint: flag("readOnlyHint"),
            destructive_hint: flag("destructiveHint"),
            idempotent_hint: flag("idempotentHint"),
            open_world_hint: flag("openWorldHint"),
        }
    }

    /// The stricter of two sets of hints: a `true` destructive or open-world hint, once
    /// seen, is kept.
    #[must_use]
    pub fn stricter(self, other: Self) -> Self {
        let keep_true = |a: Option<bool>, b: Option<bool>| match (a, b) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (x, y) => y.or(x),
        };
        Self {
            read_only_hint: other.read_only_hint.or(self.read_only_hint),
            destructive_hint: keep_true(self.destructive_hint, other.destructive_hint),
            idempotent_hint: other.idempotent_hint.or(self.idempotent_hint),
            open_world_hint: keep_true(self.open_world_hint, other.open_world_hint),
        }
    }
}

/// What an item was classified as: the permission it needs and its risk attributes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    /// Tool, prompt or resource.
    pub kind: TargetKind,
    /// The permission resource path.
    pub resource: ResourcePath,
    /// The action needed.
    pub action: Action,
    /// Whether calls need a step-up authentication.
    pub high_risk: bool,
    /// Data classification labels.
    pub labels: Vec<String>,
    /// Minimum trust score for calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_trust: Option<f64>,
    /// The owning tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Index of the rule that matched, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<usize>,
    /// True when an upstream hint made the item stricter than configured.
    pub raised_by_hint: bool,
}

#[derive(Debug, Clone)]
struct Rule {
    config: ToolRuleConfig,
    resource: Option<ResourcePath>,
}

/// Compiled classification rules.
#[derive(Debug, Clone, Default)]
pub struct Classifier {
    rules: Vec<Rule>,
}

impl Classifier {
    /// Compiles rules; errors name the rule index.
    pub fn new(rules: &[ToolRuleConfig]) -> Result<Self, Vec<(usize, PermissionError)>> {
        let mut errors = Vec::new();
        let mut compiled = Vec::with_capacity(rules.len());
        for (i, config) in rules.iter().enumerate() {
            let resource = match config.resource.as_deref().map(ResourcePath::parse) {
                None => None,
                Some(Ok(r)) => Some(r),
                Some(Err(e)) => {
                    errors.push((i, e));
                    None
                }
            };
            compiled.push(Rule {
                config: config.clone(),
                resource,
            });
        }
        if errors.is_empty() {
            Ok(Self { rules: compiled })
        } else {
            Err(errors)
        }
    }

    /// Classifies `name` (a tool or prompt name, or a resource URI) of `server`.
    pub fn classify(
        &self,
        kind: TargetKind,
        server: &str,
        name: &str,
        hints: Option<&ToolHints>,
    ) -> Classification {
        let found = self.rules.iter().enumerate().find(|(_, r)| {
            r.config.kind == kind
                && glob_match(&r.config.server, server)
                && glob_match(&r.config.tool, name)
        });
        let mut c = match found {
            Some((i, rule)) => Classification {
                kind,
                resource: rule
                    .resource
                    .clone()
                    .unwrap_or_else(|| ResourcePath::for_server(server)),
                action: rule.config.action.unwrap_or(kind.default_action()),
                high_risk: rule.config.high_risk,
                labels: rule.config.labels.clone(),
                min_trust: rule.config.min_trust,
                tenant: rule.config.tenant.clone(),
                rule: Some(i),
                raised_by_hint: false,
            },
            None => Classification {
                kind,
                resource: ResourcePath::for_server(server),
                action: kind.default_action(),
                high_risk: false,
                labels: Vec::new(),
                min_trust: None,
                tenant: None,
                rule: None,
                raised_by_hint: false,
            },
        };
        if kind == TargetKind::Tool
            && let Some(h) = hints
        {
            apply_hints(&mut c, h);
        }
        c
    }
}

/// Hints only ever raise: `destructiveHint` to `delete`, `openWorldHint` to a label.
fn apply_hints(c: &mut Classification, h: &ToolHints) {
    if h.destructive_hint == Some(true) && c.action != Action::Delete {
        c.action = Action::Delete;
        c.raised_by_hint = true;
    }
    if h.open_world_hint == Some(true) && !c.labels.iter().any(|l| l == "open_world") {
        c.labels.push("open_world".into());
        c.raised_by_hint = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(server: &str, tool: &str, resource: &str, action: Action) -> ToolRuleConfig {
        ToolRuleConfig {
            server: server.into(),
            tool: tool.into(),
            kind: TargetKind::Tool,
            resource: Some(resource.into()),
            action: Some(action),
            high_risk: false,
            labels: vec![],
            min_trust: None,
            tenant: None,
        }
    }

    fn hints(v: Value) -> ToolHints {
        ToolHints::from_tool(&json!({ "name": "t", "annotations": v }))
    }

    #[test]
    fn unconfigured_defaults() {
        let c = Classifier::default();
        let t = c.classify(TargetKind::Tool, "fs", "anything", None);
        assert_eq!((t.resource.as_str(), t.action), ("mcp.fs", Action::Execute));
        let p = c.classify(TargetKind::Prompt, "fs", "p", None);
        assert_eq!(p.action, Action::Read);
        let r = c.classify(TargetKind::Resource, "fs", "file:///x", None);
        assert_eq!(r.action, Action::Read);
    }

    #[test]
    fn first_matching_rule_wins_and_kind_must_match() {
        let mut prompt_rule = rule("*", "docker_*", "prompts", Action::Read);
        prompt_rule.kind = TargetKind::Prompt;
        let c = Classifier::new(&[
            prompt_rule,
            rule("docker", "docker_ps", "mcp.docker.ps", Action::Read),
            rule("docker", "docker_*", "mcp.docker", Action::Execute),
        ])
        .unwrap();
        let ps = c.classify(TargetKind::Tool, "docker", "docker_ps", None);
        assert_eq!(
            (ps.resource.as_str(), ps.action, ps.rule),
            ("mcp.docker.ps", Action::Read, Some(1))
        );
        let run = c.classify(TargetKind::Tool, "docker", "docker_run", None);
        assert_eq!((run.resource.as_str(), run.rule), ("mcp.docker", Some(2)));
        let other = c.classify(TargetKind::Tool, "podman", "docker_run", None);
        assert_eq!((other.resource.as_str(), other.rule), ("mcp.podman", None));
    }

    #[test]
    fn read_only_hint_cannot_loosen_a_tool() {
        let c = Classifier::new(&[rule("*", "run", "x", Action::Execute)]).unwrap();
        let h = hints(json!({ "readOnlyHint": true, "destructiveHint": false }));
        assert_eq!(
            c.classify(TargetKind::Tool, "s", "run", Some(&h)).action,
            Action::Execute
        );
        // Unconfigured: still execute, not read.
        assert_eq!(
            Classifier::default()
                .classify(TargetKind::Tool, "s", "t", Some(&h))
                .action,
            Action::Execute
        );
    }

    #[test]
    fn destructive_hint_raises_to_delete_even_when_configured_read() {
        let c = Classifier::new(&[rule("*", "ls", "x", Action::Read)]).unwrap();
        let h = hints(json!({ "readOnlyHint": true, "destructiveHint": true }));
        let out = c.classify(TargetKind::Tool, "s", "ls", Some(&h));
        assert_eq!(out.action, Action::Delete);
        assert!(out.raised_by_hint);
        let none = c.classify(TargetKind::Tool, "s", "ls", Some(&ToolHints::default()));
        assert_eq!((none.action, none.raised_by_hint), (Action::Read, false));
    }

    #[test]
    fn malformed_hints_are_absent_and_stricter_keeps_true() {
        let h = hints(json!({ "destructiveHint": "yes" }));
        assert_eq!(h.destructive_hint, None);
        let seen = hints(json!({ "destructiveHint": true }));
        let later = hints(json!({ "destructiveHint": false }));
        assert_eq!(seen.stricter(later).destructive_hint, Some(true));
        assert_eq!(later.stricter(seen).destructive_hint, Some(true));
        let ow = hints(json!({ "openWorldHint": true }));
        let out = Classifier::default().classify(TargetKind::Tool, "s", "t", Some(&ow));
        assert_eq!(out.labels, ["open_world"]);
    }

    #[test]
    fn bad_rule_resource_is_reported() {
        let errs = Classifier::new(&[rule("*", "x", "a..b", Action::Read)]).unwrap_err();
        assert_eq!(errs[0].0, 0);
    }
}
