//! Blocks on principals and addresses: the response orchestrator's, and operators'.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sallyport_respond::{BlockEntry, BlockTarget};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Body, Params, PathParams};
use crate::state::AdminState;

/// The longest block an operator may set: 10 years.
const MAX_BLOCK_SECS: u64 = 10 * 365 * 86_400;

/// One block.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BlockView {
    /// `ip` or `principal`.
    pub kind: String,
    /// The address or principal id.
    pub value: String,
    /// The principal's tenant.
    pub tenant: Option<String>,
    /// Why.
    pub reason: String,
    /// Seconds left; absent for a block lasting until unblocked.
    pub remaining_secs: Option<u64>,
}

impl From<BlockEntry> for BlockView {
    fn from(b: BlockEntry) -> Self {
        let (kind, value, tenant) = match b.target {
            BlockTarget::Ip { ip } => ("ip", ip.to_string(), None),
            BlockTarget::Principal { id, tenant } => ("principal", id, tenant),
        };
        Self {
            kind: kind.into(),
            value,
            tenant,
            reason: b.reason,
            remaining_secs: b.remaining_secs,
        }
    }
}

/// A block to add: exactly one of `ip` and `principal`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewBlock {
    /// A client address.
    pub ip: Option<String>,
    /// A principal id.
    pub principal: Option<String>,
    /// The principal's tenant.
    pub tenant: Option<String>,
    /// How long (default: until unblocked; a restart lifts it too unless `security_state` is set).
    #[schema(minimum = 1, maximum = 315_360_000)]
    pub duration_secs: Option<u64>,
    /// Why (recorded).
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// A principal's tenant.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TenantQuery {
    /// The principal's tenant.
    tenant: Option<String>,
}

/// Lists current blocks.
#[utoipa::path(get, operation_id = "blocks_list", path = "/admin/blocks", tag = "response",
    responses((status = 200, body = [BlockView]), (status = 401, body = ErrorBody)))]
pub(crate) async fn list(_: Authed, State(state): State<Arc<AdminState>>) -> Json<Vec<BlockView>> {
    Json(block_views(&state))
}

/// The current blocks.
pub(crate) fn block_views(state: &AdminState) -> Vec<BlockView> {
    state
        .gateway
        .security()
        .list()
        .into_iter()
        .map(BlockView::from)
        .collect()
}

/// Blocks an address or a principal at the HTTP edge.
#[utoipa::path(post, operation_id = "blocks_add", path = "/admin/blocks", tag = "response", request_body = NewBlock,
    responses((status = 201, body = [BlockView]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn add(
    Authed(op): Authed,
    State(state): State<Arc<AdminState>>,
    Body(b): Body<NewBlock>,
) -> Result<(StatusCode, Json<Vec<BlockView>>), ApiError> {
    op.require_admin()?;
    let reason = format!(
        "operator {}: {}",
        op.name,
        b.reason.as_deref().unwrap_or("blocked from the admin API")
    );
    if reason.chars().count() > 600 {
        return Err(ApiError::BadRequest(
            "reason is longer than 500 characters".into(),
        ));
    }
    if b.duration_secs
        .is_some_and(|d| !(1..=MAX_BLOCK_SECS).contains(&d))
    {
        return Err(ApiError::BadRequest(format!(
            "duration_secs must be 1 to {MAX_BLOCK_SECS} (10 years); leave it out for a block until unblocked"
        )));
    }
    let duration = b.duration_secs.map(Duration::from_secs);
    let security = state.gateway.security();
    let now = Instant::now();
    match (&b.ip, &b.principal) {
        (Some(ip), None) => {
            let ip: IpAddr = ip.parse().map_err(|_| {
                ApiError::BadRequest(format!("ip {ip:?} is not an IPv4 or IPv6 address"))
            })?;
            security.block_ip(ip, duration, &reason, now);
        }
        (None, Some(id)) if !id.is_empty() => {
            security.block_principal(id, b.tenant.as_deref(), duration, &reason, now);
        }
        _ => {
            return Err(ApiError::BadRequest(
                "give exactly one of ip and principal (non-empty)".into(),
            ));
        }
    }
    tracing::warn!(by = %op.name, ip = ?b.ip, principal = ?b.principal, "Block added from the admin API.");
    Ok((StatusCode::CREATED, Json(block_views(&state))))
}

/// Lifts the block on an address.
#[utoipa::path(delete, operation_id = "blocks_unblock_ip", path = "/admin/blocks/ip/{ip}", tag = "response",
    params(("ip" = String, Path, description = "The blocked address")),
    responses((status = 204, description = "Unblocked"), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn unblock_ip(
    Authed(op): Authed,
    State(state): State<Arc<AdminState>>,
    PathParams(ip): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    op.require_admin()?;
    let addr: IpAddr = ip
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("{ip:?} is not an IPv4 or IPv6 address")))?;
    if !state.gateway.security().unblock_ip(addr) {
        return Err(ApiError::NotFound(format!("{addr} is not blocked")));
    }
    tracing::warn!(by = %op.name, %addr, "Address unblocked from the admin API.");
    Ok(StatusCode::NO_CONTENT)
}

/// Lifts the block on a principal.
#[utoipa::path(delete, operation_id = "blocks_unblock_principal", path = "/admin/blocks/principal/{id}", tag = "response",
    params(("id" = String, Path, description = "The blocked principal"), TenantQuery),
    responses((status = 204, description = "Unblocked"), (status = 404, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn unblock_principal(
    Authed(op): Authed,
    State(state): State<Arc<AdminState>>,
    PathParams(id): PathParams<String>,
    Params(q): Params<TenantQuery>,
) -> Result<StatusCode, ApiError> {
    op.require_admin()?;
    unblock_principal_as(&state, &op.name, &id, q.tenant.as_deref())
}

/// Lifts a principal's block, or 404.
pub(crate) fn unblock_principal_as(
    state: &AdminState,
    by: &str,
    id: &str,
    tenant: Option<&str>,
) -> Result<StatusCode, ApiError> {
    if !state.gateway.security().unblock_principal(id, tenant) {
        return Err(ApiError::NotFound(format!("principal {id} is not blocked")));
    }
    tracing::warn!(
        by,
        principal = id,
        "Principal unblocked from the admin API."
    );
    Ok(StatusCode::NO_CONTENT)
}
