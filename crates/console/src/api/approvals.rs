//! The approval queue: held calls waiting for an operator, and their decisions.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use sallyport_approvals::{Approval, ApprovalError, ApprovalState, now_ms};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Authed, blocking};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{OptionalBody, Params, PathParams};
use crate::state::AdminState;

/// One approval request.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApprovalView {
    /// The request id.
    pub id: String,
    /// `pending`, `approved`, `denied`, `used` or `expired`.
    pub state: String,
    /// Who made the call.
    pub principal: String,
    /// Their tenant.
    pub tenant: Option<String>,
    /// The upstream.
    pub server: String,
    /// The upstream-local tool.
    pub tool: String,
    /// `sha256:` digest of the arguments (as in the audit record's `arguments_sha256`).
    pub args_digest: String,
    /// Why the call was held.
    pub reason: String,
    /// When it was requested (ms since the Unix epoch).
    pub requested_ms: u64,
    /// When it stops being pending (or usable, once approved).
    pub expires_ms: u64,
    /// Who decided.
    pub decided_by: Option<String>,
    /// The operator's note.
    pub note: Option<String>,
}

impl From<&Approval> for ApprovalView {
    fn from(a: &Approval) -> Self {
        Self {
            id: a.id.clone(),
            state: a.state.as_str().to_owned(),
            principal: a.binding.principal.clone(),
            tenant: a.binding.tenant.clone(),
            server: a.binding.server.clone(),
            tool: a.binding.tool.clone(),
            args_digest: a.binding.args_digest.clone(),
            reason: a.reason.clone(),
            requested_ms: a.requested_ms,
            expires_ms: a.expires_ms,
            decided_by: a.decided_by.clone(),
            note: a.note.clone(),
        }
    }
}

/// Which requests to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Every request, decided and expired too (default: pending only).
    all: Option<bool>,
    /// At most this many (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// A decision's note.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecisionBody {
    /// A note for the record (and, on a denial, for the caller).
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// Lists approval requests, newest first.
#[utoipa::path(get, operation_id = "approvals_list", path = "/admin/approvals", tag = "approvals", params(ListQuery),
    responses((status = 200, body = [ApprovalView]), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn list(
    _: Authed,
    State(state): State<Arc<AdminState>>,
    Params(q): Params<ListQuery>,
) -> Result<Json<Vec<ApprovalView>>, ApiError> {
    let limit = crate::extract::limit(q.limit)?;
    Ok(Json(
        list_approvals(&state, q.all.unwrap_or(false), limit).await?,
    ))
}

/// Requests, newest first.
pub(crate) async fn list_approvals(
    state: &Arc<AdminState>,
    all: bool,
    limit: usize,
) -> Result<Vec<ApprovalView>, ApiError> {
    let st = state.clone();
    blocking("listing approvals", move || {
        let approvals = approvals_of(&st)?;
        let filter = (!all).then_some(ApprovalState::Pending);
        let list = approvals
            .store()
            .list(filter, now_ms(), limit)
            .map_err(|e| ApiError::internal("listing approvals", e))?;
        Ok(list.iter().map(ApprovalView::from).collect())
    })
    .await
}

fn approvals_of(
    state: &AdminState,
) -> Result<&Arc<sallyport_transport::approvals::Approvals>, ApiError> {
    state.gateway.approvals().ok_or_else(|| {
        ApiError::NotConfigured(
            "no approval store: configure the approvals section (held calls are refused at once)"
                .into(),
        )
    })
}

/// Approves a pending request: it admits the exact call it was filed for, once.
#[utoipa::path(post, operation_id = "approvals_approve", path = "/admin/approvals/{id}/approve", tag = "approvals",
    params(("id" = String, Path, description = "The request id or a unique prefix of at least 6 characters")),
    request_body(content = Option<DecisionBody>),
    responses((status = 200, body = ApprovalView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn approve(
    Authed(op): Authed,
    State(state): State<Arc<AdminState>>,
    PathParams(id): PathParams<String>,
    OptionalBody(body): OptionalBody<DecisionBody>,
) -> Result<Json<ApprovalView>, ApiError> {
    op.require_admin()?;
    let note = body.and_then(|b| b.note);
    Ok(Json(decide(&state, id, true, op.name, note).await?))
}

/// Denies a pending request: the waiting call, and retries of it, are refused.
#[utoipa::path(post, operation_id = "approvals_deny", path = "/admin/approvals/{id}/deny", tag = "approvals",
    params(("id" = String, Path, description = "The request id or a unique prefix of at least 6 characters")),
    request_body(content = Option<DecisionBody>),
    responses((status = 200, body = ApprovalView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn deny(
    Authed(op): Authed,
    State(state): State<Arc<AdminState>>,
    PathParams(id): PathParams<String>,
    OptionalBody(body): OptionalBody<DecisionBody>,
) -> Result<Json<ApprovalView>, ApiError> {
    op.require_admin()?;
    let note = body.and_then(|b| b.note);
    Ok(Json(decide(&state, id, false, op.name, note).await?))
}

/// Approves or denies a pending request.
pub(crate) async fn decide(
    state: &Arc<AdminState>,
    id: String,
    approve: bool,
    by: String,
    note: Option<String>,
) -> Result<ApprovalView, ApiError> {
    if id.len() < 6 {
        return Err(ApiError::BadRequest(
            "give the request id or a prefix of at least 6 characters".into(),
        ));
    }
    if note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(ApiError::BadRequest(
            "the note is longer than 1000 characters".into(),
        ));
    }
    let st = state.clone();
    blocking("deciding an approval", move || {
        let approvals = approvals_of(&st)?;
        let now = now_ms();
        let decided = if approve {
            let valid_ms = approvals.config().valid_secs.saturating_mul(1000);
            approvals.store().approve(&id, &by, note.as_deref(), now, valid_ms)
        } else {
            approvals.store().deny(&id, &by, note.as_deref(), now)
        };
        let a = decided.map_err(|e| match e {
            ApprovalError::NotFound(_) => ApiError::NotFound(e.to_string()),
            ApprovalError::Ambiguous(_) | ApprovalError::NotPending { .. } => {
                ApiError::Conflict(e.to_string())
            }
            other => ApiError::internal("deciding an approval", other),
        })?;
        tracing::info!(id = %a.id, state = a.state.as_str(), by = %by, "Approval decided from the admin API.");
        Ok(ApprovalView::from(&a))
    })
    .await
}
