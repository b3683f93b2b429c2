//! The metrics of one gateway process: the registry, its families, the label bounds, the
//! exposition, and the hooks that sources other than decision records set.

use std::sync::Mutex;
use std::sync::PoisonError;

use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;

use crate::families::{GatewayFamilies, SeedFamilies};
use crate::labels::{
    BackendLabels, DEFAULT_TOOLS_PER_SERVER, DEFAULT_TOOLS_TOTAL, LabelBounds, ServerLabels,
    ServerToolLabels, SessionLabels,
};

/// The content type of [`Metrics::encode`]'s output (OpenMetrics text, which Prometheus
/// scrapes natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// An upstream circuit breaker's position, as `sallyport_circuit_breaker_state` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerPosition {
    /// Calls pass (0).
    Closed,
    /// One probe call may pass (1).
    HalfOpen,
    /// Calls are refused (2).
    Open,
}

impl BreakerPosition {
    fn value(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen => 1,
            Self::Open => 2,
        }
    }
}

/// The audit log's counters at one moment (from `AuditLog::stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditSnapshot {
    /// Events accepted but not yet committed.
    pub pending: u64,
    /// The queue capacity.
    pub capacity: u64,
    /// Appends refused since open (cumulative).
    pub refused: u64,
    /// Failed store operations since open (cumulative).
    pub store_failures: u64,
}

/// Every metric the gateway exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Seed 001 and 003 families.
    pub seed: SeedFamilies,
    /// `sallyport_*` families.
    pub gateway: GatewayFamilies,
    /// Which servers and tools may be labels.
    pub bounds: LabelBounds,
    /// The cumulative audit counters last seen, to turn snapshots into counter increments.
    last_audit: Mutex<AuditSnapshot>,
    /// What the response orchestrator did.
    pub(crate) response: crate::response::ResponseFamilies,
}

impl Metrics {
    /// Metrics for a gateway fronting `servers`, with the default tool-label caps.
    pub fn new(servers: impl IntoIterator<Item = String>) -> Self {
        Self::with_bounds(LabelBounds::new(
            servers,
            DEFAULT_TOOLS_PER_SERVER,
            DEFAULT_TOOLS_TOTAL,
        ))
    }

    /// Metrics with explicit label bounds.
    pub fn with_bounds(bounds: LabelBounds) -> Self {
        let mut registry = Registry::default();
        let seed = SeedFamilies::register(&mut registry);
        let gateway = GatewayFamilies::register(&mut registry);
        let response = crate::response::ResponseFamilies::register(&mut registry);
        Self {
            response,
            registry,
            seed,
            gateway,
            bounds,
            last_audit: Mutex::default(),
        }
    }

    /// The exposition in OpenMetrics text ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an encoder error would leave a partial page,
        // which Prometheus rejects as a failed scrape.
        if let Err(error) = encode(&mut out, &self.registry) {
            tracing::warn!(%error, "Encoding metrics failed.");
        }
        out
    }

    // === hooks: values that do not come from decision records ===

    /// `mcp_active_sessions{session_type}`.
    pub fn set_active_sessions(&self, session_type: &'static str, count: usize) {
        let labels = SessionLabels { session_type };
        self.seed
            .active_sessions
            .get_or_create(&labels)
            .set(saturating_i64(count));
    }

    /// `sallyport_circuit_breaker_state{server_name}`.
    pub fn set_breaker_state(&self, server: &str, position: BreakerPosition) {
        let labels = ServerLabels {
            server_name: self.bounds.server(Some(server)),
        };
        self.gateway
            .breaker_state
            .get_or_create(&labels)
            .set(position.value());
    }

    /// `sallyport_rate_limit_backend_up{backend}`: whether the shared counter store answers.
    pub fn set_rate_limit_backend(&self, backend: &'static str, up: bool) {
        self.gateway
            .rate_limit_backend_up
            .get_or_create(&BackendLabels { backend })
            .set(i64::from(up));
    }

    /// `sallyport_security_state_store_up{backend}`: whether the store of blocks,
    /// quarantines and holds answers.
    pub fn set_security_state_store(&self, backend: &'static str, up: bool) {
        self.gateway
            .security_state_store_up
            .get_or_create(&BackendLabels { backend })
            .set(i64::from(up));
    }

    /// `mcp_active_connections{server_name}`: open upstream connections. Hook: no source
    /// publishes per-upstream connection counts yet.
    pub fn set_active_connections(&self, server: &str, count: usize) {
        let labels = ServerLabels {
            server_name: self.bounds.server(Some(server)),
        };
        self.seed
            .active_connections
            .get_or_create(&labels)
            .set(saturating_i64(count));
    }

    /// `mcp_tool_availability{server_name,tool_name}`. Hook for the tool inventory / health
    /// checker; the tool label is bounded like every other.
    pub fn set_tool_availability(&self, server: &str, tool: &str, available: bool) {
        let labels = ServerToolLabels {
            server_name: self.bounds.server(Some(server)),
            tool_name: self.bounds.tool(Some(server), Some(tool)),
        };
        self.seed
            .tool_availability
            .get_or_create(&labels)
            .set(i64::from(available));
    }

    /// The `sallyport_audit_*` series from a snapshot of the audit log's counters.
    pub fn set_audit(&self, now: AuditSnapshot) {
        let g = &self.gateway;
        g.audit_pending.set(saturating_i64(now.pending));
        g.audit_capacity.set(saturating_i64(now.capacity));
        let mut last = self
            .last_audit
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        g.audit_refused
            .inc_by(now.refused.saturating_sub(last.refused));
        g.audit_store_failures
            .inc_by(now.store_failures.saturating_sub(last.store_failures));
        *last = now;
    }
}

fn saturating_i64(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}
