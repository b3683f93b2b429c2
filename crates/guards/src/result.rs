//! `tool_result`: scans what upstreams send towards the client — call results, notifications,
//! server requests (sampling, elicitation) — for prompt injection and exfiltration aimed at
//! the model, secrets, personal data and size; redacts or refuses per action, and sanitizes
//! upstream error messages.

use std::sync::Arc;

use sallyport_detect::{
    Class, DetectConfig, Finding, ResultReport, Tier3, redact, sanitize_error, scan_result_with,
};
use sallyport_mcp::Message;
use sallyport_pipeline::{Direction, Exchange, Guard, GuardError, Hold, Origin, Verdict};
use serde_json::Value;
use tracing::warn;

use crate::action::{ActionTable, Kind, Scope};
use crate::config::{Action, ResultRules};
use crate::definition::store_error;
use crate::item::ItemKind;
use crate::pins::PinBook;
use crate::reason::{classes, describe, threat};

/// The result guard.
#[derive(Debug)]
pub struct ResultGuard {
    pub(crate) detect: DetectConfig,
    /// The settings for `prompts/get` results: [`prompt_settings`].
    pub(crate) prompt_detect: DetectConfig,
    /// The tier-3 classifier, when configured (runs only on what tiers 1 and 2 let through).
    pub(crate) tier3: Option<Arc<Tier3>>,
    pub(crate) rules: ResultRules,
    pub(crate) actions: Arc<ActionTable>,
    pub(crate) pins: Arc<PinBook>,
}

/// Methods whose results other guards (or none) look at.
const NOT_RESULTS: &[&str] = &[
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "initialize",
    "server/discover",
    "ping",
];

/// The detector settings for what `prompts/get` returns. A prompt is instructions to the
/// model by design ("You are an expert code reviewer. Review the following code…"), which is
/// exactly what the statistical tiers are trained to flag, so they would refuse ordinary
/// prompts; the rules (instruction overrides, fake turns, hidden text, encoded instructions,
/// exfiltration links), secrets and personal data still apply.
pub(crate) fn prompt_settings(detect: &DetectConfig) -> DetectConfig {
    DetectConfig {
        classifier: false,
        ..detect.clone()
    }
}

/// Runs `work`, which blocks for a long time, so that the other tasks of a multi-threaded
/// runtime's worker move to another thread meanwhile (`block_in_place`); elsewhere (no
/// runtime, or a current-thread one) it simply runs.
pub(crate) fn off_the_runtime<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// The findings of one kind and what to do with them.
struct Group {
    action: Action,
    findings: Vec<Finding>,
}

impl ResultGuard {
    fn groups(&self, report: &ResultReport, scope: Scope<'_>) -> Vec<Group> {
        let of = |pred: &dyn Fn(&Finding) -> bool| -> Vec<Finding> {
            report
                .findings
                .iter()
                .filter(|f| pred(f))
                .cloned()
                .collect()
        };
        let injection = if report.injection_detected(&self.detect) {
            of(&|f| {
                matches!(
                    f.class,
                    Class::PromptInjection
                        | Class::Exfiltration
                        | Class::Encoded
                        | Class::HiddenText
                ) && f.severity >= sallyport_detect::Severity::Medium
            })
        } else {
            Vec::new()
        };
        let candidates = [
            (Kind::Injection, injection),
            (Kind::Oversized, of(&|f| f.class == Class::Oversized)),
            (Kind::Secrets, of(&|f| f.class == Class::Secret)),
            (Kind::Pii, of(&|f| f.class == Class::Pii)),
        ];
        candidates
            .into_iter()
            .filter(|(_, findings)| !findings.is_empty())
            .map(|(kind, findings)| Group {
                action: self.actions.resolve(kind, scope),
                findings,
            })
            .collect()
    }

    fn scan(&self, ex: &Exchange<'_>, server: &str, body: &Value) -> Result<Verdict, GuardError> {
        // A prompt is instructions by design: only the rules read it (see `prompt_settings`).
        let (detect, tier3) = if ex.method == Some("prompts/get") {
            (&self.prompt_detect, None)
        } else {
            (&self.detect, self.tier3.as_deref())
        };
        let scan = || scan_result_with(body, detect, tier3);
        // Tier 3 takes 0.2–0.8 s a result: the worker hands its other tasks over meanwhile.
        let report = if tier3.is_some() {
            off_the_runtime(scan)
        } else {
            scan()
        };
        let report = report.map_err(|e| GuardError {
            reason: e.to_string(),
        })?;
        if report.findings.is_empty() {
            return Ok(Verdict::Allow);
        }
        let tool = ex.tool.filter(|_| ex.method == Some("tools/call"));
        let scope = Scope {
            tenant: ex.principal.tenant.as_deref(),
            server,
            tool,
        };
        let what = match tool {
            Some(t) => format!("{server}/{t}"),
            None => format!("{server} {}", ex.method.unwrap_or("message")),
        };
        let mut groups = self.groups(&report, scope);
        for g in &mut groups {
            if g.action == Action::Redact && g.findings.iter().any(|f| f.span.is_none()) {
                g.action = Action::Block;
            }
        }
        if let Some(g) = groups
            .iter()
            .find(|g| !matches!(g.action, Action::Allow | Action::Log | Action::Redact))
        {
            return self.refuse(g, server, tool, &what);
        }
        let mut redacted = Vec::new();
        let mut logged = Vec::new();
        for g in &groups {
            match g.action {
                Action::Log => {
                    warn!(source = %what, findings = %describe(&g.findings), "Flagged content passed (action log).");
                    logged.extend(g.findings.iter().cloned());
                }
                Action::Redact => redacted.extend(g.findings.iter().cloned()),
                _ => {}
            }
        }
        if redacted.is_empty() {
            if logged.is_empty() {
                return Ok(Verdict::Allow);
            }
            return Ok(Verdict::Flag {
                reason: format!("flagged in {what} (action log): {}", describe(&logged)),
            });
        }
        let mut message = ex.message.clone();
        if let Some(target) = body_mut(&mut message) {
            redact(target, &redacted);
        }
        Ok(Verdict::Rewrite {
            message,
            reason: format!("redacted in {what}: {}", describe(&redacted)),
        })
    }

    fn refuse(
        &self,
        g: &Group,
        server: &str,
        tool: Option<&str>,
        what: &str,
    ) -> Result<Verdict, GuardError> {
        let why = format!("{what}: {}", describe(&g.findings));
        if g.action == Action::RequireApproval {
            return Ok(Verdict::Hold(Hold { reason: why }));
        }
        if g.action == Action::Quarantine
            && let Some(t) = tool
        {
            self.pins
                .quarantine(server, ItemKind::Tool, t, None, &why)
                .map_err(store_error)?;
        }
        let subject = tool.map_or_else(
            || "a message from the server".to_owned(),
            |t| format!("the result of {t}"),
        );
        let public = format!(
            "Sallyport withheld {subject}: it was flagged ({})",
            classes(&g.findings)
        );
        Ok(Verdict::Deny(threat(public, why, Origin::Upstream)))
    }

    fn sanitize(&self, ex: &Exchange<'_>) -> Verdict {
        let Some(text) = ex
            .message
            .error_value()
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
        else {
            return Verdict::Allow;
        };
        let clean = sanitize_error(text);
        if clean == text {
            return Verdict::Allow;
        }
        let mut message = ex.message.clone();
        if let Some(Value::Object(e)) = message.as_object_mut().get_mut("error") {
            e.insert("message".into(), Value::from(clean));
            e.remove("data");
        }
        Verdict::Rewrite {
            message,
            reason: "upstream error message sanitized".into(),
        }
    }
}

/// The part of a message that carries content: a response's result, a request's or
/// notification's params.
fn body_mut(message: &mut Message) -> Option<&mut Value> {
    let obj = message.as_object_mut();
    let key = if obj.contains_key("result") {
        "result"
    } else {
        "params"
    };
    obj.get_mut(key)
}

impl Guard for ResultGuard {
    fn name(&self) -> &'static str {
        "tool_result"
    }

    fn applies_to(&self, ex: &Exchange<'_>) -> bool {
        ex.direction == Direction::ServerToClient
            && ex.server.is_some()
            && ex.method.is_none_or(|m| !NOT_RESULTS.contains(&m))
    }

    fn check(&self, ex: &Exchange<'_>) -> Result<Verdict, GuardError> {
        let Some(server) = ex.server else {
            return Ok(Verdict::Allow);
        };
        if ex.message.error_value().is_some() {
            return Ok(if self.rules.sanitize_errors {
                self.sanitize(ex)
            } else {
                Verdict::Allow
            });
        }
        let obj = ex.message.as_object();
        let Some(body) = obj.get("result").or_else(|| obj.get("params")) else {
            return Ok(Verdict::Allow);
        };
        self.scan(ex, server, body)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::off_the_runtime;

    /// While a tier-3 scan blocks its worker, the worker's other tasks (other calls) still run.
    #[test]
    fn a_blocking_scan_does_not_stall_the_workers_other_tasks() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let answered = runtime.block_on(async {
            tokio::spawn(async {
                let (tx, rx) = std::sync::mpsc::channel();
                // Queued on this worker: it can only run if the worker hands it over.
                tokio::spawn(async move { tx.send(()) });
                off_the_runtime(|| rx.recv_timeout(Duration::from_secs(2)))
            })
            .await
            .unwrap()
        });
        assert!(answered.is_ok(), "the other task ran during the scan");
    }
}
