//! `tool_definition`: scans every tool, prompt, resource and resource-template definition in
//! an upstream's list page (poisoning, hidden text, shadowing of other upstreams' tools,
//! look-alike names) and the server's instructions; a poisoned one is handled by its action — by default removed from
//! the list, and calls to it refused.

use std::sync::Arc;

use sallyport_detect::{DetectConfig, KnownTool, redact, scan_definition, scan_instructions};
use sallyport_pipeline::{Direction, Exchange, Guard, GuardError, Origin, Verdict};
use serde_json::Value;
use tracing::warn;

use crate::action::{ActionTable, Kind, Scope};
use crate::book::ToolBook;
use crate::config::Action;
use crate::item::ItemKind;
use crate::pins::PinBook;
use crate::reason::{describe, threat};

/// The tool-definition guard.
#[derive(Debug)]
pub struct DefinitionGuard {
    pub(crate) detect: DetectConfig,
    pub(crate) actions: Arc<ActionTable>,
    pub(crate) book: Arc<ToolBook>,
    pub(crate) pins: Arc<PinBook>,
    pub(crate) instructions: bool,
}

/// What became of one item of a list.
enum Fate {
    Keep,
    Replace(Value),
    Remove,
}

impl DefinitionGuard {
    fn list(&self, ex: &Exchange<'_>, server: &str, method: &str) -> Result<Verdict, GuardError> {
        let Some(kind) = ItemKind::of_list(method) else {
            return Ok(Verdict::Allow);
        };
        let key = kind.list_member();
        let Some(items) = ex
            .message
            .result_value()
            .and_then(|r| r.get(key))
            .and_then(Value::as_array)
        else {
            return Ok(Verdict::Allow);
        };
        let others_owned = self.book.others(server);
        let others: Vec<KnownTool<'_>> = others_owned
            .iter()
            .map(|(s, n)| KnownTool { server: s, name: n })
            .collect();
        let mut fates = Vec::with_capacity(items.len());
        let mut notes = Vec::new();
        for item in items {
            fates.push(self.item(ex, server, kind, item, &others, &mut notes)?);
        }
        if fates.iter().all(|f| matches!(f, Fate::Keep)) {
            if notes.is_empty() {
                return Ok(Verdict::Allow);
            }
            return Ok(Verdict::Flag {
                reason: format!("{key} of {server}: {}", notes.join(" | ")),
            });
        }
        let mut message = ex.message.clone();
        if let Some(Value::Array(list)) = message.result_mut().and_then(|r| r.get_mut(key)) {
            let mut fates = fates.into_iter();
            list.retain_mut(|item| match fates.next() {
                Some(Fate::Remove) => false,
                Some(Fate::Replace(v)) => {
                    *item = v;
                    true
                }
                Some(Fate::Keep) | None => true,
            });
        }
        Ok(Verdict::Rewrite {
            message,
            reason: format!("{key} of {server}: {}", notes.join(" | ")),
        })
    }

    fn item(
        &self,
        ex: &Exchange<'_>,
        server: &str,
        kind: ItemKind,
        item: &Value,
        others: &[KnownTool<'_>],
        notes: &mut Vec<String>,
    ) -> Result<Fate, GuardError> {
        let Some(name) = item.get("name").and_then(Value::as_str) else {
            return Ok(Fate::Keep);
        };
        let report = scan_definition(item, others, &self.detect);
        let scope = Scope {
            tenant: ex.principal.tenant.as_deref(),
            server,
            tool: Some(name),
        };
        let action = if report.is_poisoned() {
            self.actions.resolve(Kind::Definitions, scope)
        } else {
            Action::Allow
        };
        let why = describe(&report.findings);
        let tools = kind == ItemKind::Tool;
        let fate = match action {
            Action::Allow => Fate::Keep,
            Action::Log => {
                warn!(server, tool = name, findings = %why, "Poisoned definition passed (action log).");
                notes.push(format!("flagged {name} (action log): {why}"));
                Fate::Keep
            }
            Action::Redact if report.findings.iter().all(|f| f.span.is_some()) => {
                let mut clean = item.clone();
                redact(&mut clean, &report.findings);
                notes.push(format!("redacted {name}: {why}"));
                if tools {
                    self.book.record(server, name, clean.clone(), None);
                }
                return Ok(Fate::Replace(clean));
            }
            Action::Redact | Action::Block => Fate::Remove,
            Action::Quarantine | Action::RequireApproval => {
                // Held in the pin store, so `tool_pin` refuses uses of it too.
                if let Some(id) = item.get(kind.id_member()).and_then(Value::as_str) {
                    self.pins
                        .quarantine(server, kind, id, Some(item), &why)
                        .map_err(store_error)?;
                }
                Fate::Remove
            }
        };
        if tools {
            let withheld = matches!(fate, Fate::Remove).then(|| why.clone());
            self.book.record(server, name, item.clone(), withheld);
        }
        if matches!(fate, Fate::Remove) {
            notes.push(format!("withheld {name}: {why}"));
        }
        Ok(fate)
    }

    /// Server instructions in an `initialize` or `server/discover` result from one upstream.
    fn instructions(&self, ex: &Exchange<'_>, server: &str) -> Verdict {
        let Some(text) = ex
            .message
            .result_value()
            .and_then(|r| r.get("instructions"))
            .and_then(Value::as_str)
        else {
            return Verdict::Allow;
        };
        let report = scan_instructions(text);
        if !report.is_poisoned() {
            return Verdict::Allow;
        }
        let scope = Scope {
            tenant: ex.principal.tenant.as_deref(),
            server,
            tool: None,
        };
        let why = describe(&report.findings);
        match self.actions.resolve(Kind::Definitions, scope) {
            Action::Allow => Verdict::Allow,
            Action::Log => {
                warn!(server, findings = %why, "Poisoned server instructions passed (action log).");
                Verdict::Flag {
                    reason: format!("instructions of {server} flagged (action log): {why}"),
                }
            }
            _ => {
                let mut message = ex.message.clone();
                if let Some(r) = message.result_mut() {
                    r.remove("instructions");
                }
                Verdict::Rewrite {
                    message,
                    reason: format!("instructions of {server} withheld: {why}"),
                }
            }
        }
    }

    /// A call to a tool whose definition was withheld.
    fn call(&self, server: &str, tool: &str) -> Verdict {
        let Some(why) = self.book.get(server, tool).and_then(|e| e.withheld.clone()) else {
            return Verdict::Allow;
        };
        let public = format!(
            "Tool {tool} was withheld by Sallyport: its definition was flagged as poisoned"
        );
        Verdict::Deny(threat(
            public,
            format!("call to withheld {server}/{tool}: {why}"),
            Origin::Client,
        ))
    }
}

impl Guard for DefinitionGuard {
    fn name(&self) -> &'static str {
        "tool_definition"
    }

    fn applies_to(&self, ex: &Exchange<'_>) -> bool {
        ex.server.is_some()
            && match ex.direction {
                Direction::ServerToClient => {
                    ex.message.is_response()
                        && matches!(
                            ex.method,
                            Some(
                                "tools/list"
                                    | "prompts/list"
                                    | "resources/list"
                                    | "resources/templates/list"
                                    | "initialize"
                                    | "server/discover"
                            )
                        )
                }
                Direction::ClientToServer => ex.method == Some("tools/call") && ex.tool.is_some(),
            }
    }

    fn check(&self, ex: &Exchange<'_>) -> Result<Verdict, GuardError> {
        let (Some(server), Some(method)) = (ex.server, ex.method) else {
            return Ok(Verdict::Allow);
        };
        match (ex.direction, method) {
            (Direction::ClientToServer, _) => Ok(self.call(server, ex.tool.unwrap_or_default())),
            (_, m) if ItemKind::of_list(m).is_some() => self.list(ex, server, method),
            _ if self.instructions => Ok(self.instructions(ex, server)),
            _ => Ok(Verdict::Allow),
        }
    }
}

pub(crate) fn store_error(e: crate::store::StoreError) -> GuardError {
    GuardError {
        reason: e.to_string(),
    }
}
