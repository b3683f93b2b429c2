//! `tool_flow`: a toxic flow across one principal's calls — a sensitive read, then a
//! network-egress call within the window (seed 001's `suspicious_tool_usage`). Reported, and
//! the sink call refused where the action says so.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sallyport_pipeline::glob::glob_match;
use sallyport_pipeline::{Direction, Exchange, Guard, GuardError, Hold, Origin, Verdict};
use tracing::warn;

use crate::action::{ActionTable, Kind, Scope};
use crate::config::{Action, FlowRules};
use crate::reason::threat;

/// Principals remembered at most; expired entries are dropped first when full.
const MAX_PRINCIPALS: usize = 10_000;

/// The flow guard.
#[derive(Debug)]
pub struct FlowGuard {
    pub(crate) rules: FlowRules,
    pub(crate) actions: Arc<ActionTable>,
    /// Per principal: the last source call and when.
    pub(crate) last_source: Mutex<HashMap<String, (Instant, String)>>,
}

impl FlowGuard {
    fn window(&self) -> Duration {
        Duration::from_secs(self.rules.window_secs)
    }

    fn source_before(&self, principal: &str) -> Option<(Duration, String)> {
        let map = self
            .last_source
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (at, source) = map.get(principal)?;
        let ago = at.elapsed();
        (ago <= self.window()).then(|| (ago, source.clone()))
    }

    fn remember(&self, principal: &str, source: String) {
        let mut map = self
            .last_source
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_PRINCIPALS {
            let window = self.window();
            map.retain(|_, (at, _)| at.elapsed() <= window);
            if map.len() >= MAX_PRINCIPALS {
                map.clear();
            }
        }
        map.insert(principal.to_owned(), (Instant::now(), source));
    }
}

impl Guard for FlowGuard {
    fn name(&self) -> &'static str {
        "tool_flow"
    }

    fn applies_to(&self, ex: &Exchange<'_>) -> bool {
        ex.direction == Direction::ClientToServer
            && ex.method == Some("tools/call")
            && ex.server.is_some()
    }

    fn check(&self, ex: &Exchange<'_>) -> Result<Verdict, GuardError> {
        let (Some(server), Some(tool)) = (ex.server, ex.tool) else {
            return Ok(Verdict::Allow);
        };
        let id = format!("{server}/{tool}");
        let principal = ex.principal.id.as_str();
        let mut verdict = Verdict::Allow;
        if self.rules.sinks.iter().any(|p| glob_match(p, &id))
            && let Some((ago, source)) = self.source_before(principal)
        {
            let why = format!(
                "flow.sensitive_read_then_egress(AML.T0057) {source} then {id} within {}s by {principal}",
                ago.as_secs()
            );
            let scope = Scope {
                tenant: ex.principal.tenant.as_deref(),
                server,
                tool: Some(tool),
            };
            verdict = match self.actions.resolve(Kind::Flows, scope) {
                Action::Block | Action::Quarantine => {
                    let public = format!(
                        "Sallyport refused the call to {tool}: sending data out right after reading \
                         sensitive data ({source}) is not allowed"
                    );
                    Verdict::Deny(threat(public, why, Origin::Client))
                }
                Action::RequireApproval => Verdict::Hold(Hold { reason: why }),
                Action::Allow => Verdict::Allow,
                Action::Log | Action::Redact => {
                    warn!(flow = %why, "Toxic flow (action log).");
                    Verdict::Flag {
                        reason: format!("{why} (action log)"),
                    }
                }
            };
        }
        if self.rules.sources.iter().any(|p| glob_match(p, &id)) {
            self.remember(principal, id);
        }
        Ok(verdict)
    }
}
