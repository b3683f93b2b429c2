//! Label sets of every metric family, and the bounds that keep their cardinality finite.
//!
//! Labels never carry a principal, a tool argument or a raw error. Server labels are limited
//! to configured servers; tool labels to a capped set of names per server that have answered
//! a call at least once. Anything else is reported as [`OTHER`].

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use prometheus_client::encoding::EncodeLabelSet;

/// The label value for everything outside the bounded set.
pub const OTHER: &str = "other";
/// The label value when a record names no server or tool.
pub const NONE: &str = "none";

/// `mcp_auth_attempts_total{method,status}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct AuthAttemptLabels {
    /// `jwt`, `api_key`, `mtls`, `none` (no authentication configured) or `unknown`.
    pub method: &'static str,
    /// `success` or `failure`.
    pub status: &'static str,
}

/// `mcp_auth_failures_total{method,reason}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct AuthFailureLabels {
    /// As in [`AuthAttemptLabels::method`].
    pub method: &'static str,
    /// The identity crate's stable reason (`token_expired`, `invalid_api_key`, …).
    pub reason: &'static str,
}

/// `mcp_authorization_checks_total{resource,action,status}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct AuthorizationLabels {
    /// The upstream server (bounded).
    pub resource: String,
    /// The MCP method (`tools/call`, `resources/read`, …; others are `other`).
    pub action: &'static str,
    /// `allowed` or `denied`.
    pub status: &'static str,
}

/// `mcp_rate_limit_hits_total{user_type,resource}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RateLimitLabels {
    /// `local` (the operator) or `authenticated`.
    pub user_type: &'static str,
    /// The upstream server (bounded), or `gateway` for listener-wide limits.
    pub resource: String,
}

/// `mcp_security_events_total{event_type,severity}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct SecurityEventLabels {
    /// The deny code or detector class that raised the event.
    pub event_type: &'static str,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: &'static str,
}

/// `mcp_active_sessions{session_type}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct SessionLabels {
    /// `http` (Streamable HTTP and legacy SSE sessions) or `stdio`.
    pub session_type: &'static str,
}

/// `mcp_tool_execution_duration_seconds{server,tool,status}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ToolExecutionLabels {
    /// The upstream server (bounded).
    pub server: String,
    /// The upstream-local tool name (bounded).
    pub tool: String,
    /// `success`, `error` or `denied`.
    pub status: &'static str,
}

/// Seed 003's `mcp_requests_total{server_name,tool_name,status}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RequestLabels {
    /// The upstream server (bounded).
    pub server_name: String,
    /// The tool (bounded), or `none` for methods that name no tool.
    pub tool_name: String,
    /// `success`, `error` or `denied`.
    pub status: &'static str,
}

/// Seed 003's `mcp_request_duration_seconds{server_name,tool_name}` and
/// `mcp_tool_availability{server_name,tool_name}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ServerToolLabels {
    /// The upstream server (bounded).
    pub server_name: String,
    /// The tool (bounded), or `none`.
    pub tool_name: String,
}

/// Seed 003's `mcp_active_connections{server_name}` and `sallyport_circuit_breaker_state`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ServerLabels {
    /// The upstream server (bounded).
    pub server_name: String,
}

/// `sallyport_rate_limit_backend_up{backend}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct BackendLabels {
    /// The shared counter store (`redis`).
    pub backend: &'static str,
}

/// `sallyport_guard_duration_seconds{guard}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct GuardLabels {
    /// The guard's or stage's stable name (a `&'static str` in code: bounded).
    pub guard: &'static str,
}

/// `sallyport_pipeline_duration_seconds{direction}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct DirectionLabels {
    /// `client_to_server` or `server_to_client`.
    pub direction: &'static str,
}

/// `sallyport_decisions_total{direction,outcome,deny_code}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct DecisionLabels {
    /// As in [`DirectionLabels`].
    pub direction: &'static str,
    /// `allow`, `rewrite`, `deny` or `hold`.
    pub outcome: &'static str,
    /// The deny code, or `none`.
    pub deny_code: &'static str,
}

/// `sallyport_detector_hits_total{rule_class,guard}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct DetectorLabels {
    /// The detector rule family (`secret`, `prompt_injection`, `tool_poisoning`, …).
    pub rule_class: &'static str,
    /// The guard that reported it.
    pub guard: &'static str,
}

/// Default cap on distinct tool labels per server.
pub const DEFAULT_TOOLS_PER_SERVER: usize = 100;
/// Default cap on distinct tool labels overall.
pub const DEFAULT_TOOLS_TOTAL: usize = 1000;

/// Which server and tool names may appear as label values.
#[derive(Debug)]
pub struct LabelBounds {
    state: Mutex<BoundsState>,
    tools_per_server: usize,
    tools_total: usize,
}

#[derive(Debug, Default)]
struct BoundsState {
    servers: HashSet<String>,
    tools: HashMap<String, HashSet<String>>,
    tool_count: usize,
}

impl LabelBounds {
    /// Bounds admitting `servers` and up to the given numbers of tool names.
    pub fn new(
        servers: impl IntoIterator<Item = String>,
        tools_per_server: usize,
        tools_total: usize,
    ) -> Self {
        let state = BoundsState {
            servers: servers.into_iter().collect(),
            ..BoundsState::default()
        };
        Self {
            state: Mutex::new(state),
            tools_per_server,
            tools_total,
        }
    }

    /// Replaces the configured servers (hot reload). Admitted tools of kept servers stay.
    pub fn set_servers(&self, servers: impl IntoIterator<Item = String>) {
        let mut state = self.lock();
        state.servers = servers.into_iter().collect();
        let BoundsState { servers, tools, .. } = &mut *state;
        tools.retain(|server, _| servers.contains(server));
        state.tool_count = state.tools.values().map(HashSet::len).sum();
    }

    /// The label for `server`: itself when configured, else `other` (`none` when absent).
    pub fn server(&self, server: Option<&str>) -> String {
        match server {
            None => NONE.to_owned(),
            Some(s) if self.lock().servers.contains(s) => s.to_owned(),
            Some(_) => OTHER.to_owned(),
        }
    }

    /// The label for `tool` of `server`: itself when admitted, else `other`.
    pub fn tool(&self, server: Option<&str>, tool: Option<&str>) -> String {
        let (Some(server), Some(tool)) = (server, tool) else {
            return NONE.to_owned();
        };
        let state = self.lock();
        if state.tools.get(server).is_some_and(|t| t.contains(tool)) {
            tool.to_owned()
        } else {
            OTHER.to_owned()
        }
    }

    /// Admits `tool` of a configured `server` while the caps allow. Called only for tools
    /// that answered a call, so names a client invents never take a slot.
    pub fn admit_tool(&self, server: &str, tool: &str) {
        let mut state = self.lock();
        if !state.servers.contains(server) || state.tool_count >= self.tools_total {
            return;
        }
        let per_server = self.tools_per_server;
        let tools = state.tools.entry(server.to_owned()).or_default();
        if tools.len() < per_server && tools.insert(tool.to_owned()) {
            state.tool_count += 1;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BoundsState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
