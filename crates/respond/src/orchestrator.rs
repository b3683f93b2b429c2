//! The response orchestrator's correlation half: decision records go through the
//! correlation engine, and the actions of every rule that fires are performed on the shared
//! [`SecurityState`] at once, or handed back for the gateway (notifications, sessions).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sallyport_correlate::{Alert, CorrelationAction, Engine, KeyField, RuleSet};
use sallyport_pipeline::DecisionRecord;
use serde::Serialize;

use crate::correlation::{correlation_event, correlation_kind, finding_labels};
use crate::quarantine::QuarantineTarget;
use crate::state::SecurityState;

/// What became of one action of a fired rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionOutcome {
    /// The action (`block_ip`, `alert`, …).
    pub action: &'static str,
    /// What it acts on (`ip:203.0.113.7`, `principal:acme/alice`), when it has a target.
    pub target: Option<String>,
    /// `done` (performed on the security state), `gateway` (the caller performs it:
    /// `alert`, `invalidate_sessions`, `revoke_key`) or `skipped` (no target in the alert's
    /// key).
    pub status: &'static str,
}

/// A rule that fired, and what was done about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Response {
    /// The alert.
    pub alert: Alert,
    /// Its tenant, when known (from the key, or the record that made the rule fire).
    pub tenant: Option<String>,
    /// One outcome per action, in the rule's order.
    pub outcomes: Vec<ActionOutcome>,
}

/// Runs the correlation rules over decision records and performs their actions.
/// Single-owner: run it on its own task.
#[derive(Debug)]
pub struct Orchestrator {
    engine: Engine,
    state: Arc<SecurityState>,
    default_block: Duration,
}

impl Orchestrator {
    /// An orchestrator for `rules`, acting on `state`; blocks without a duration last
    /// `default_block`.
    pub fn new(rules: RuleSet, state: Arc<SecurityState>, default_block: Duration) -> Self {
        Self {
            engine: Engine::new(rules),
            state,
            default_block,
        }
    }

    /// The engine (for its statistics).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Feeds one record to the engine; performs the actions of every rule it makes fire.
    pub fn observe(&mut self, record: &DecisionRecord, now: Instant) -> Vec<Response> {
        let Some(kind) = correlation_kind(record) else {
            return Vec::new();
        };
        let ip = record.source_ip.map(|ip| ip.to_string());
        let labels = finding_labels(record);
        let event = correlation_event(record, kind, ip.as_deref(), &labels);
        let alerts = self.engine.observe(&event);
        alerts
            .into_iter()
            .map(|alert| {
                let same_principal =
                    alert.key_value(KeyField::Principal) == Some(&record.principal);
                let tenant = alert
                    .key_value(KeyField::Tenant)
                    .map(str::to_owned)
                    .or_else(|| record.tenant.clone().filter(|_| same_principal));
                self.respond(alert, tenant, now)
            })
            .collect()
    }

    /// Lets absence rules fire whose wait ended by `now_ms`.
    pub fn tick(&mut self, now_ms: u64, now: Instant) -> Vec<Response> {
        self.engine
            .tick(now_ms)
            .into_iter()
            .map(|alert| {
                let tenant = alert.key_value(KeyField::Tenant).map(str::to_owned);
                self.respond(alert, tenant, now)
            })
            .collect()
    }

    fn respond(&self, alert: Alert, tenant: Option<String>, now: Instant) -> Response {
        let outcomes = alert
            .actions
            .iter()
            .map(|a| self.perform(a, &alert, tenant.as_deref(), now))
            .collect();
        Response {
            alert,
            tenant,
            outcomes,
        }
    }

    fn perform(
        &self,
        action: &CorrelationAction,
        alert: &Alert,
        tenant: Option<&str>,
        now: Instant,
    ) -> ActionOutcome {
        let name = action.as_str();
        let principal = alert.key_value(KeyField::Principal);
        let who = principal.map(|p| match tenant {
            Some(t) => format!("principal:{t}/{p}"),
            None => format!("principal:{p}"),
        });
        let reason = alert.rule_id.as_str();
        let outcome = |target: Option<String>, status| ActionOutcome {
            action: name,
            target,
            status,
        };
        match action {
            CorrelationAction::Alert => outcome(None, "gateway"),
            CorrelationAction::InvalidateSessions | CorrelationAction::RevokeKey => match who {
                Some(who) => outcome(Some(who), "gateway"),
                None => outcome(None, "skipped"),
            },
            CorrelationAction::BlockIp { duration_secs } => {
                let ip = alert
                    .key_value(KeyField::SourceIp)
                    .and_then(|ip| ip.parse::<IpAddr>().ok());
                let Some(ip) = ip else {
                    return outcome(None, "skipped");
                };
                let duration = self.duration(*duration_secs);
                self.state.block_ip(ip, Some(duration), reason, now);
                outcome(Some(format!("ip:{ip}")), "done")
            }
            CorrelationAction::QuarantineTool | CorrelationAction::QuarantineServer => {
                let target = QuarantineTarget {
                    server: alert.key_value(KeyField::Server).map(str::to_owned),
                    tool: match action {
                        CorrelationAction::QuarantineTool => {
                            alert.key_value(KeyField::Tool).map(str::to_owned)
                        }
                        _ => None,
                    },
                };
                if target.tool.is_none() && target.server.is_none() {
                    return outcome(None, "skipped");
                }
                let label = target.to_string();
                self.state.quarantine(target, None, reason, now);
                outcome(Some(label), "done")
            }
            _ => {
                let Some(p) = principal else {
                    return outcome(None, "skipped");
                };
                self.act_on_principal(action, p, tenant, reason, now);
                outcome(who, "done")
            }
        }
    }

    fn act_on_principal(
        &self,
        action: &CorrelationAction,
        p: &str,
        tenant: Option<&str>,
        reason: &str,
        now: Instant,
    ) {
        match action {
            CorrelationAction::BlockPrincipal { duration_secs } => {
                let duration = self.duration(*duration_secs);
                self.state
                    .block_principal(p, tenant, Some(duration), reason, now);
            }
            CorrelationAction::RaiseRisk { amount } => {
                self.state.raise_risk(p, tenant, *amount, now);
            }
            CorrelationAction::RequireApproval { duration_secs } => {
                let duration = duration_secs.map(Duration::from_secs);
                self.state
                    .require_approval(p, tenant, duration, reason, now);
            }
            // Refused when the rules are loaded (`unsupported_actions`).
            _ => {}
        }
    }

    fn duration(&self, secs: Option<u64>) -> Duration {
        secs.map_or(self.default_block, Duration::from_secs)
    }
}
