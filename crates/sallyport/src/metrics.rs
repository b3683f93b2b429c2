//! Wires sallyport-telemetry into a running gateway: the bus subscriber, the gauges polled
//! from the gateway and the audit log, and the page the HTTP listener serves at `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use sallyport_limits::BreakerState;
use sallyport_telemetry::{
    AuditSnapshot, BreakerPosition, CONTENT_TYPE, Metrics, ResponseSnapshot, subscriber,
};
use sallyport_transport::Gateway;
use sallyport_transport::audit::AuditTrail;
use sallyport_transport::downstream::http::{MetricsPage, install_metrics_page};

use crate::runtime::Running;

/// How often sessions, breakers and the audit queue are read.
const POLL_INTERVAL: Duration = Duration::from_secs(5);

/// The telemetry registry as the listener's `/metrics` page.
struct TelemetryPage(Arc<Metrics>);

impl MetricsPage for TelemetryPage {
    fn content_type(&self) -> &'static str {
        CONTENT_TYPE
    }

    fn render(&self) -> String {
        self.0.encode()
    }
}

/// Starts metrics for `running`: subscribes to its decision bus, polls its gauges and
/// installs the `/metrics` page.
pub(crate) fn start(running: &Running) -> Arc<Metrics> {
    let metrics = Arc::new(Metrics::new(server_names(&running.gateway)));
    subscriber::spawn(metrics.clone(), running.bus.subscribe());
    let (gw, audit, polled) = (
        running.gateway.clone(),
        running.audit.clone(),
        metrics.clone(),
    );
    let response = running.response_handles.clone();
    let store = running.security_store.clone();
    let poll_all = move || {
        poll(&polled, &gw, audit.as_ref());
        poll_response(&polled, &gw, &response);
        if let Some(store) = &store {
            polled.set_security_state_store(store.backend(), store.is_up());
        }
    };
    poll_all();
    subscriber::spawn_poller(POLL_INTERVAL, poll_all);
    if !install_metrics_page(Arc::new(TelemetryPage(metrics.clone()))) {
        tracing::warn!("A metrics page was installed already; /metrics keeps the first.");
    }
    metrics
}

fn server_names(gw: &Gateway) -> Vec<String> {
    let core = gw.core();
    core.federation
        .servers()
        .iter()
        .map(|s| s.name.to_string())
        .collect()
}

/// Reads every polled gauge once. Server labels follow reloads.
fn poll(metrics: &Metrics, gw: &Gateway, audit: Option<&AuditTrail>) {
    let servers = server_names(gw);
    metrics.bounds.set_servers(servers.iter().cloned());
    metrics.set_active_sessions("http", gw.session_count());
    let core = gw.core();
    for server in &servers {
        let position = match core.traffic.breakers().state(server, None) {
            BreakerState::Closed => BreakerPosition::Closed,
            BreakerState::HalfOpen => BreakerPosition::HalfOpen,
            BreakerState::Open => BreakerPosition::Open,
        };
        metrics.set_breaker_state(server, position);
    }
    if let Some(backend) = core.traffic.backend() {
        metrics.set_rate_limit_backend("redis", backend.healthy);
    }
    if let Some(trail) = audit {
        let stats = trail.log().stats();
        metrics.set_audit(AuditSnapshot {
            pending: stats.pending,
            capacity: stats.capacity,
            refused: stats.refused,
            store_failures: stats.store_failures,
        });
    }
}

/// The response series: alerts, actions, notifications, pending approvals.
fn poll_response(metrics: &Metrics, gw: &Gateway, r: &crate::respond::ResponseHandles) {
    let notifications = r
        .notifier
        .load_full()
        .iter()
        .flat_map(|n| n.stats())
        .flat_map(|s| {
            [
                ("sent", s.sent),
                ("failed", s.failed),
                ("retried", s.retried),
                ("dropped", s.dropped),
            ]
            .map(|(result, n)| (s.name.clone(), result.to_owned(), n))
        })
        .collect();
    let approvals_pending = gw.approvals().and_then(|a| {
        let now = sallyport_approvals::now_ms();
        let pending = a.store().list(
            Some(sallyport_approvals::ApprovalState::Pending),
            now,
            100_000,
        );
        pending.ok().map(|p| p.len() as u64)
    });
    metrics.set_response(&ResponseSnapshot {
        alerts: r.stats.alerts(),
        actions: r.stats.actions(),
        notifications,
        approvals_pending,
    });
}
