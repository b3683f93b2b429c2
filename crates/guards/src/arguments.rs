//! `tool_arguments`: checks `tools/call` arguments against the tool's own `inputSchema` (as
//! last listed) and for injection, traversal, sensitive paths, SSRF and secrets.

use std::sync::Arc;

use sallyport_detect::{DetectConfig, Finding, Severity, redact, scan_arguments};
use sallyport_pipeline::{Direction, Exchange, Guard, GuardError, Hold, Origin, Verdict};
use serde_json::Value;
use tracing::warn;

use crate::action::{ActionTable, Kind, Scope};
use crate::book::ToolBook;
use crate::config::{Action, ArgumentRules, MinSeverity};
use crate::definition::store_error;
use crate::item::ItemKind;
use crate::pins::PinBook;
use crate::reason::{classes, describe, threat};

/// The argument guard.
#[derive(Debug)]
pub struct ArgumentGuard {
    pub(crate) detect: DetectConfig,
    pub(crate) rules: ArgumentRules,
    pub(crate) actions: Arc<ActionTable>,
    pub(crate) book: Arc<ToolBook>,
    pub(crate) pins: Arc<PinBook>,
}

pub(crate) fn severity_floor(min: MinSeverity) -> Severity {
    match min {
        MinSeverity::Low => Severity::Low,
        MinSeverity::Medium => Severity::Medium,
        MinSeverity::High => Severity::High,
        MinSeverity::Critical => Severity::Critical,
    }
}

impl ArgumentGuard {
    fn findings(&self, server: &str, tool: &str, args: &Value) -> Vec<Finding> {
        let floor = severity_floor(self.rules.min_severity);
        let mut findings: Vec<Finding> = scan_arguments(args, &self.detect)
            .findings
            .into_iter()
            .filter(|f| f.severity >= floor)
            .collect();
        if self.rules.schema
            && let Some(schema) = self.book.get(server, tool).and_then(|e| e.schema())
        {
            findings.extend(schema.violations(args));
        }
        findings
    }
}

impl Guard for ArgumentGuard {
    fn name(&self) -> &'static str {
        "tool_arguments"
    }

    fn applies_to(&self, ex: &Exchange<'_>) -> bool {
        ex.direction == Direction::ClientToServer
            && ex.method == Some("tools/call")
            && ex.server.is_some()
            && ex.tool.is_some()
    }

    fn check(&self, ex: &Exchange<'_>) -> Result<Verdict, GuardError> {
        let (Some(server), Some(tool)) = (ex.server, ex.tool) else {
            return Ok(Verdict::Allow);
        };
        let empty = Value::Object(serde_json::Map::new());
        let args = ex
            .message
            .params()
            .and_then(|p| p.get("arguments"))
            .unwrap_or(&empty);
        let findings = self.findings(server, tool, args);
        if findings.is_empty() {
            return Ok(Verdict::Allow);
        }
        let why = describe(&findings);
        let scope = Scope {
            tenant: ex.principal.tenant.as_deref(),
            server,
            tool: Some(tool),
        };
        let public = || {
            format!(
                "Sallyport refused the call to {tool}: its arguments were flagged ({})",
                classes(&findings)
            )
        };
        let deny = |why: String| Verdict::Deny(threat(public(), why, Origin::Client));
        Ok(match self.actions.resolve(Kind::Arguments, scope) {
            Action::Allow => Verdict::Allow,
            Action::Log => {
                warn!(server, tool, findings = %why, "Flagged arguments passed (action log).");
                Verdict::Flag {
                    reason: format!("arguments of {server}/{tool} flagged (action log): {why}"),
                }
            }
            Action::Redact if findings.iter().all(|f| f.span.is_some()) => {
                let mut message = ex.message.clone();
                if let Some(a) = message.params_mut().get_mut("arguments") {
                    redact(a, &findings);
                }
                Verdict::Rewrite {
                    message,
                    reason: format!("arguments of {server}/{tool} redacted: {why}"),
                }
            }
            Action::Redact | Action::Block => deny(format!("arguments of {server}/{tool}: {why}")),
            Action::Quarantine => {
                self.pins
                    .quarantine(server, ItemKind::Tool, tool, None, &why)
                    .map_err(store_error)?;
                deny(format!(
                    "arguments of {server}/{tool} (tool quarantined): {why}"
                ))
            }
            Action::RequireApproval => Verdict::Hold(Hold {
                reason: format!("arguments of {server}/{tool}: {why}"),
            }),
        })
    }
}
