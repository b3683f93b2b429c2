//! Every metric family and its registration: the one place that names metrics (STYLE §7).
//!
//! `prometheus-client` appends `_total` to counters, so counters are registered without it;
//! the exposed names are the ones listed in `deploy/metric-names.txt`.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::labels::{
    AuthAttemptLabels, AuthFailureLabels, AuthorizationLabels, BackendLabels, DecisionLabels,
    DetectorLabels, DirectionLabels, GuardLabels, RateLimitLabels, RequestLabels,
    SecurityEventLabels, ServerLabels, ServerToolLabels, SessionLabels, ToolExecutionLabels,
};

/// Seed 001's buckets for `mcp_tool_execution_duration_seconds`.
pub const TOOL_EXECUTION_BUCKETS: [f64; 7] = [0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0];
/// The Python client's default buckets, which seed 003's `mcp_request_duration_seconds` uses.
pub const REQUEST_DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/// Guard and pipeline time: microseconds to a tenth of a second.
pub const GUARD_DURATION_BUCKETS: [f64; 11] = [
    1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1,
];

/// A histogram family whose histograms share one bucket layout.
pub type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn tool_execution_histogram() -> Histogram {
    Histogram::new(TOOL_EXECUTION_BUCKETS)
}

fn request_duration_histogram() -> Histogram {
    Histogram::new(REQUEST_DURATION_BUCKETS)
}

fn guard_duration_histogram() -> Histogram {
    Histogram::new(GUARD_DURATION_BUCKETS)
}

/// Seed 001's security metrics and seed 003's server metrics, with their names and labels.
#[derive(Debug)]
pub struct SeedFamilies {
    /// `mcp_auth_attempts_total{method,status}`.
    pub auth_attempts: Family<AuthAttemptLabels, Counter>,
    /// `mcp_auth_failures_total{method,reason}`.
    pub auth_failures: Family<AuthFailureLabels, Counter>,
    /// `mcp_authorization_checks_total{resource,action,status}`.
    pub authorization_checks: Family<AuthorizationLabels, Counter>,
    /// `mcp_rate_limit_hits_total{user_type,resource}`.
    pub rate_limit_hits: Family<RateLimitLabels, Counter>,
    /// `mcp_security_events_total{event_type,severity}`.
    pub security_events: Family<SecurityEventLabels, Counter>,
    /// `mcp_active_sessions{session_type}`.
    pub active_sessions: Family<SessionLabels, Gauge>,
    /// `mcp_tool_execution_duration_seconds{server,tool,status}`.
    pub tool_execution: HistogramFamily<ToolExecutionLabels>,
    /// `mcp_requests_total{server_name,tool_name,status}`.
    pub requests: Family<RequestLabels, Counter>,
    /// `mcp_request_duration_seconds{server_name,tool_name}`.
    pub request_duration: HistogramFamily<ServerToolLabels>,
    /// `mcp_active_connections{server_name}`.
    pub active_connections: Family<ServerLabels, Gauge>,
    /// `mcp_tool_availability{server_name,tool_name}`: 1 available, 0 not.
    pub tool_availability: Family<ServerToolLabels, Gauge>,
}

impl SeedFamilies {
    /// Creates the families and registers them in `registry`.
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let f = Self {
            auth_attempts: Family::default(),
            auth_failures: Family::default(),
            authorization_checks: Family::default(),
            rate_limit_hits: Family::default(),
            security_events: Family::default(),
            active_sessions: Family::default(),
            tool_execution: Family::new_with_constructor(tool_execution_histogram),
            requests: Family::default(),
            request_duration: Family::new_with_constructor(request_duration_histogram),
            active_connections: Family::default(),
            tool_availability: Family::default(),
        };
        let r = registry;
        r.register(
            "mcp_auth_attempts",
            "Total authentication attempts",
            f.auth_attempts.clone(),
        );
        r.register(
            "mcp_auth_failures",
            "Total authentication failures",
            f.auth_failures.clone(),
        );
        r.register(
            "mcp_authorization_checks",
            "Total authorization checks",
            f.authorization_checks.clone(),
        );
        r.register(
            "mcp_rate_limit_hits",
            "Total rate limit hits",
            f.rate_limit_hits.clone(),
        );
        r.register(
            "mcp_security_events",
            "Total security events",
            f.security_events.clone(),
        );
        r.register(
            "mcp_active_sessions",
            "Number of active sessions",
            f.active_sessions.clone(),
        );
        r.register(
            "mcp_tool_execution_duration_seconds",
            "Tool execution duration",
            f.tool_execution.clone(),
        );
        r.register("mcp_requests", "Total MCP requests", f.requests.clone());
        r.register(
            "mcp_request_duration_seconds",
            "MCP request duration",
            f.request_duration.clone(),
        );
        r.register(
            "mcp_active_connections",
            "Active MCP connections",
            f.active_connections.clone(),
        );
        r.register(
            "mcp_tool_availability",
            "Tool availability status",
            f.tool_availability.clone(),
        );
        f
    }
}

/// Sallyport's own metrics: decisions, guard timing, detectors, breakers, audit, telemetry.
#[derive(Debug)]
pub struct GatewayFamilies {
    /// `sallyport_decisions_total{direction,outcome,deny_code}`.
    pub decisions: Family<DecisionLabels, Counter>,
    /// `sallyport_guard_duration_seconds{guard}`.
    pub guard_duration: HistogramFamily<GuardLabels>,
    /// `sallyport_pipeline_duration_seconds{direction}`.
    pub pipeline_duration: HistogramFamily<DirectionLabels>,
    /// `sallyport_detector_hits_total{rule_class,guard}`.
    pub detector_hits: Family<DetectorLabels, Counter>,
    /// `sallyport_circuit_breaker_state{server_name}`: 0 closed, 1 half-open, 2 open.
    pub breaker_state: Family<ServerLabels, Gauge>,
    /// `sallyport_rate_limit_backend_up{backend}`: 1 when the shared rate-limit counter store
    /// answers, 0 when it does not; absent without one.
    pub rate_limit_backend_up: Family<BackendLabels, Gauge>,
    /// `sallyport_security_state_store_up{backend}`: 1 when the store of blocks, quarantines
    /// and holds answers, 0 when it does not; absent without one.
    pub security_state_store_up: Family<BackendLabels, Gauge>,
    /// `sallyport_audit_pending_events`: accepted, not yet committed (the audit lag).
    pub audit_pending: Gauge,
    /// `sallyport_audit_queue_capacity_events`: the upper bound of the pending events.
    pub audit_capacity: Gauge,
    /// `sallyport_audit_refused_events_total`: appends refused because the queue was full.
    pub audit_refused: Counter,
    /// `sallyport_audit_store_failures_total`: failed (retried) store operations.
    pub audit_store_failures: Counter,
    /// `sallyport_telemetry_records_dropped_total`: records the metrics subscriber missed.
    pub records_dropped: Counter,
}

impl GatewayFamilies {
    /// Creates the families and registers them in `registry`.
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let f = Self {
            decisions: Family::default(),
            guard_duration: Family::new_with_constructor(guard_duration_histogram),
            pipeline_duration: Family::new_with_constructor(guard_duration_histogram),
            detector_hits: Family::default(),
            breaker_state: Family::default(),
            rate_limit_backend_up: Family::default(),
            security_state_store_up: Family::default(),
            audit_pending: Gauge::default(),
            audit_capacity: Gauge::default(),
            audit_refused: Counter::default(),
            audit_store_failures: Counter::default(),
            records_dropped: Counter::default(),
        };
        let r = registry;
        r.register(
            "sallyport_decisions",
            "Decisions by outcome and deny code",
            f.decisions.clone(),
        );
        r.register(
            "sallyport_guard_duration_seconds",
            "Time each guard or stage took per message",
            f.guard_duration.clone(),
        );
        r.register(
            "sallyport_pipeline_duration_seconds",
            "Time the whole guard pipeline took per message",
            f.pipeline_duration.clone(),
        );
        r.register(
            "sallyport_detector_hits",
            "Detector findings that made a guard act, by rule class",
            f.detector_hits.clone(),
        );
        r.register(
            "sallyport_circuit_breaker_state",
            "Upstream circuit breaker state: 0 closed, 1 half-open, 2 open",
            f.breaker_state.clone(),
        );
        r.register(
            "sallyport_rate_limit_backend_up",
            "Whether the shared rate-limit counter store answers: 1 up, 0 down",
            f.rate_limit_backend_up.clone(),
        );
        r.register(
            "sallyport_security_state_store_up",
            "Whether the store of blocks, quarantines and holds answers: 1 up, 0 down",
            f.security_state_store_up.clone(),
        );
        r.register(
            "sallyport_audit_pending_events",
            "Audit events accepted but not yet committed",
            f.audit_pending.clone(),
        );
        r.register(
            "sallyport_audit_queue_capacity_events",
            "Capacity of the audit queue",
            f.audit_capacity.clone(),
        );
        r.register(
            "sallyport_audit_refused_events",
            "Audit appends refused because the queue was full",
            f.audit_refused.clone(),
        );
        r.register(
            "sallyport_audit_store_failures",
            "Failed audit store operations (each retried)",
            f.audit_store_failures.clone(),
        );
        r.register(
            "sallyport_telemetry_records_dropped",
            "Decision records the metrics subscriber fell too far behind to see",
            f.records_dropped.clone(),
        );
        f
    }
}

/// What kind of series a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// A monotonic counter (exported with `_total`).
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// A histogram (exported as `_bucket`, `_count`, `_sum`).
    Histogram,
}

/// One exported metric, for docs and the deploy check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricSpec {
    /// The registered name (counters without `_total`).
    pub name: &'static str,
    /// Its kind.
    pub kind: MetricKind,
    /// Its label names, in exposition order.
    pub labels: &'static [&'static str],
}

impl MetricSpec {
    /// The sample names Prometheus sees.
    pub fn sample_names(&self) -> Vec<String> {
        match self.kind {
            MetricKind::Counter => vec![format!("{}_total", self.name)],
            MetricKind::Gauge => vec![self.name.to_owned()],
            MetricKind::Histogram => ["_bucket", "_count", "_sum"]
                .iter()
                .map(|s| format!("{}{s}", self.name))
                .collect(),
        }
    }
}

const fn spec(name: &'static str, kind: MetricKind, labels: &'static [&'static str]) -> MetricSpec {
    MetricSpec { name, kind, labels }
}

/// Every metric registered above (a test checks the two agree).
pub const METRICS: [MetricSpec; 27] = {
    use MetricKind::{Counter as C, Gauge as G, Histogram as H};
    [
        spec("mcp_auth_attempts", C, &["method", "status"]),
        spec("mcp_auth_failures", C, &["method", "reason"]),
        spec(
            "mcp_authorization_checks",
            C,
            &["resource", "action", "status"],
        ),
        spec("mcp_rate_limit_hits", C, &["user_type", "resource"]),
        spec("mcp_security_events", C, &["event_type", "severity"]),
        spec("mcp_active_sessions", G, &["session_type"]),
        spec(
            "mcp_tool_execution_duration_seconds",
            H,
            &["server", "tool", "status"],
        ),
        spec("mcp_requests", C, &["server_name", "tool_name", "status"]),
        spec(
            "mcp_request_duration_seconds",
            H,
            &["server_name", "tool_name"],
        ),
        spec("mcp_active_connections", G, &["server_name"]),
        spec("mcp_tool_availability", G, &["server_name", "tool_name"]),
        spec(
            "sallyport_decisions",
            C,
            &["direction", "outcome", "deny_code"],
        ),
        spec("sallyport_guard_duration_seconds", H, &["guard"]),
        spec("sallyport_pipeline_duration_seconds", H, &["direction"]),
        spec("sallyport_detector_hits", C, &["rule_class", "guard"]),
        spec("sallyport_circuit_breaker_state", G, &["server_name"]),
        spec("sallyport_rate_limit_backend_up", G, &["backend"]),
        spec("sallyport_security_state_store_up", G, &["backend"]),
        spec("sallyport_audit_pending_events", G, &[]),
        spec("sallyport_audit_queue_capacity_events", G, &[]),
        spec("sallyport_audit_refused_events", C, &[]),
        spec("sallyport_audit_store_failures", C, &[]),
        spec("sallyport_telemetry_records_dropped", C, &[]),
        spec("sallyport_correlation_alerts", C, &["rule", "severity"]),
        spec("sallyport_response_actions", C, &["action", "status"]),
        spec("sallyport_notifications", C, &["sink", "result"]),
        spec("sallyport_approvals_pending", G, &[]),
    ]
};
