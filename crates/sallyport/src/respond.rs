//! Wires the response orchestrator into a running gateway: a task that reads the decision
//! bus, turns records into security events (thresholds, blocks) and correlation events
//! (rules and their actions), and carries out what the gateway itself must do: send
//! notifications, end sessions, record every action in the audit trail. It never touches the
//! data path: a lagging subscription loses the oldest records, counted and warned about (at
//! most once every ten seconds).

mod alerts;

pub(crate) use alerts::default_incident_store;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use sallyport_config::Config;
use sallyport_correlate::{RuleFile, RuleSet};
use sallyport_pipeline::DecisionRecord;
use sallyport_respond::{EventRulesConfig, Orchestrator, Responder};
use sallyport_transport::Gateway;
use sallyport_transport::audit::AuditTrail;
use tokio::sync::broadcast::{Receiver, error::RecvError};

/// How often a lagging subscription is reported.
const LAG_REPORT_INTERVAL: Duration = Duration::from_secs(10);
/// How often absence rules are given the time.
const TICK: Duration = Duration::from_secs(1);
/// Block length for correlation actions without a duration, when `security_events` sets none.
const DEFAULT_BLOCK: Duration = Duration::from_secs(3600);

/// What the task works with, built before the gateway starts (so config errors stop it).
pub(crate) struct Plan {
    responder: Option<EventRulesConfig>,
    rules: Option<RuleSet>,
    notify: Vec<sallyport_notify::Sink>,
    incidents: Option<alerts::Incidents>,
}

impl Plan {
    /// Compiles the `security_events`, `correlation` and `notifications` sections.
    pub(crate) fn build(config: &Config) -> anyhow::Result<Self> {
        let responder = config.security_events.clone().filter(|c| c.enabled);
        let rules = match config.correlation.as_ref().filter(|c| c.enabled) {
            Some(c) => Some(compile_rules(c)?),
            None => None,
        };
        let notify = match &config.notifications {
            Some(n) => n.build().map_err(|errors| {
                let lines: Vec<String> = errors
                    .iter()
                    .map(|e| format!("notifications.{e}"))
                    .collect();
                anyhow::anyhow!("notifications: {}", lines.join("; "))
            })?,
            None => Vec::new(),
        };
        let incidents = match &config.incidents {
            Some(c) => Some(alerts::Incidents::open(c)?),
            None => None,
        };
        Ok(Self {
            responder,
            rules,
            notify,
            incidents,
        })
    }

    /// Whether a correlation rule can hold principals' calls (`require_approval`).
    pub(crate) fn holds_calls(&self) -> bool {
        self.rules.is_some()
    }
}

/// Reads the rules file, compiles the rules, and refuses actions not built yet.
pub(crate) fn compile_rules(c: &sallyport_correlate::CorrelationConfig) -> anyhow::Result<RuleSet> {
    let file = match &c.rules_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("correlation.rules_file {}", path.display()))?;
            Some(RuleFile::from_yaml(&text, &path.display().to_string())?)
        }
        None => None,
    };
    c.compile_with_file(file.as_ref()).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("correlation rules: {}", lines.join("; "))
    })
}

/// What the metrics read from the orchestrator.
#[derive(Clone, Default)]
pub(crate) struct ResponseHandles {
    /// Alerts and actions since start.
    pub(crate) stats: Arc<sallyport_respond::ResponseStats>,
    /// The notification sinks, when configured.
    pub(crate) notifier: Option<Arc<sallyport_notify::Notifier>>,
    /// The incident store, when `incidents` is configured.
    pub(crate) incidents: Option<Arc<sallyport_incidents::IncidentStore>>,
}

/// Starts the orchestrator on its own task, reading `records`.
pub(crate) fn spawn(
    plan: Plan,
    gw: &Arc<Gateway>,
    audit: Option<AuditTrail>,
    records: Receiver<DecisionRecord>,
) -> ResponseHandles {
    let mut handles = ResponseHandles {
        incidents: plan.incidents.as_ref().map(alerts::Incidents::store),
        ..ResponseHandles::default()
    };
    if plan.responder.is_none() && plan.rules.is_none() {
        return handles;
    }
    let responder = plan
        .responder
        .map(|c| Responder::new(c.build(), gw.security().clone()));
    let block = responder
        .as_ref()
        .map_or(DEFAULT_BLOCK, |r| r.block_duration());
    let orchestrator = plan
        .rules
        .map(|rules| Orchestrator::new(rules, gw.security().clone(), block));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default();
    handles.notifier = (!plan.notify.is_empty())
        .then(|| Arc::new(sallyport_notify::Notifier::start(plan.notify, client)));
    let actions = alerts::Actions {
        gw: gw.clone(),
        audit,
        notifier: handles.notifier.clone(),
        incidents: plan.incidents,
        stats: handles.stats.clone(),
    };
    tokio::spawn(run(responder, orchestrator, actions, records));
    handles
}

async fn run(
    mut responder: Option<Responder>,
    mut orchestrator: Option<Orchestrator>,
    actions: alerts::Actions,
    mut records: Receiver<DecisionRecord>,
) {
    let mut lost: u64 = 0;
    let mut last_report: Option<Instant> = None;
    let mut tick = tokio::time::interval(TICK);
    loop {
        let received = tokio::select! {
            r = records.recv() => r,
            _ = tick.tick() => {
                if let Some(o) = orchestrator.as_mut() {
                    let now_ms = sallyport_audit::event::now_unix_ms();
                    for response in o.tick(now_ms, Instant::now()) {
                        actions.carry_out(response).await;
                    }
                }
                continue;
            }
        };
        match received {
            Ok(record) => {
                if let Some(done) = responder.as_mut().and_then(|r| r.observe(&record)) {
                    actions.threshold_reached(&done).await;
                }
                if let Some(o) = orchestrator.as_mut() {
                    for response in o.observe(&record, Instant::now()) {
                        actions.carry_out(response).await;
                    }
                }
            }
            Err(RecvError::Lagged(n)) => {
                lost += n;
                if last_report.is_none_or(|t| t.elapsed() >= LAG_REPORT_INTERVAL) {
                    last_report = Some(Instant::now());
                    tracing::warn!(
                        lost,
                        "Security events fell behind the decision bus; the oldest records were not counted."
                    );
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}
