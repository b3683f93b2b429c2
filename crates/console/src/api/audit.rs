//! Audit search (newest first, over the stored chain) and chain verification.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use sallyport_audit::{ChainEntry, StoreConfig, VerifyReport, open_store};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{Authed, blocking};
use crate::error::{ApiError, ErrorBody};
use crate::extract::Params;
use crate::state::AdminState;

/// How many stored events one search looks through at most (newest first).
const MAX_SCANNED: u64 = 200_000;
/// Entries read per page.
const PAGE: u64 = 2_000;

/// One audit event as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct AuditEntryView {
    /// Its place in the chain.
    pub seq: u64,
    /// Its hash (hex).
    pub hash: String,
    /// When (ms since the Unix epoch).
    pub time_unix_ms: u64,
    /// `mcp_request`, `mcp_response`, `response_action`, `retention_purge`, …
    pub event_type: String,
    /// Who.
    pub principal: String,
    /// Their tenant.
    pub tenant: Option<String>,
    /// `mcp://server/tool`.
    pub resource: Option<String>,
    /// The method.
    pub action: String,
    /// `allow`, `deny`, `hold`, …
    pub outcome: String,
    /// Why, for a denial.
    pub reason: Option<String>,
    /// The client's address.
    pub source_ip: Option<String>,
    /// Compliance tags (`GDPR`, `HIPAA`, `SOX`, `PCI`, …).
    pub compliance_tags: Vec<String>,
    /// How many findings.
    pub findings: usize,
}

/// Search filters; all given ones must match.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Principal id (exact).
    pub principal: Option<String>,
    /// Text the resource (`mcp://server/tool`) contains.
    pub resource: Option<String>,
    /// Outcome (exact: `allow`, `deny`, `hold`, …).
    pub outcome: Option<String>,
    /// Event type (exact).
    pub event_type: Option<String>,
    /// A compliance tag the event carries (exact, e.g. `GDPR`).
    pub tag: Option<String>,
    /// Only events at or after this time (ms since the Unix epoch).
    pub since_ms: Option<u64>,
    /// Only events before this time (ms since the Unix epoch).
    pub until_ms: Option<u64>,
    /// At most this many (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Searches the audit trail, newest first.
#[utoipa::path(get, operation_id = "audit_search", path = "/admin/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = [AuditEntryView]), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn search(
    _: Authed,
    State(state): State<Arc<AdminState>>,
    Params(q): Params<AuditQuery>,
) -> Result<Json<Vec<AuditEntryView>>, ApiError> {
    Ok(Json(search_audit(&state, q).await?))
}

/// Matching events, newest first.
pub(crate) async fn search_audit(
    state: &AdminState,
    q: AuditQuery,
) -> Result<Vec<AuditEntryView>, ApiError> {
    let trail = state.audit_trail()?;
    // Committed events only: what a search shows is what verification covers.
    trail
        .log()
        .flush()
        .await
        .map_err(|e| ApiError::internal("flushing the audit trail", e))?;
    let store = trail.log().config().store.clone();
    let limit = crate::extract::limit(q.limit)?;
    blocking("searching the audit trail", move || {
        scan_newest(&store, &q, limit)
    })
    .await
}

fn scan_newest(
    config: &StoreConfig,
    q: &AuditQuery,
    limit: usize,
) -> Result<Vec<AuditEntryView>, ApiError> {
    let fail = |e: sallyport_audit::StoreError| ApiError::internal("reading the audit store", e);
    let mut store = open_store(config).map_err(fail)?;
    let head = store.head().map_err(fail)?.seq;
    let floor = head.saturating_sub(MAX_SCANNED);
    let mut out = Vec::new();
    let mut end = head + 1;
    while end > floor && out.len() < limit {
        let from = end.saturating_sub(PAGE).max(floor);
        let page = store.scan(from, (end - from) as usize).map_err(fail)?;
        for entry in page.iter().rev() {
            if let Some(v) = matching(entry, q) {
                out.push(v);
                if out.len() == limit {
                    break;
                }
            }
        }
        end = from;
    }
    Ok(out)
}

/// The entry as listed, when it matches.
pub(crate) fn matching(entry: &ChainEntry, q: &AuditQuery) -> Option<AuditEntryView> {
    if q.since_ms.is_some_and(|t| entry.time_unix_ms < t)
        || q.until_ms.is_some_and(|t| entry.time_unix_ms >= t)
        || q.event_type
            .as_ref()
            .is_some_and(|t| *t != entry.event_type)
    {
        return None;
    }
    let body: Value = serde_json::from_str(&entry.body).ok()?;
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let tags: Vec<String> = body
        .get("compliance_tags")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let view = AuditEntryView {
        seq: entry.seq,
        hash: hex::encode(entry.hash),
        time_unix_ms: entry.time_unix_ms,
        event_type: entry.event_type.clone(),
        principal: text("principal").unwrap_or_default(),
        tenant: text("tenant"),
        resource: text("resource"),
        action: text("action").unwrap_or_default(),
        outcome: text("outcome").unwrap_or_default(),
        reason: text("reason"),
        source_ip: text("source_ip"),
        findings: body
            .get("findings")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
        compliance_tags: tags,
    };
    let keep = q.principal.as_ref().is_none_or(|p| *p == view.principal)
        && q.outcome.as_ref().is_none_or(|o| *o == view.outcome)
        && q.resource.as_ref().is_none_or(|r| {
            view.resource
                .as_deref()
                .is_some_and(|v| v.contains(r.as_str()))
        })
        && q.tag.as_ref().is_none_or(|t| {
            view.compliance_tags
                .iter()
                .any(|x| x.eq_ignore_ascii_case(t))
        });
    keep.then_some(view)
}

/// The result of verifying the chain.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VerifyView {
    /// Whether the whole chain and every checkpoint verified.
    pub ok: bool,
    /// Events checked.
    pub events_checked: u64,
    /// The head's sequence number.
    pub head_seq: u64,
    /// Signed checkpoints verified.
    pub checkpoints_checked: u64,
    /// The key that signs checkpoints (its id).
    pub key_id: String,
    /// The first break: `seq`, `kind`, `detail`.
    #[schema(value_type = Option<Object>)]
    pub first_break: Option<Value>,
    /// The full report.
    #[schema(value_type = Object)]
    pub report: Value,
}

/// Verifies the audit chain and its signed checkpoints.
#[utoipa::path(get, operation_id = "audit_verify", path = "/admin/audit/verify", tag = "audit",
    responses((status = 200, body = VerifyView), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn verify(
    _: Authed,
    State(state): State<Arc<AdminState>>,
) -> Result<Json<VerifyView>, ApiError> {
    Ok(Json(verify_chain(&state).await?))
}

/// Flushes, then verifies the chain.
pub(crate) async fn verify_chain(state: &AdminState) -> Result<VerifyView, ApiError> {
    let trail = state.audit_trail()?;
    let log = trail.log();
    log.flush()
        .await
        .map_err(|e| ApiError::internal("flushing the audit trail", e))?;
    let report: VerifyReport = log
        .verify()
        .await
        .map_err(|e| ApiError::internal("verifying the audit trail", e))?;
    Ok(VerifyView {
        ok: report.ok,
        events_checked: report.events_checked,
        head_seq: report.head_seq,
        checkpoints_checked: report.checkpoints_checked,
        key_id: log.verifying_key().key_id(),
        first_break: report
            .first_break
            .as_ref()
            .and_then(|b| serde_json::to_value(b).ok()),
        report: serde_json::to_value(&report).unwrap_or(Value::Null),
    })
}
