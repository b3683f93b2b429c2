//! The console's pages (GET): each gathers what the admin API would return and renders it.

use std::sync::Arc;

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::diff::{DiffRow, side_by_side};
use super::{ConsoleUser, PageError, format_ms, render};
use crate::api::approvals::{ApprovalView, list_approvals};
use crate::api::audit::{AuditEntryView, AuditQuery, VerifyView, search_audit};
use crate::api::blocks::{BlockView, block_views};
use crate::api::compliance::{Period, SignedReport, signed_report};
use crate::api::events::{EventFilter, decision_stream};
use crate::api::incidents::{IncidentView, list_incidents};
use crate::api::inventory::{ServerView, ToolView, server_views, tool_detail, tool_views};
use crate::api::quarantines::{QuarantineView, quarantine_views};
use crate::api::traffic::{TrafficView, traffic_view};
use crate::error::ApiError;
use crate::state::AdminState;

/// What every page shows in its header.
pub(crate) struct Chrome {
    pub(crate) operator: String,
    pub(crate) role: String,
    pub(crate) csrf: String,
    pub(crate) active: &'static str,
}

impl Chrome {
    pub(crate) fn of(user: &ConsoleUser, active: &'static str) -> Self {
        let op = &user.session.operator;
        Self {
            operator: op.name.clone(),
            role: if op.role == sallyport_config::admin::AdminRole::Admin {
                "admin".into()
            } else {
                "viewer".into()
            },
            csrf: user.session.csrf.clone(),
            active,
        }
    }
}

/// Either the value or why the section is not shown (a store not configured).
fn shown<T>(r: Result<T, ApiError>) -> Result<(T, Option<String>), PageError>
where
    T: Default,
{
    match r {
        Ok(v) => Ok((v, None)),
        Err(ApiError::NotConfigured(m)) => Ok((T::default(), Some(m))),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage {
    pub(crate) status: u16,
    pub(crate) message: String,
}

#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginPage {
    pub(crate) error: Option<String>,
}

/// `GET /console/login`.
pub(crate) async fn login_form() -> Response {
    render(&LoginPage { error: None })
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    chrome: Chrome,
    servers: Vec<ServerView>,
    blocks: Vec<BlockView>,
    quarantines: Vec<QuarantineView>,
    traffic: TrafficView,
    pending_approvals: usize,
    open_incidents: usize,
    held_tools: usize,
}

/// `GET /console/`: servers, breakers, traffic refusals, blocks, quarantines, counts, and
/// the live event table.
pub(crate) async fn overview(
    user: ConsoleUser,
    State(state): State<Arc<AdminState>>,
) -> Result<Response, PageError> {
    let (approvals, _) = shown(list_approvals(&state, false, 1000).await)?;
    let (incidents, _) = shown(list_incidents(&state, false, 1000).await)?;
    let (held, _) = shown(tool_views(&state, None, true).await)?;
    Ok(render(&OverviewPage {
        chrome: Chrome::of(&user, "overview"),
        servers: server_views(&state),
        blocks: block_views(&state),
        quarantines: quarantine_views(&state),
        traffic: traffic_view(&state),
        pending_approvals: approvals.len(),
        open_incidents: incidents.len(),
        held_tools: held.len(),
    }))
}

/// `GET /console/events`: the live decision stream for the overview's table.
pub(crate) async fn events(_: ConsoleUser, State(state): State<Arc<AdminState>>) -> Response {
    decision_stream(&state, EventFilter::default()).into_response()
}

#[derive(Template)]
#[template(path = "tools.html")]
struct ToolsPage {
    chrome: Chrome,
    tools: Vec<ToolView>,
    missing: Option<String>,
}

/// `GET /console/tools`: the inventory, held tools first, with risk flags.
pub(crate) async fn tools(
    user: ConsoleUser,
    State(state): State<Arc<AdminState>>,
) -> Result<Response, PageError> {
    let (tools, missing) = shown(tool_views(&state, None, false).await)?;
    Ok(render(&ToolsPage {
        chrome: Chrome::of(&user, "tools"),
        tools,
        missing,
    }))
}

#[derive(Template)]
#[template(path = "tool.html")]
struct ToolPage {
    chrome: Chrome,
    tool: ToolView,
    rows: Vec<DiffRow>,
    changed: usize,
}

/// `GET /console/tools/{server}/{tool}`: the approved and the seen definition side by side.
pub(crate) async fn tool(
    user: ConsoleUser,
    State(state): State<Arc<AdminState>>,
    Path((server, tool)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let detail = tool_detail(&state, server, tool).await?;
    let approved = detail
        .approved_definition
        .clone()
        .unwrap_or(serde_json::Value::Null);
    let rows = side_by_side(&approved, &detail.seen_definition);
    let changed = rows.iter().filter(|r| r.kind != "same").count();
    Ok(render(&ToolPage {
        chrome: Chrome::of(&user, "tools"),
        tool: detail.tool,
        rows,
        changed,
    }))
}

#[derive(Template)]
#[template(path = "approvals.html")]
struct ApprovalsPage {
    chrome: Chrome,
    pending: Vec<ApprovalView>,
    recent: Vec<ApprovalView>,
    missing: Option<String>,
}

/// `GET /console/approvals`: the queue, and the latest decisions.
pub(crate) async fn approvals(
    user: ConsoleUser,
    State(state): State<Arc<AdminState>>,
) -> Result<Response, PageError> {
    let (pending, missing) = shown(list_approvals(&state, false, 200).await)?;
    let (all, _) = shown(list_approvals(&state, true, 50).await)?;
    let recent = all.into_iter().filter(|a| a.state != "pending").collect();
    Ok(render(&ApprovalsPage {
        chrome: Chrome::of(&user, "approvals"),
        pending,
        recent,
        missing,
    }))
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct IncidentsPage {
    chrome: Chrome,
    incidents: Vec<IncidentView>,
    missing: Option<String>,
}

/// `GET /console/incidents`.
pub(crate) async fn incidents(
    user: ConsoleUser,
    State(state): State<Arc<AdminState>>,
) -> Result<Response, PageError> {
    let (incidents, missing) = shown(list_incidents(&state, true, 200).await)?;
    Ok(render(&IncidentsPage {
        chrome: Chrome::of(&user, "incidents"),
        incidents,
        missing,
    }))
}

/// The audit page's search form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditForm {
    #[serde(default)]
    principal: String,
    #[serde(default)]
    resource: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    tag: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
pub(crate) struct AuditPage {
    pub(crate) chrome: Chrome,
    pub(crate) form: AuditForm,
    pub(crate) entries: Vec<AuditEntryView>,
    pub(crate) verified: Option<VerifyView>,
    pub(crate) missing: Option<String>,
}

/// `GET /console/audit`: search, newest first.
pub(crate) async fn audit(
    user: ConsoleUser,
    State(state): State<Arc<AdminState>>,
    Query(form): Query<AuditForm>,
) -> Result<Response, PageError> {
    Ok(render(&audit_page(&state, &user, form, None).await?))
}

/// The audit page with `form`'s results and an optional verification.
pub(crate) async fn audit_page(
    state: &AdminState,
    user: &ConsoleUser,
    form: AuditForm,
    verified: Option<VerifyView>,
) -> Result<AuditPage, PageError> {
    let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let query = AuditQuery {
        principal: some(&form.principal),
        resource: some(&form.resource),
        outcome: some(&form.outcome),
        tag: some(&form.tag),
        limit: Some(200),
        ..AuditQuery::default()
    };
    let (entries, missing) = shown(search_audit(state, query).await)?;
    Ok(AuditPage {
        chrome: Chrome::of(user, "audit"),
        form,
        entries,
        verified,
        missing,
    })
}

/// The compliance page's period, in days back from now.
#[derive(Debug, Deserialize)]
pub(crate) struct DaysForm {
    days: Option<u32>,
}

impl DaysForm {
    fn period(&self) -> (u32, Period) {
        let days = self.days.unwrap_or(30).clamp(1, 3660);
        let now = sallyport_approvals::now_ms();
        let from = now.saturating_sub(u64::from(days) * 86_400_000);
        (
            days,
            Period {
                from_ms: Some(from),
                until_ms: Some(now + 1),
            },
        )
    }
}

#[derive(Template)]
#[template(path = "compliance.html")]
struct CompliancePage {
    chrome: Chrome,
    days: u32,
    signed: Option<SignedReport>,
    missing: Option<String>,
}

/// `GET /console/compliance`: the report for the last `days`, printable.
pub(crate) async fn compliance(
    user: ConsoleUser,
    State(state): State<Arc<AdminState>>,
    Query(form): Query<DaysForm>,
) -> Result<Response, PageError> {
    let (days, period) = form.period();
    let (signed, missing) = match signed_report(&state, period).await {
        Ok(s) => (Some(s), None),
        Err(ApiError::NotConfigured(m)) => (None, Some(m)),
        Err(e) => return Err(e.into()),
    };
    Ok(render(&CompliancePage {
        chrome: Chrome::of(&user, "compliance"),
        days,
        signed,
        missing,
    }))
}

/// `GET /console/compliance.json`: the signed report as a download.
pub(crate) async fn compliance_json(
    _: ConsoleUser,
    State(state): State<Arc<AdminState>>,
    Query(form): Query<DaysForm>,
) -> Result<Response, PageError> {
    let (_, period) = form.period();
    let signed = signed_report(&state, period).await?;
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"sallyport-compliance-report.json\"",
        )],
        Json(signed),
    )
        .into_response())
}

/// Template helper: a time in milliseconds since the epoch, as UTC.
pub(crate) fn when(ms: impl Ms) -> String {
    format_ms(ms.ms())
}

/// Milliseconds however the template passes them.
pub(crate) trait Ms {
    fn ms(&self) -> u64;
}

impl Ms for u64 {
    fn ms(&self) -> u64 {
        *self
    }
}

impl<T: Ms + ?Sized> Ms for &T {
    fn ms(&self) -> u64 {
        (**self).ms()
    }
}
