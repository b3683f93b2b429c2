//! `AuthzGuard`: the pipeline's authorization stage.
//!
//! * Client→server `tools/call`, `prompts/get`, `resources/read`: allow, deny (answered
//!   exactly like an unknown tool, prompt or resource; the real reason only in `detail`),
//!   or hold (step-up and approvals; see [`verdict_for`]).
//! * Server→client results of `tools/list`, `prompts/list`, `resources/list` and
//!   `resources/templates/list`: items the principal may not use are removed.

use std::fmt::Debug;
use std::sync::Arc;

use sallyport_mcp::version::Era;
use sallyport_pipeline::{Denial, DenyCode, Direction, Exchange, Guard, GuardError, Hold, Verdict};
use serde_json::{Value, json};

use crate::classify::{TargetKind, ToolHints};
use crate::decision::{Decision, Outcome};
use crate::engine::Engine;
use crate::stepup::StepUpChallenge;
use crate::subject::{AuthzRequest, Phase, Subject, Target};
use crate::time::{Clock, SystemClock};

/// Turns the exchange's principal into a [`Subject`]. The default,
/// [`PrincipalOnly`], uses what `sallyport_pipeline::Principal` carries; the gateway plugs
/// in a resolver adding source address, device, `auth_time`, `acr`/`amr`, scopes…
pub trait SubjectResolver: Send + Sync + Debug {
    /// The subject making this exchange.
    fn resolve(&self, exchange: &Exchange<'_>) -> Subject;
}

/// Uses only the pipeline principal's id, kind, tenant, roles and auth method.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrincipalOnly;

impl SubjectResolver for PrincipalOnly {
    fn resolve(&self, exchange: &Exchange<'_>) -> Subject {
        Subject::from_principal(exchange.principal)
    }
}

/// Receives every call decision (for the audit record) before the verdict is returned.
pub trait DecisionObserver: Send + Sync + Debug {
    /// One decision about `exchange`.
    fn observe(&self, exchange: &Exchange<'_>, decision: &Decision);
}

/// The authorization guard.
#[derive(Debug, Clone)]
pub struct AuthzGuard {
    engine: Arc<Engine>,
    resolver: Arc<dyn SubjectResolver>,
    clock: Arc<dyn Clock>,
    observer: Option<Arc<dyn DecisionObserver>>,
}

const CALLS: [&str; 3] = ["tools/call", "prompts/get", "resources/read"];
const LISTS: [&str; 4] = [
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
];

impl AuthzGuard {
    /// A guard deciding with `engine`, the pipeline principal only, and the system clock.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self {
            engine,
            resolver: Arc::new(PrincipalOnly),
            clock: Arc::new(SystemClock),
            observer: None,
        }
    }

    /// Uses `resolver` to build subjects.
    #[must_use]
    pub fn with_resolver(mut self, resolver: Arc<dyn SubjectResolver>) -> Self {
        self.resolver = resolver;
        self
    }

    /// Uses `clock` for "now".
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Reports every call decision to `observer`.
    #[must_use]
    pub fn with_observer(mut self, observer: Arc<dyn DecisionObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    fn check_call(&self, ex: &Exchange<'_>, server: &str, method: &str) -> Verdict {
        let (kind, name) = match method {
            "tools/call" => (
                TargetKind::Tool,
                ex.tool.or_else(|| ex.message.param_str("name")),
            ),
            "prompts/get" => (
                TargetKind::Prompt,
                ex.tool.or_else(|| ex.message.param_str("name")),
            ),
            _ => (TargetKind::Resource, ex.message.param_str("uri")),
        };
        let name = name.unwrap_or_default();
        let subject = self.resolver.resolve(ex);
        let arguments = ex.message.params().and_then(|p| p.get("arguments"));
        let req = AuthzRequest {
            subject: &subject,
            target: Target {
                kind,
                server,
                name,
                hints: None,
            },
            arguments,
            phase: Phase::Call,
            now: self.clock.now(),
        };
        let decision = self.engine.decide(&req);
        if let Some(o) = &self.observer {
            o.observe(ex, &decision);
        }
        verdict_for(&decision, kind, name, ex.era)
    }

    fn filter_list(&self, ex: &Exchange<'_>, server: &str, method: &str) -> Verdict {
        let (key, name_key, kind) = match method {
            "tools/list" => ("tools", "name", TargetKind::Tool),
            "prompts/list" => ("prompts", "name", TargetKind::Prompt),
            "resources/list" => ("resources", "uri", TargetKind::Resource),
            _ => ("resourceTemplates", "uriTemplate", TargetKind::Resource),
        };
        let Some(items) = ex
            .message
            .result_value()
            .and_then(|r| r.get(key))
            .and_then(Value::as_array)
        else {
            return Verdict::Allow;
        };
        let subject = self.resolver.resolve(ex);
        let now = self.clock.now();
        let keep: Vec<bool> = items
            .iter()
            .map(|item| self.visible(item, name_key, kind, server, &subject, now))
            .collect();
        let hidden: Vec<&str> = items
            .iter()
            .zip(&keep)
            .filter(|(_, k)| !**k)
            .map(|(i, _)| i.get(name_key).and_then(Value::as_str).unwrap_or("?"))
            .collect();
        if hidden.is_empty() {
            return Verdict::Allow;
        }
        let mut message = ex.message.clone();
        if let Some(Value::Array(list)) = message.result_mut().and_then(|r| r.get_mut(key)) {
            let mut flags = keep.iter();
            list.retain(|_| flags.next().copied().unwrap_or(false));
        }
        let shown: Vec<&str> = hidden.iter().take(10).copied().collect();
        Verdict::Rewrite {
            message,
            reason: format!(
                "authz hid {} of {} {key} of server {server}: {}{}",
                hidden.len(),
                items.len(),
                shown.join(", "),
                if hidden.len() > shown.len() {
                    ", …"
                } else {
                    ""
                }
            ),
        }
    }

    fn visible(
        &self,
        item: &Value,
        name_key: &str,
        kind: TargetKind,
        server: &str,
        subject: &Subject,
        now: crate::time::Timestamp,
    ) -> bool {
        let Some(name) = item.get(name_key).and_then(Value::as_str) else {
            return false;
        };
        let hints = (kind == TargetKind::Tool).then(|| {
            self.engine
                .hints()
                .record(server, name, ToolHints::from_tool(item))
        });
        let req = AuthzRequest {
            subject,
            target: Target {
                kind,
                server,
                name,
                hints: hints.as_ref(),
            },
            arguments: None,
            phase: Phase::List,
            now,
        };
        self.engine.decide(&req).is_allowed()
    }
}

/// The verdict for a call decision.
///
/// * `Deny` → the exact refusal of an unknown item (no oracle), reason in `detail`.
/// * `StepUp` → a `step_up_required` denial (HTTP 403 `insufficient_scope`) whose
///   `error.data` says what would satisfy it. Only principals allowed to use the item get
///   here, so naming it reveals nothing.
/// * `Hold` → `Verdict::Hold` (reason starts with `approval:`); the call never reaches the
///   upstream.
pub fn verdict_for(decision: &Decision, kind: TargetKind, name: &str, era: Era) -> Verdict {
    match &decision.outcome {
        Outcome::Allow => Verdict::Allow,
        Outcome::Deny => Verdict::Deny(hidden(kind, name, era).with_detail(decision.summary())),
        Outcome::StepUp(c) => Verdict::Deny(step_up_denial(c).with_detail(decision.summary())),
        Outcome::Hold { reason } => Verdict::Hold(Hold {
            reason: format!("approval: {reason}"),
        }),
    }
}

/// The refusal asking for a stronger, more recent authentication.
fn step_up_denial(c: &StepUpChallenge) -> Denial {
    let mut methods: Vec<&str> = c.amr_values.iter().map(String::as_str).collect();
    methods.extend(c.acr_values.iter().map(String::as_str));
    let how = if methods.is_empty() {
        String::new()
    } else {
        format!(" with one of: {}", methods.join(", "))
    };
    Denial::client(
        DenyCode::StepUpRequired,
        format!(
            "This call needs a recent strong authentication: sign in again{how} \
             (at most {} seconds ago) and retry",
            c.max_age_secs
        ),
    )
    .with_data(json!({
        "acr_values": c.acr_values,
        "amr_values": c.amr_values,
        "max_age": c.max_age_secs,
        "scope": c.scope,
    }))
}

/// The refusal the router gives for an item that does not exist (same code, same message,
/// same data), so a hidden item cannot be told apart from a missing one.
pub fn hidden(kind: TargetKind, name: &str, era: Era) -> Denial {
    match kind {
        TargetKind::Tool | TargetKind::Prompt => {
            let what = if kind == TargetKind::Prompt {
                "prompt"
            } else {
                "tool"
            };
            let shown: String = name.chars().take(128).collect();
            Denial::client(DenyCode::ToolNotAllowed, format!("Unknown {what}: {shown}"))
        }
        TargetKind::Resource => {
            let shown: String = name.chars().take(256).collect();
            let code = if era == Era::Legacy {
                DenyCode::ResourceNotFound
            } else {
                DenyCode::UnknownResource
            };
            Denial::client(code, format!("Resource not found: {shown}"))
                .with_data(json!({ "uri": name }))
        }
    }
}

impl Guard for AuthzGuard {
    fn name(&self) -> &'static str {
        "authz"
    }

    fn applies_to(&self, ex: &Exchange<'_>) -> bool {
        let Some(method) = ex.method else {
            return false;
        };
        ex.server.is_some()
            && match ex.direction {
                Direction::ClientToServer => ex.message.is_call() && CALLS.contains(&method),
                Direction::ServerToClient => ex.message.is_response() && LISTS.contains(&method),
            }
    }

    fn check(&self, ex: &Exchange<'_>) -> Result<Verdict, GuardError> {
        let (Some(server), Some(method)) = (ex.server, ex.method) else {
            return Ok(Verdict::Allow);
        };
        Ok(match ex.direction {
            Direction::ClientToServer if CALLS.contains(&method) => {
                self.check_call(ex, server, method)
            }
            Direction::ServerToClient if LISTS.contains(&method) => {
                self.filter_list(ex, server, method)
            }
            _ => Verdict::Allow,
        })
    }
}
