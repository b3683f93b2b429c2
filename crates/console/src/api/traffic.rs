//! Traffic protection at a glance: the shared counter store, the breakers, and what rate
//! limits, quotas, concurrency limits, breakers and timeouts refused in the last hour.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::Authed;
use super::inventory::{ServerView, server_views};
use crate::error::ErrorBody;
use crate::state::AdminState;
use crate::traffic::LimitRefusal;

/// The shared counter store (`limits.redis`).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CounterStore {
    /// Redis answered the last time it was asked.
    pub healthy: bool,
    /// Calls pass while Redis is down (`on_redis_failure: open`).
    pub fail_open: bool,
}

/// Traffic protection now.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TrafficView {
    /// Redis, when limits are shared; absent for in-process limits.
    pub redis: Option<CounterStore>,
    /// Each upstream with its breaker state.
    pub servers: Vec<ServerView>,
    /// Refusals in the last hour per deny code (`rate_limited`, `quota_exceeded`,
    /// `concurrency_limited`, `circuit_open`, `upstream_timeout`, `per_ip_rate_limited`).
    pub refusals_last_hour: BTreeMap<String, u64>,
    /// The latest refusals, newest first.
    pub recent: Vec<LimitRefusal>,
}

/// The traffic view now.
pub(crate) fn traffic_view(state: &AdminState) -> TrafficView {
    let core = state.gateway.core();
    let (refusals_last_hour, recent) = state.traffic.snapshot(sallyport_approvals::now_ms());
    TrafficView {
        redis: core.traffic.backend().map(|b| CounterStore {
            healthy: b.healthy,
            fail_open: b.fail_open,
        }),
        servers: server_views(state),
        refusals_last_hour,
        recent,
    }
}

/// Rate limits, quotas, breakers and timeouts: what they refused lately.
#[utoipa::path(get, operation_id = "traffic", path = "/admin/traffic", tag = "inventory",
    responses((status = 200, body = TrafficView), (status = 401, body = ErrorBody)))]
pub(crate) async fn traffic(_: Authed, State(state): State<Arc<AdminState>>) -> Json<TrafficView> {
    Json(traffic_view(&state))
}
