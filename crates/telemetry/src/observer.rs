//! Turns decision records into metric updates. One observer runs in the subscriber task and
//! owns the table of requests in flight; the metrics it updates are shared.

use std::sync::Arc;

use sallyport_pipeline::{DecisionRecord, DenyCode, Direction, Outcome};

use crate::classify;
use crate::in_flight::{CallKey, InFlightCalls, PendingCall};
use crate::labels::{
    AuthAttemptLabels, AuthFailureLabels, AuthorizationLabels, DecisionLabels, DetectorLabels,
    DirectionLabels, GuardLabels, NONE, RateLimitLabels, RequestLabels, SecurityEventLabels,
    ServerToolLabels, ToolExecutionLabels,
};
use crate::metrics::Metrics;

/// The principal id of the local operator (stdio, or a listener without authentication).
const LOCAL_PRINCIPAL: &str = "local";
/// Stages that refuse a message before the guard chain sees it.
const EDGE_STAGES: [&str; 2] = ["edge", "envelope"];

/// Updates [`Metrics`] from decision records.
#[derive(Debug)]
pub struct DecisionObserver {
    metrics: Arc<Metrics>,
    in_flight: InFlightCalls,
}

impl DecisionObserver {
    /// An observer updating `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            metrics,
            in_flight: InFlightCalls::default(),
        }
    }

    /// Requests awaiting their response.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Every series `record` moves.
    pub fn observe(&mut self, record: &DecisionRecord) {
        self.count_decision(record);
        self.count_detector_hits(record);
        if let Some(code) = record.deny_code {
            self.count_denial(record, code);
        }
        if record.outcome == Outcome::Hold {
            self.count_security_event("held_for_approval", "medium");
        }
        match (record.direction, record.kind) {
            (Direction::ClientToServer, "request") => {
                self.count_authentication(record);
                self.count_authorization(record);
                self.request_seen(record);
            }
            (Direction::ServerToClient, "result" | "error") => self.response_seen(record),
            _ => {}
        }
    }

    /// `sallyport_decisions_total`, `sallyport_pipeline_duration_seconds`,
    /// `sallyport_guard_duration_seconds`.
    fn count_decision(&self, r: &DecisionRecord) {
        let g = &self.metrics.gateway;
        let direction = direction_name(r.direction);
        let labels = DecisionLabels {
            direction,
            outcome: r.outcome.as_str(),
            deny_code: r.deny_code.map_or(NONE, DenyCode::as_str),
        };
        g.decisions.get_or_create(&labels).inc();
        // Refusals outside the chain carry no timing: nothing ran.
        if r.duration_ns == 0 {
            return;
        }
        g.pipeline_duration
            .get_or_create(&DirectionLabels { direction })
            .observe(seconds(r.duration_ns));
        for guard in &r.guards {
            g.guard_duration
                .get_or_create(&GuardLabels { guard: guard.guard })
                .observe(seconds(guard.duration_ns));
        }
    }

    /// `sallyport_detector_hits_total`: detector guards that did anything but allow.
    fn count_detector_hits(&self, r: &DecisionRecord) {
        let acted = r.guards.iter().filter(|g| {
            g.outcome != Outcome::Allow && classify::DETECTOR_GUARDS.contains(&g.guard)
        });
        for g in acted {
            for rule_class in classify::detector_classes(g.guard, g.reason.as_deref()) {
                let labels = DetectorLabels {
                    rule_class,
                    guard: g.guard,
                };
                self.metrics
                    .gateway
                    .detector_hits
                    .get_or_create(&labels)
                    .inc();
            }
        }
    }

    /// Authentication failures, rate-limit hits and security events.
    fn count_denial(&self, r: &DecisionRecord, code: DenyCode) {
        let seed = &self.metrics.seed;
        if classify::is_auth_failure(code) {
            let reason = classify::auth_reason(r.reason.as_deref());
            let method = classify::auth_method_for_failure(reason);
            let attempt = AuthAttemptLabels {
                method,
                status: "failure",
            };
            seed.auth_attempts.get_or_create(&attempt).inc();
            seed.auth_failures
                .get_or_create(&AuthFailureLabels { method, reason })
                .inc();
        }
        if classify::is_rate_limit(code) {
            let labels = RateLimitLabels {
                user_type: user_type(r, code),
                resource: match r.server.as_deref() {
                    Some(s) => self.metrics.bounds.server(Some(s)),
                    None => "gateway".to_owned(),
                },
            };
            seed.rate_limit_hits.get_or_create(&labels).inc();
        }
        if let Some(severity) = classify::security_severity(code) {
            self.count_security_event(code.as_str(), severity);
        }
    }

    fn count_security_event(&self, event_type: &'static str, severity: &'static str) {
        let labels = SecurityEventLabels {
            event_type,
            severity,
        };
        self.metrics
            .seed
            .security_events
            .get_or_create(&labels)
            .inc();
    }

    /// A request that got past the edge was authenticated, with the method its record names
    /// (`none` for the local operator).
    fn count_authentication(&self, r: &DecisionRecord) {
        if is_edge_refusal(r) {
            return;
        }
        let method = match r.auth_method {
            "jwt" | "api_key" | "mtls" | "stdio" => r.auth_method,
            _ if r.principal == LOCAL_PRINCIPAL || r.auth_method == "none" => "none",
            _ => "unknown",
        };
        let labels = AuthAttemptLabels {
            method,
            status: "success",
        };
        self.metrics.seed.auth_attempts.get_or_create(&labels).inc();
    }

    /// `mcp_authorization_checks_total`, for requests an authorization guard looked at.
    fn count_authorization(&self, r: &DecisionRecord) {
        let mut checks = r
            .guards
            .iter()
            .filter(|g| classify::AUTHORIZATION_GUARDS.contains(&g.guard))
            .peekable();
        if checks.peek().is_none() {
            return;
        }
        let denied = checks.any(|g| g.outcome == Outcome::Deny);
        let labels = AuthorizationLabels {
            resource: self.metrics.bounds.server(r.server.as_deref()),
            action: classify::action(r.method.as_deref()),
            status: if denied { "denied" } else { "allowed" },
        };
        self.metrics
            .seed
            .authorization_checks
            .get_or_create(&labels)
            .inc();
    }

    /// A client request: remembered until its response, or finished now if refused.
    fn request_seen(&mut self, r: &DecisionRecord) {
        let key = CallKey::of(r);
        if r.outcome == Outcome::Deny {
            // A refusal after the chain (traffic limits, timeouts) ends a remembered call.
            let pending = key.and_then(|k| self.in_flight.take(&k));
            let call = pending.unwrap_or_else(|| pending_call(r));
            self.finish(&call, "denied", None);
            return;
        }
        if let Some(key) = key {
            self.in_flight.insert(key, pending_call(r));
        }
    }

    /// A response: timed against its request when that was seen.
    fn response_seen(&mut self, r: &DecisionRecord) {
        let status = match (r.outcome, r.kind) {
            (Outcome::Deny, _) => "denied",
            (_, "error") => "error",
            _ => "success",
        };
        match CallKey::of(r).and_then(|k| self.in_flight.take(&k)) {
            Some(call) => {
                let elapsed_ms = r.time_unix_ms.saturating_sub(call.started_unix_ms);
                self.finish(&call, status, Some(elapsed_ms as f64 / 1000.0));
            }
            None => self.finish(&pending_call(r), status, None),
        }
    }

    /// `mcp_requests_total`, and with a duration `mcp_request_duration_seconds` and (for
    /// tool calls) `mcp_tool_execution_duration_seconds`.
    fn finish(&self, call: &PendingCall, status: &'static str, secs: Option<f64>) {
        let is_tool_call = call.method.as_deref() == Some("tools/call");
        let bounds = &self.metrics.bounds;
        if is_tool_call
            && status == "success"
            && let (Some(server), Some(tool)) = (&call.server, &call.tool)
        {
            bounds.admit_tool(server, tool);
        }
        let server = bounds.server(call.server.as_deref());
        let tool = bounds.tool(call.server.as_deref(), call.tool.as_deref());
        let seed = &self.metrics.seed;
        let labels = RequestLabels {
            server_name: server.clone(),
            tool_name: tool.clone(),
            status,
        };
        seed.requests.get_or_create(&labels).inc();
        let Some(secs) = secs else { return };
        let labels = ServerToolLabels {
            server_name: server.clone(),
            tool_name: tool.clone(),
        };
        seed.request_duration.get_or_create(&labels).observe(secs);
        if is_tool_call {
            let labels = ToolExecutionLabels {
                server,
                tool,
                status,
            };
            seed.tool_execution.get_or_create(&labels).observe(secs);
        }
    }
}

fn pending_call(r: &DecisionRecord) -> PendingCall {
    PendingCall {
        method: r.method.clone(),
        server: r.server.clone(),
        tool: r.tool.clone(),
        started_unix_ms: r.time_unix_ms,
    }
}

fn is_edge_refusal(r: &DecisionRecord) -> bool {
    r.outcome == Outcome::Deny && r.guards.iter().any(|g| EDGE_STAGES.contains(&g.guard))
}

/// Who hit a limit. Per-IP limits refuse before authentication (`anonymous`).
fn user_type(r: &DecisionRecord, code: DenyCode) -> &'static str {
    if code == DenyCode::PerIpRateLimited {
        "anonymous"
    } else if r.principal == LOCAL_PRINCIPAL {
        "local"
    } else {
        "authenticated"
    }
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::ClientToServer => "client_to_server",
        Direction::ServerToClient => "server_to_client",
    }
}

#[allow(clippy::cast_precision_loss, reason = "durations far below 2^52 ns")]
fn seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

#[cfg(test)]
mod tests;
