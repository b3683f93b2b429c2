//! Which action applies to a finding of some kind, for one tenant, server and tool.

use sallyport_pipeline::glob::glob_match;

use crate::config::{Action, ActionOverride, DetectionConfig};

/// The kinds of decision an action is configured for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Definitions,
    Drift,
    Arguments,
    Injection,
    Secrets,
    Pii,
    Oversized,
    Flows,
}

/// Where a message comes from or goes to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub(crate) tenant: Option<&'a str>,
    pub(crate) server: &'a str,
    pub(crate) tool: Option<&'a str>,
}

/// The configured defaults plus the overrides, resolved per scope.
#[derive(Debug, Clone)]
pub(crate) struct ActionTable {
    defaults: [Action; 8],
    overrides: Vec<ActionOverride>,
}

impl ActionTable {
    pub(crate) fn new(cfg: &DetectionConfig) -> Self {
        let r = &cfg.results;
        let flows = cfg.flows.as_ref().map_or(Action::Log, |f| f.action);
        Self {
            defaults: [
                cfg.definitions.action,
                cfg.pinning.action,
                cfg.arguments.action,
                r.injection,
                r.secrets,
                r.pii,
                r.oversized,
                flows,
            ],
            overrides: cfg.overrides.clone(),
        }
    }

    /// The action for `kind` in `scope`: the last matching override that sets it, else the
    /// default.
    pub(crate) fn resolve(&self, kind: Kind, scope: Scope<'_>) -> Action {
        self.overrides
            .iter()
            .rev()
            .filter(|o| matches(o, scope))
            .find_map(|o| field(o, kind))
            .unwrap_or(self.defaults[kind as usize])
    }
}

fn field(o: &ActionOverride, kind: Kind) -> Option<Action> {
    match kind {
        Kind::Definitions => o.definitions,
        Kind::Drift => o.drift,
        Kind::Arguments => o.arguments,
        Kind::Injection => o.injection,
        Kind::Secrets => o.secrets,
        Kind::Pii => o.pii,
        Kind::Oversized => o.oversized,
        Kind::Flows => o.flows,
    }
}

fn matches(o: &ActionOverride, scope: Scope<'_>) -> bool {
    let one = |pattern: &Option<String>, value: Option<&str>| match pattern {
        None => true,
        Some(p) => value.is_some_and(|v| glob_match(p, v)),
    };
    one(&o.tenant, scope.tenant) && one(&o.server, Some(scope.server)) && one(&o.tool, scope.tool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_matching_overrides_win() {
        let cfg: DetectionConfig = serde_json::from_str(
            r#"{"overrides": [
                {"server": "fs", "arguments": "log"},
                {"server": "fs", "tool": "read_*", "arguments": "allow"},
                {"tenant": "acme", "secrets": "block"}]}"#,
        )
        .unwrap();
        let t = ActionTable::new(&cfg);
        let scope = |tenant, server, tool| Scope {
            tenant,
            server,
            tool,
        };
        assert_eq!(
            t.resolve(Kind::Arguments, scope(None, "fs", Some("write"))),
            Action::Log
        );
        assert_eq!(
            t.resolve(Kind::Arguments, scope(None, "fs", Some("read_x"))),
            Action::Allow
        );
        assert_eq!(
            t.resolve(Kind::Arguments, scope(None, "web", Some("read_x"))),
            Action::Block
        );
        assert_eq!(
            t.resolve(Kind::Secrets, scope(Some("acme"), "web", None)),
            Action::Block
        );
        assert_eq!(
            t.resolve(Kind::Secrets, scope(None, "web", None)),
            Action::Redact
        );
    }
}
