//! `tool_pin`: pins each upstream tool's definition (trust on first use, or by approval) and
//! holds a tool whose definition drifts, or that appears after the first listing: it is
//! removed from lists and calls to it are refused with `tool_quarantined` until an operator
//! approves the new version. Calls to tools a threat guard quarantined are refused here too.

use std::sync::Arc;

use sallyport_pipeline::{Direction, Exchange, Guard, GuardError, Verdict};
use serde_json::Value;
use tracing::warn;

use crate::action::{ActionTable, Kind, Scope};
use crate::config::{Action, PinMode};
use crate::definition::store_error;
use crate::pins::{PinBook, Standing};
use crate::reason::quarantined;
use crate::store::HoldKind;

/// The pinning guard.
#[derive(Debug)]
pub struct PinGuard {
    pub(crate) actions: Arc<ActionTable>,
    pub(crate) pins: Arc<PinBook>,
}

/// Changes listed in a reason.
const MAX_CHANGES: usize = 4;

impl PinGuard {
    fn action(&self, ex: &Exchange<'_>, server: &str, tool: &str) -> Action {
        let scope = Scope {
            tenant: ex.principal.tenant.as_deref(),
            server,
            tool: Some(tool),
        };
        self.actions.resolve(Kind::Drift, scope)
    }

    /// Whether a drifted or new tool is held (every action but `allow` and `log`).
    fn holds(&self, ex: &Exchange<'_>, server: &str, tool: &str) -> bool {
        !matches!(self.action(ex, server, tool), Action::Allow | Action::Log)
    }

    /// Whether a drifted or new tool passes but is flagged (`log`: a WARN line and the
    /// decision record).
    fn logs(&self, ex: &Exchange<'_>, server: &str, tool: &str) -> bool {
        let log = self.action(ex, server, tool) == Action::Log;
        if log {
            warn!(server, tool, "Tool definition drifted (action log).");
        }
        log
    }

    fn list(&self, ex: &Exchange<'_>, server: &str) -> Result<Verdict, GuardError> {
        let Some(result) = ex.message.result_value() else {
            return Ok(Verdict::Allow);
        };
        let tools = result
            .get("tools")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut held = Vec::new();
        let mut notes = Vec::new();
        let mut flagged = Vec::new();
        for def in tools {
            let Some(name) = def.get("name").and_then(Value::as_str) else {
                continue;
            };
            match self.pins.listed(server, name, def).map_err(store_error)? {
                Standing::Trusted { note } => notes.extend(note),
                Standing::Held { kind, detail } if self.holds(ex, server, name) => {
                    notes.push(format!(
                        "held {name} ({}): {}",
                        kind.as_str(),
                        summary(&detail)
                    ));
                    held.push(name.to_owned());
                }
                Standing::Held { kind, detail } if self.logs(ex, server, name) => {
                    flagged.push(format!("{name} ({}): {}", kind.as_str(), summary(&detail)));
                }
                Standing::Held { .. } => {}
            }
        }
        if result.get("nextCursor").is_none_or(Value::is_null) {
            self.pins.list_complete(server).map_err(store_error)?;
        }
        if held.is_empty() {
            if flagged.is_empty() {
                return Ok(Verdict::Allow);
            }
            return Ok(Verdict::Flag {
                reason: format!(
                    "tools of {server} flagged (action log): {}",
                    flagged.join(" | ")
                ),
            });
        }
        let mut message = ex.message.clone();
        if let Some(Value::Array(list)) = message.result_mut().and_then(|r| r.get_mut("tools")) {
            list.retain(|t| {
                t.get("name")
                    .and_then(Value::as_str)
                    .is_none_or(|n| !held.iter().any(|h| h == n))
            });
        }
        Ok(Verdict::Rewrite {
            message,
            reason: format!("tools of {server}: {}", notes.join(" | ")),
        })
    }

    fn call(&self, ex: &Exchange<'_>, server: &str, tool: &str) -> Result<Verdict, GuardError> {
        let standing = self.pins.called(server, tool).map_err(store_error)?;
        let (why, detail) = match standing {
            Some(Standing::Trusted { .. }) => return Ok(Verdict::Allow),
            None if self.pins.mode() == PinMode::Approve => {
                ("it has not been approved yet", String::new())
            }
            None => return Ok(Verdict::Allow),
            Some(Standing::Held { kind, detail }) => {
                if kind != HoldKind::Threat && !self.holds(ex, server, tool) {
                    if !self.logs(ex, server, tool) {
                        return Ok(Verdict::Allow);
                    }
                    return Ok(Verdict::Flag {
                        reason: format!(
                            "call to {server}/{tool} flagged (action log): {} tool; {}",
                            kind.as_str(),
                            summary(&detail)
                        ),
                    });
                }
                let why = match kind {
                    HoldKind::Drift => "its definition changed since it was approved",
                    HoldKind::New => "it is new and has not been approved yet",
                    HoldKind::Threat => "a threat guard flagged it",
                };
                (why, detail)
            }
        };
        let audit = format!("call to held {server}/{tool}: {why}; {}", summary(&detail));
        Ok(Verdict::Deny(quarantined(server, tool, why, audit)))
    }
}

impl Guard for PinGuard {
    fn name(&self) -> &'static str {
        "tool_pin"
    }

    fn applies_to(&self, ex: &Exchange<'_>) -> bool {
        ex.server.is_some()
            && match ex.direction {
                Direction::ServerToClient => {
                    self.pins.mode() != PinMode::Off
                        && ex.message.is_response()
                        && ex.method == Some("tools/list")
                }
                Direction::ClientToServer => ex.method == Some("tools/call") && ex.tool.is_some(),
            }
    }

    fn check(&self, ex: &Exchange<'_>) -> Result<Verdict, GuardError> {
        let Some(server) = ex.server else {
            return Ok(Verdict::Allow);
        };
        match ex.direction {
            Direction::ServerToClient => self.list(ex, server),
            Direction::ClientToServer => self.call(ex, server, ex.tool.unwrap_or_default()),
        }
    }
}

/// A drift's diff as `changed /description, added /inputSchema/properties/x`; other details
/// (findings, notes) shortened.
pub(crate) fn summary(detail: &str) -> String {
    if let Ok(Value::Array(changes)) = serde_json::from_str::<Value>(detail) {
        let mut parts: Vec<String> = changes
            .iter()
            .take(MAX_CHANGES)
            .map(|c| {
                format!(
                    "{} {}",
                    c["kind"].as_str().unwrap_or("changed"),
                    c["path"].as_str().unwrap_or("")
                )
            })
            .collect();
        if changes.len() > MAX_CHANGES {
            parts.push(format!("+{} more", changes.len() - MAX_CHANGES));
        }
        return parts.join(", ");
    }
    let mut s: String = detail.chars().take(160).collect();
    if detail.chars().nth(160).is_some() {
        s.push('…');
    }
    s
}
