//! Wires the response orchestrator into a running gateway: a task that reads the decision
//! bus, turns records into security events (thresholds, blocks) and correlation events
//! (rules and their actions), and carries out what the gateway itself must do: send
//! notifications, end sessions, record every action in the audit trail. It never touches the
//! data path: a lagging subscription loses the oldest records, counted and warned about (at
//! most once every ten seconds).
//!
//! A reload hands the task a new [`Plan`]. A section that did not change keeps its running
//! state (counts, windows, chains in progress); a changed one starts afresh.

mod alerts;

pub(crate) use alerts::{Incidents, default_incident_store};

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use arc_swap::ArcSwapOption;
use sallyport_config::Config;
use sallyport_correlate::{RuleFile, RuleSet};
use sallyport_pipeline::DecisionRecord;
use sallyport_respond::{EventRulesConfig, Orchestrator, Responder};
use sallyport_transport::Gateway;
use sallyport_transport::audit::AuditTrail;
use sallyport_transport::bus::DecisionBus;
use tokio::sync::broadcast::{Receiver, error::RecvError};
use tokio::sync::mpsc;

/// How often a lagging subscription is reported.
const LAG_REPORT_INTERVAL: Duration = Duration::from_secs(10);
/// How often absence rules are given the time.
const TICK: Duration = Duration::from_secs(1);
/// Block length for correlation actions without a duration, when `security_events` sets none.
const DEFAULT_BLOCK: Duration = Duration::from_secs(3600);

/// What the correlation rules were compiled from: the section and the rules file's text.
#[derive(PartialEq)]
pub(crate) struct RulesSource {
    config: sallyport_correlate::CorrelationConfig,
    file_text: Option<String>,
}

/// The `security_events`, `correlation` and `notifications` sections, compiled (so that
/// config errors stop a start or fail a reload before anything changes).
pub(crate) struct Plan {
    responder: Option<EventRulesConfig>,
    rules: Option<(RuleSet, RulesSource)>,
    notify: Vec<sallyport_notify::Sink>,
    notify_config: Option<sallyport_notify::NotifyConfig>,
}

impl Plan {
    /// Compiles the sections of `config`.
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
        Ok(Self {
            responder,
            rules,
            notify,
            notify_config: config.notifications.clone(),
        })
    }
}

/// Reads the rules file, compiles the rules, and refuses actions not built yet.
pub(crate) fn compile_rules(
    c: &sallyport_correlate::CorrelationConfig,
) -> anyhow::Result<(RuleSet, RulesSource)> {
    let (file, file_text) = match &c.rules_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("correlation.rules_file {}", path.display()))?;
            let file = RuleFile::from_yaml(&text, &path.display().to_string())?;
            (Some(file), Some(text))
        }
        None => (None, None),
    };
    let rules = c.compile_with_file(file.as_ref()).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("correlation rules: {}", lines.join("; "))
    })?;
    let source = RulesSource {
        config: c.clone(),
        file_text,
    };
    Ok((rules, source))
}

/// What the metrics and the admin API read from the orchestrator, and where reloads go.
#[derive(Clone)]
pub(crate) struct ResponseHandles {
    /// Alerts and actions since start.
    pub(crate) stats: Arc<sallyport_respond::ResponseStats>,
    /// The notification sinks, when configured (replaced when a reload changes them).
    pub(crate) notifier: Arc<ArcSwapOption<sallyport_notify::Notifier>>,
    /// The incident store, when `incidents` is configured.
    pub(crate) incidents: Option<Arc<sallyport_incidents::IncidentStore>>,
    plans: mpsc::Sender<Plan>,
}

impl ResponseHandles {
    /// Hands a reloaded plan to the task; it applies it before the next record.
    pub(crate) fn reload(&self, plan: Plan) {
        if self.plans.try_send(plan).is_err() {
            tracing::warn!(
                "Reloads arrive faster than the response task takes them; this one is skipped, the next applies."
            );
        }
    }
}

/// Starts the orchestrator on its own task, reading decision records from `bus` while it
/// has rules to apply.
pub(crate) fn spawn(
    plan: Plan,
    incidents: Option<alerts::Incidents>,
    gw: &Arc<Gateway>,
    audit: Option<AuditTrail>,
    bus: &DecisionBus,
) -> ResponseHandles {
    let (plans, plan_rx) = mpsc::channel(4);
    let handles = ResponseHandles {
        stats: Arc::default(),
        notifier: Arc::default(),
        incidents: incidents.as_ref().map(alerts::Incidents::store),
        plans,
    };
    let actions = alerts::Actions {
        gw: gw.clone(),
        audit,
        notifier: None,
        incidents,
        stats: handles.stats.clone(),
    };
    let mut task = Task {
        responder: None,
        orchestrator: None,
        source: Source::default(),
        actions,
        notifier: handles.notifier.clone(),
        bus: bus.clone(),
        records: None,
    };
    task.apply(plan);
    tokio::spawn(task.run(plan_rx));
    handles
}

/// The configuration the running engines were built from.
#[derive(Default, PartialEq)]
struct Source {
    responder: Option<EventRulesConfig>,
    rules: Option<RulesSource>,
    notify: Option<sallyport_notify::NotifyConfig>,
}

/// The orchestrator's task and what it works with.
struct Task {
    responder: Option<Responder>,
    orchestrator: Option<Orchestrator>,
    source: Source,
    actions: alerts::Actions,
    notifier: Arc<ArcSwapOption<sallyport_notify::Notifier>>,
    bus: DecisionBus,
    records: Option<Receiver<Arc<DecisionRecord>>>,
}

impl Task {
    /// Builds what changed in `plan`; keeps the rest running as it is.
    fn apply(&mut self, plan: Plan) {
        let security = self.actions.gw.security().clone();
        let responder_changed = plan.responder != self.source.responder;
        if responder_changed {
            self.responder = plan
                .responder
                .clone()
                .map(|c| Responder::new(c.build(), security.clone()));
            self.source.responder = plan.responder;
        }
        let (rules, source) = plan.rules.map_or((None, None), |(r, s)| (Some(r), Some(s)));
        if responder_changed || source != self.source.rules {
            let block = self
                .responder
                .as_ref()
                .map_or(DEFAULT_BLOCK, Responder::block_duration);
            self.orchestrator = rules.map(|r| Orchestrator::new(r, security, block));
            self.source.rules = source;
        }
        if plan.notify_config != self.source.notify {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default();
            let notifier = (!plan.notify.is_empty())
                .then(|| Arc::new(sallyport_notify::Notifier::start(plan.notify, client)));
            self.notifier.store(notifier.clone());
            self.actions.notifier = notifier;
            self.source.notify = plan.notify_config;
        }
        let active = self.responder.is_some() || self.orchestrator.is_some();
        // Subscribed only while there is something to do: an idle subscriber would still
        // receive a copy of every decision record.
        match (active, self.records.is_some()) {
            (true, false) => self.records = Some(self.bus.subscribe()),
            (false, true) => self.records = None,
            _ => {}
        }
    }

    async fn run(mut self, mut plans: mpsc::Receiver<Plan>) {
        let mut lost: u64 = 0;
        let mut last_report: Option<Instant> = None;
        let mut tick = tokio::time::interval(TICK);
        loop {
            let received = tokio::select! {
                r = next_record(self.records.as_mut()) => r,
                plan = plans.recv() => {
                    match plan {
                        Some(plan) => self.apply(plan),
                        None => return,
                    }
                    continue;
                }
                _ = tick.tick() => {
                    self.tick().await;
                    continue;
                }
            };
            match received {
                Ok(record) => self.observe(&record).await,
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

    async fn observe(&mut self, record: &DecisionRecord) {
        if let Some(done) = self.responder.as_mut().and_then(|r| r.observe(record)) {
            self.actions.threshold_reached(&done).await;
        }
        if let Some(o) = self.orchestrator.as_mut() {
            for response in o.observe(record, Instant::now()) {
                self.actions.carry_out(response).await;
            }
        }
    }

    /// Gives absence rules the time.
    async fn tick(&mut self) {
        if let Some(o) = self.orchestrator.as_mut() {
            let now_ms = sallyport_audit::event::now_unix_ms();
            for response in o.tick(now_ms, Instant::now()) {
                self.actions.carry_out(response).await;
            }
        }
    }
}

/// The next record, or never while not subscribed.
async fn next_record(
    records: Option<&mut Receiver<Arc<DecisionRecord>>>,
) -> Result<Arc<DecisionRecord>, RecvError> {
    match records {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}
