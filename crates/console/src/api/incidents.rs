//! Incidents: correlation alerts grouped per principal or address, and their handling.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use sallyport_approvals::now_ms;
use sallyport_incidents::{Incident, IncidentError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::approvals::DecisionBody;
use super::{Authed, blocking};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{OptionalBody, Params, PathParams};
use crate::state::AdminState;

/// One incident.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IncidentView {
    /// The incident id.
    pub id: String,
    /// What it is about (`principal=acme/mallory`).
    pub key: String,
    /// The first alert's title.
    pub title: String,
    /// The highest severity of its alerts.
    pub severity: String,
    /// `open`, `acknowledged` or `resolved`.
    pub state: String,
    /// First alert (ms since the Unix epoch).
    pub opened_ms: u64,
    /// Last alert or change.
    pub updated_ms: u64,
    /// How many alerts joined it.
    pub alerts: u64,
    /// The rules that fired.
    pub rules: Vec<String>,
    /// MITRE ATT&CK / ATLAS ids.
    pub mitre: Vec<String>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// The last operator note.
    pub note: Option<String>,
}

impl From<Incident> for IncidentView {
    fn from(i: Incident) -> Self {
        Self {
            state: i.state.as_str().to_owned(),
            id: i.id,
            key: i.key,
            title: i.title,
            severity: i.severity,
            opened_ms: i.opened_ms,
            updated_ms: i.updated_ms,
            alerts: i.alerts,
            rules: i.rules,
            mitre: i.mitre,
            acknowledged_by: i.acknowledged_by,
            resolved_by: i.resolved_by,
            note: i.note,
        }
    }
}

/// An incident with its alerts.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IncidentDetail {
    /// The incident.
    #[serde(flatten)]
    pub incident: IncidentView,
    /// Its alerts, oldest first, each as the alert's JSON.
    #[schema(value_type = Vec<Object>)]
    pub alert_details: Vec<serde_json::Value>,
}

/// Which incidents to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Resolved ones too (default: open and acknowledged).
    all: Option<bool>,
    /// At most this many (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Lists incidents, most recently updated first.
#[utoipa::path(get, operation_id = "incidents_list", path = "/admin/incidents", tag = "response", params(ListQuery),
    responses((status = 200, body = [IncidentView]), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn list(
    _: Authed,
    State(state): State<Arc<AdminState>>,
    Params(q): Params<ListQuery>,
) -> Result<Json<Vec<IncidentView>>, ApiError> {
    let limit = crate::extract::limit(q.limit)?;
    Ok(Json(
        list_incidents(&state, q.all.unwrap_or(false), limit).await?,
    ))
}

/// Incidents, most recently updated first.
pub(crate) async fn list_incidents(
    state: &AdminState,
    all: bool,
    limit: usize,
) -> Result<Vec<IncidentView>, ApiError> {
    let store = state.incident_store()?.clone();
    blocking("listing incidents", move || {
        let list = store
            .list(all, limit)
            .map_err(|e| ApiError::internal("listing incidents", e))?;
        Ok(list.into_iter().map(IncidentView::from).collect())
    })
    .await
}

/// One incident with its alerts.
#[utoipa::path(get, operation_id = "incidents_show", path = "/admin/incidents/{id}", tag = "response",
    params(("id" = String, Path, description = "The incident id")),
    responses((status = 200, body = IncidentDetail), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn show(
    _: Authed,
    State(state): State<Arc<AdminState>>,
    PathParams(id): PathParams<String>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let store = state.incident_store()?.clone();
    let detail = blocking("reading an incident", move || {
        let incident = store
            .get(&id)
            .map_err(|e| ApiError::internal("reading an incident", e))?
            .ok_or_else(|| ApiError::NotFound(format!("no incident {id}")))?;
        let alerts = store
            .alerts(&id)
            .map_err(|e| ApiError::internal("reading an incident", e))?;
        Ok(IncidentDetail {
            incident: incident.into(),
            alert_details: alerts
                .iter()
                .map(|a| serde_json::from_str(&a.detail).unwrap_or(serde_json::Value::Null))
                .collect(),
        })
    })
    .await?;
    Ok(Json(detail))
}

/// Acknowledges an open incident.
#[utoipa::path(post, operation_id = "incidents_acknowledge", path = "/admin/incidents/{id}/acknowledge", tag = "response",
    params(("id" = String, Path, description = "The incident id")), request_body(content = Option<DecisionBody>),
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn acknowledge(
    Authed(op): Authed,
    State(state): State<Arc<AdminState>>,
    PathParams(id): PathParams<String>,
    OptionalBody(body): OptionalBody<DecisionBody>,
) -> Result<Json<IncidentView>, ApiError> {
    op.require_admin()?;
    let note = body.and_then(|b| b.note);
    Ok(Json(change(&state, id, false, op.name, note).await?))
}

/// Resolves an open or acknowledged incident.
#[utoipa::path(post, operation_id = "incidents_resolve", path = "/admin/incidents/{id}/resolve", tag = "response",
    params(("id" = String, Path, description = "The incident id")), request_body(content = Option<DecisionBody>),
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn resolve(
    Authed(op): Authed,
    State(state): State<Arc<AdminState>>,
    PathParams(id): PathParams<String>,
    OptionalBody(body): OptionalBody<DecisionBody>,
) -> Result<Json<IncidentView>, ApiError> {
    op.require_admin()?;
    let note = body.and_then(|b| b.note);
    Ok(Json(change(&state, id, true, op.name, note).await?))
}

/// Acknowledges or resolves an incident.
pub(crate) async fn change(
    state: &AdminState,
    id: String,
    resolve: bool,
    by: String,
    note: Option<String>,
) -> Result<IncidentView, ApiError> {
    if note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(ApiError::BadRequest(
            "the note is longer than 1000 characters".into(),
        ));
    }
    let store = state.incident_store()?.clone();
    blocking("changing an incident", move || {
        let now = now_ms();
        let changed = if resolve {
            store.resolve(&id, &by, note.as_deref(), now)
        } else {
            store.acknowledge(&id, &by, note.as_deref(), now)
        };
        let incident = changed.map_err(|e| match e {
            IncidentError::NotFound(_) => ApiError::NotFound(e.to_string()),
            IncidentError::Sql(_) | IncidentError::Open { .. } => {
                ApiError::internal("changing an incident", e)
            }
            other => ApiError::Conflict(other.to_string()),
        })?;
        tracing::info!(id = %incident.id, state = incident.state.as_str(), by = %by, "Incident changed from the admin API.");
        Ok(incident.into())
    })
    .await
}
