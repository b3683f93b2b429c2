//! Quarantined tools and servers: the response orchestrator's, and operators'.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sallyport_respond::{QuarantineEntry, QuarantineTarget};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Body, Params};
use crate::state::AdminState;

/// The longest quarantine an operator may set: 10 years.
const MAX_QUARANTINE_SECS: u64 = 10 * 365 * 86_400;

/// One quarantine.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QuarantineView {
    /// The upstream server; absent: the tool on every server.
    pub server: Option<String>,
    /// The upstream-local tool; absent: every tool of the server.
    pub tool: Option<String>,
    /// Why.
    pub reason: String,
    /// Seconds left; absent until lifted or restart.
    pub remaining_secs: Option<u64>,
}

impl From<QuarantineEntry> for QuarantineView {
    fn from(q: QuarantineEntry) -> Self {
        Self {
            server: q.target.server,
            tool: q.target.tool,
            reason: q.reason,
            remaining_secs: q.remaining_secs,
        }
    }
}

/// A quarantine to add or lift: a server's tool, a whole server (no tool), or a tool name
/// on every server (no server).
#[derive(Debug, Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct QuarantineQuery {
    /// The upstream server.
    pub server: Option<String>,
    /// The upstream-local tool.
    pub tool: Option<String>,
}

/// A quarantine to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewQuarantine {
    /// The upstream server (absent: the tool on every server).
    pub server: Option<String>,
    /// The upstream-local tool (absent: every tool of the server).
    pub tool: Option<String>,
    /// How long (default: until lifted or restart).
    #[schema(minimum = 1, maximum = 315_360_000)]
    pub duration_secs: Option<u64>,
    /// Why (recorded).
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

fn target(server: Option<String>, tool: Option<String>) -> Result<QuarantineTarget, ApiError> {
    let clean = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let target = QuarantineTarget {
        server: clean(server),
        tool: clean(tool),
    };
    if target.server.is_none() && target.tool.is_none() {
        return Err(ApiError::BadRequest(
            "give a server, a tool, or both".into(),
        ));
    }
    Ok(target)
}

/// The quarantines in force.
pub(crate) fn quarantine_views(state: &AdminState) -> Vec<QuarantineView> {
    state
        .gateway
        .security()
        .quarantines()
        .into_iter()
        .map(QuarantineView::from)
        .collect()
}

/// Lists quarantined tools and servers.
#[utoipa::path(get, operation_id = "quarantines_list", path = "/admin/quarantines", tag = "response",
    responses((status = 200, body = [QuarantineView]), (status = 401, body = ErrorBody)))]
pub(crate) async fn list(
    _: Authed,
    State(state): State<Arc<AdminState>>,
) -> Json<Vec<QuarantineView>> {
    Json(quarantine_views(&state))
}

/// Quarantines a tool or a server: every call to it is refused.
#[utoipa::path(post, operation_id = "quarantines_add", path = "/admin/quarantines", tag = "response", request_body = NewQuarantine,
    responses((status = 201, body = [QuarantineView]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub(crate) async fn add(
    Authed(op): Authed,
    State(state): State<Arc<AdminState>>,
    Body(q): Body<NewQuarantine>,
) -> Result<(StatusCode, Json<Vec<QuarantineView>>), ApiError> {
    op.require_admin()?;
    if q.duration_secs
        .is_some_and(|d| !(1..=MAX_QUARANTINE_SECS).contains(&d))
    {
        return Err(ApiError::BadRequest(format!(
            "duration_secs must be 1 to {MAX_QUARANTINE_SECS}; leave it out for a quarantine until lifted"
        )));
    }
    let why = q
        .reason
        .as_deref()
        .unwrap_or("quarantined from the admin API");
    if why.chars().count() > 500 {
        return Err(ApiError::BadRequest(
            "reason is longer than 500 characters".into(),
        ));
    }
    let target = target(q.server, q.tool)?;
    let label = target.to_string();
    let reason = format!("operator {}: {why}", op.name);
    let duration = q.duration_secs.map(Duration::from_secs);
    state
        .gateway
        .security()
        .quarantine(target, duration, &reason, Instant::now());
    tracing::warn!(by = %op.name, target = %label, "Quarantine added from the admin API.");
    Ok((StatusCode::CREATED, Json(quarantine_views(&state))))
}

/// Lifts a quarantine (the same `server` and `tool` it was set with).
#[utoipa::path(delete, operation_id = "quarantines_release", path = "/admin/quarantines", tag = "response", params(QuarantineQuery),
    responses((status = 204, description = "Lifted"), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn release(
    Authed(op): Authed,
    State(state): State<Arc<AdminState>>,
    Params(q): Params<QuarantineQuery>,
) -> Result<StatusCode, ApiError> {
    op.require_admin()?;
    release_as(&state, &op.name, q.server, q.tool)
}

/// Lifts a quarantine, or 404.
pub(crate) fn release_as(
    state: &AdminState,
    by: &str,
    server: Option<String>,
    tool: Option<String>,
) -> Result<StatusCode, ApiError> {
    let target = target(server, tool)?;
    if !state.gateway.security().release_quarantine(&target) {
        return Err(ApiError::NotFound(format!("{target} is not quarantined")));
    }
    tracing::warn!(by, target = %target, "Quarantine lifted from the admin API.");
    Ok(StatusCode::NO_CONTENT)
}
