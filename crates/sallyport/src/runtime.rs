//! Start-up wiring shared by the commands: logging, config, the gateway.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use rand::RngCore;
use sallyport_config::Config;
use sallyport_transport::audit::AuditTrail;
use sallyport_transport::bus::DecisionBus;
use sallyport_transport::{Core, Gateway, build};
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Logs go to stderr (stdout may be the MCP channel). When `config` (the file of `serve` or
/// `stdio`) has a `tracing` section, exchange spans are also exported over OTLP; the returned
/// export flushes them when dropped, so the caller keeps it until the command has finished.
pub(crate) fn init_logging(
    filter: &str,
    format: LogFormat,
    config: Option<&Path>,
) -> Option<crate::tracing_export::TraceExport> {
    use tracing_subscriber::layer::{Layer, SubscriberExt};
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(colour_logs());
    let logs: crate::tracing_export::BoxedLayer = match format {
        LogFormat::Text => logs.fmt_fields(crate::log_fields::TextFields).boxed(),
        LogFormat::Json => logs
            .json()
            .fmt_fields(crate::log_fields::JsonFields)
            .boxed(),
    };
    let export = config.and_then(crate::tracing_export::TraceExport::start);
    let (export, failed) = match export {
        Some(Ok(export)) => (Some(export), None),
        Some(Err(error)) => (None, Some(error)),
        None => (None, None),
    };
    let mut layers = vec![
        logs.with_filter(crate::tracing_export::log_filter(filter))
            .boxed(),
    ];
    layers.extend(
        export
            .as_ref()
            .and_then(crate::tracing_export::TraceExport::layer),
    );
    let _ = tracing_subscriber::registry().with(layers).try_init();
    if let Some(error) = failed {
        tracing::error!(%error, "Trace export not started; spans are not exported.");
    }
    if let Some(export) = &export {
        tracing::info!(
            endpoint = export.endpoint(),
            "Exporting exchange spans over OTLP."
        );
    }
    export
}

/// Colour only for a person at a terminal: escape codes in a log file or a collector's
/// pipe are noise. `NO_COLOR` turns it off there too.
fn colour_logs() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Loads and validates a config file, with every error listed.
pub(crate) fn load_config(path: &Path) -> anyhow::Result<Config> {
    match sallyport_config::load_file(path) {
        Ok(c) => Ok(c),
        Err(errors) => bail!(
            "{} has {} error(s):\n{errors}",
            path.display(),
            errors.len()
        ),
    }
}

/// Everything a running gateway needs that outlives a reload.
pub(crate) struct Running {
    pub(crate) gateway: Arc<Gateway>,
    pub(crate) bus: DecisionBus,
    pub(crate) cursor_key: [u8; 32],
    /// The audit trail, opened once at start (an `audit` change needs a restart).
    pub(crate) audit: Option<AuditTrail>,
    audit_config: Option<sallyport_audit::AuditConfig>,
    approvals: Option<sallyport_approvals::ApprovalsConfig>,
    security_state: Option<sallyport_security_store::SecurityStateConfig>,
    /// Where blocks, quarantines and holds are kept beyond memory, when configured.
    pub(crate) security_store: Option<sallyport_security_store::StoreStatus>,
    /// The incident store's section as started (the store is opened once).
    incidents: Option<sallyport_incidents::IncidentsConfig>,
    /// What the metrics read from the response orchestrator, and where reloads go.
    pub(crate) response_handles: crate::respond::ResponseHandles,
    /// The sections read once at start whose changes need a restart: `admin`, `tracing`.
    started_with: (
        Option<sallyport_config::admin::AdminConfig>,
        Option<sallyport_config::telemetry::TracingConfig>,
    ),
}

impl Running {
    /// A gateway for `config`, publishing decisions on a new bus and, when `audit` is
    /// configured, appending them to the audit trail (fails if its store cannot be opened).
    pub(crate) async fn start(config: &Config) -> anyhow::Result<Self> {
        let audit = match &config.audit {
            Some(c) => Some(crate::audit::open(c).await?),
            None => None,
        };
        let bus = DecisionBus::new(4096);
        let mut cursor_key = [0u8; 32];
        rand::rng().fill_bytes(&mut cursor_key);
        let plan = crate::respond::Plan::build(config)?;
        let incidents = match &config.incidents {
            Some(c) => Some(crate::respond::Incidents::open(c)?),
            None => None,
        };
        let security = Arc::new(sallyport_respond::SecurityState::default());
        let security_store = match &config.security_state {
            Some(c) => Some(
                sallyport_security_store::start(c, &security)
                    .await
                    .context("opening the security state store (security_state)")?,
            ),
            None => {
                if config.security_events.is_some() || config.correlation.is_some() {
                    tracing::info!(
                        "Blocks, quarantines and holds are kept in memory only: a restart lifts them and replicas do not share them (set security_state)."
                    );
                }
                None
            }
        };
        let core = core(config, &bus, &cursor_key, audit.as_ref(), None, &security)
            .context("building the gateway")?;
        let gateway = Gateway::with_security(core, security);
        let response_handles =
            crate::respond::spawn(plan, incidents, &gateway, audit.clone(), &bus);
        if let Some(approvals) = &config.approvals {
            let opened = sallyport_transport::approvals::Approvals::open(approvals)
                .context("opening the approval store (approvals.store)")?;
            tracing::info!(
                wait_secs = approvals.wait_secs,
                "Held calls wait for approval."
            );
            gateway.set_approvals(Arc::new(opened));
        }
        Ok(Self {
            gateway,
            bus,
            cursor_key,
            audit,
            audit_config: config.audit.clone(),
            approvals: config.approvals.clone(),
            security_state: config.security_state.clone(),
            security_store,
            incidents: config.incidents.clone(),
            response_handles,
            started_with: (config.admin.clone(), config.tracing.clone()),
        })
    }

    /// Publishes a new config; the old one stays when this one cannot be built.
    pub(crate) fn reload(&self, config: &Config) -> anyhow::Result<()> {
        let plan = crate::respond::Plan::build(config)?;
        let current = self.gateway.core();
        let core = core(
            config,
            &self.bus,
            &self.cursor_key,
            self.audit.as_ref(),
            Some(&current),
            self.gateway.security(),
        )?;
        if config.audit != self.audit_config {
            tracing::warn!("The audit section changed; it takes effect at the next restart.");
        }
        if config.incidents != self.incidents {
            tracing::warn!("The incidents section changed; it takes effect at the next restart.");
        }
        if config.admin != self.started_with.0 {
            tracing::warn!("The admin section changed; it takes effect at the next restart.");
        }
        if config.tracing != self.started_with.1 {
            tracing::warn!("The tracing section changed; it takes effect at the next restart.");
        }
        if config.security_state != self.security_state {
            tracing::warn!(
                "The security_state section changed; it takes effect at the next restart."
            );
        }
        if config.approvals != self.approvals {
            tracing::warn!("The approvals section changed; it takes effect at the next restart.");
        }
        self.gateway.reload(core);
        self.response_handles.reload(plan);
        Ok(())
    }

    /// Commits every queued audit event and signs a final checkpoint.
    pub(crate) async fn close(&self) {
        if let Some(trail) = &self.audit {
            match trail.log().flush().await {
                Ok(head) => tracing::info!(seq = head.seq, "Audit trail flushed."),
                Err(error) => tracing::error!(%error, "Audit trail not flushed."),
            }
        }
    }
}

fn core(
    config: &Config,
    bus: &DecisionBus,
    cursor_key: &[u8],
    audit: Option<&AuditTrail>,
    previous: Option<&Core>,
    security: &Arc<sallyport_respond::SecurityState>,
) -> anyhow::Result<Core> {
    let mut core = build::core_after(config, Arc::new(bus.clone()), cursor_key, previous)?;
    // After every other guard: quarantines refuse what the chain would otherwise allow
    // (it costs one atomic load while nothing is quarantined).
    let quarantine = sallyport_respond::QuarantineGuard::new(security.clone());
    core.relay.push_guard(Box::new(quarantine));
    // Last in the chain: it holds only calls every other guard let through (one atomic
    // load while no principal has been held).
    let hold = sallyport_respond::ApprovalHoldGuard::new(security.clone());
    core.relay.push_guard(Box::new(hold));
    core.relay = core.relay.with_audit(audit.cloned());
    Ok(core)
}

/// Ends idle legacy sessions once a minute.
pub(crate) fn spawn_session_reaper(gw: Arc<Gateway>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            gw.reap_idle_sessions().await;
        }
    });
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub(crate) async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}
