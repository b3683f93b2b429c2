//! Servers and their health, the tool inventory with findings and pins, and operators'
//! decisions on drifted or new tools.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use sallyport_detect::{DetectConfig, KnownTool, Severity, scan_definition};
use sallyport_guards::{Pin, describe_pin_key};
use sallyport_limits::BreakerState;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{Authed, blocking};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Params, PathParams};
use crate::state::AdminState;

/// One upstream server.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ServerView {
    /// Its name in the config.
    pub name: String,
    /// `stdio`, `http` or `sse`.
    pub transport: String,
    /// Whether its tools are exposed as `name__tool`.
    pub prefix: bool,
    /// The last health check (absent until one ran, or without `limits.health_check`).
    pub healthy: Option<bool>,
    /// The last health check's error.
    pub health_error: Option<String>,
    /// The server's circuit breaker: `closed`, `open` or `half_open`.
    pub breaker: String,
}

/// Lists the upstream servers with their health and breaker state.
#[utoipa::path(get, operation_id = "inventory_servers", path = "/admin/servers", tag = "inventory",
    responses((status = 200, body = [ServerView]), (status = 401, body = ErrorBody)))]
pub(crate) async fn servers(
    _: Authed,
    State(state): State<Arc<AdminState>>,
) -> Json<Vec<ServerView>> {
    Json(server_views(&state))
}

/// The servers as listed.
pub(crate) fn server_views(state: &AdminState) -> Vec<ServerView> {
    let core = state.gateway.core();
    let health = state.gateway.health_board().snapshot();
    core.federation
        .servers()
        .iter()
        .map(|s| {
            let h = health.get(&*s.name);
            ServerView {
                name: s.name.to_string(),
                transport: s.kind.as_str().to_owned(),
                prefix: s.prefix,
                healthy: h.and_then(|h| h.get("healthy")).and_then(Value::as_bool),
                health_error: h
                    .and_then(|h| h.get("error"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                breaker: breaker_name(core.traffic.breakers().state(&s.name, None)).to_owned(),
            }
        })
        .collect()
}

fn breaker_name(state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => "closed",
        BreakerState::Open => "open",
        BreakerState::HalfOpen => "half_open",
    }
}

/// One detector finding on a tool definition.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct FindingView {
    /// The rule that matched.
    pub rule_id: String,
    /// `info`, `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// Where in the definition (`description`, `inputSchema.properties.x.description`).
    pub path: String,
    /// The matched text, shortened.
    pub excerpt: String,
}

/// A pinned tool.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ToolView {
    /// The upstream.
    pub server: String,
    /// The pin key: a tool's upstream-local name, or `prompt:`, `template:` or `resource:`
    /// and the item's name or URI (what the approve and reject paths take).
    pub tool: String,
    /// What the pin is of: `tool`, `prompt`, `resource template` or `resource`.
    pub kind: String,
    /// The item's own name (tools, prompts) or URI (resource templates, resources).
    pub name: String,
    /// `approved`, or why it is held: `drift`, `new`, `threat`.
    pub state: String,
    /// The worst finding's severity, or `none`.
    pub risk: String,
    /// Findings on the last seen definition.
    pub findings: Vec<FindingView>,
    /// Hash of the last seen definition.
    pub seen_hash: String,
    /// Hash of the approved definition.
    pub approved_hash: Option<String>,
    /// What was found: the drift's changed paths, or the findings.
    pub detail: Option<String>,
    /// Last change (ms since the Unix epoch).
    pub updated_ms: u64,
}

/// A pinned tool with both definitions, for a side-by-side diff.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ToolDetail {
    /// The tool.
    #[serde(flatten)]
    pub tool: ToolView,
    /// The approved definition (absent for a tool never approved).
    #[schema(value_type = Option<Object>)]
    pub approved_definition: Option<Value>,
    /// The last seen definition.
    #[schema(value_type = Object)]
    pub seen_definition: Value,
}

/// Filter for the tool list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ToolsQuery {
    /// Only this server.
    server: Option<String>,
    /// Only held tools.
    held: Option<bool>,
}

/// Lists pinned tools, held ones first, with findings and risk.
#[utoipa::path(get, operation_id = "inventory_tools", path = "/admin/tools", tag = "inventory", params(ToolsQuery),
    responses((status = 200, body = [ToolView]), (status = 401, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "no pin store configured")))]
pub(crate) async fn tools(
    _: Authed,
    State(state): State<Arc<AdminState>>,
    Params(q): Params<ToolsQuery>,
) -> Result<Json<Vec<ToolView>>, ApiError> {
    Ok(Json(
        tool_views(&state, q.server, q.held.unwrap_or(false)).await?,
    ))
}

/// The pinned tools, held ones first.
pub(crate) async fn tool_views(
    state: &AdminState,
    server: Option<String>,
    held_only: bool,
) -> Result<Vec<ToolView>, ApiError> {
    let store = state.pin_store()?.clone();
    let pins = blocking("listing pins", move || {
        store
            .list(server.as_deref())
            .map_err(|e| ApiError::internal("listing pins", e))
    })
    .await?;
    let mut views: Vec<ToolView> = pins
        .iter()
        .filter(|p| !held_only || p.held.is_some())
        .map(view)
        .collect();
    views.sort_by_key(|v| (v.state == "approved", v.server.clone(), v.tool.clone()));
    Ok(views)
}

/// One pinned tool with both definitions.
#[utoipa::path(get, operation_id = "inventory_tool", path = "/admin/tools/{server}/{tool}", tag = "inventory",
    params(("server" = String, Path, description = "The upstream"), ("tool" = String, Path, description = "The upstream-local tool name")),
    responses((status = 200, body = ToolDetail), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn tool(
    _: Authed,
    State(state): State<Arc<AdminState>>,
    PathParams((server, tool)): PathParams<(String, String)>,
) -> Result<Json<ToolDetail>, ApiError> {
    Ok(Json(tool_detail(&state, server, tool).await?))
}

/// One pinned tool, or 404.
pub(crate) async fn tool_detail(
    state: &AdminState,
    server: String,
    tool: String,
) -> Result<ToolDetail, ApiError> {
    let pin = get_pin(state, server, tool).await?;
    let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
    Ok(ToolDetail {
        approved_definition: pin.approved_definition.as_deref().map(parse),
        seen_definition: parse(&pin.seen_definition),
        tool: view(&pin),
    })
}

async fn get_pin(state: &AdminState, server: String, tool: String) -> Result<Pin, ApiError> {
    let store = state.pin_store()?.clone();
    blocking("reading a pin", move || {
        store
            .get(&server, &tool)
            .map_err(|e| ApiError::internal("reading a pin", e))?
            .ok_or_else(|| ApiError::NotFound(format!("no pinned tool {tool} of server {server}")))
    })
    .await
}

/// Approves the last seen definition of a held tool: calls to it are allowed again.
#[utoipa::path(post, operation_id = "inventory_approve", path = "/admin/tools/{server}/{tool}/approve", tag = "inventory",
    params(("server" = String, Path, description = "The upstream"), ("tool" = String, Path, description = "The upstream-local tool name")),
    responses((status = 200, body = ToolView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn approve(
    Authed(op): Authed,
    State(state): State<Arc<AdminState>>,
    PathParams((server, tool)): PathParams<(String, String)>,
) -> Result<Json<ToolView>, ApiError> {
    op.require_admin()?;
    Ok(Json(approve_tool(&state, &op.name, server, tool).await?))
}

/// Approves a pinned tool's seen definition.
pub(crate) async fn approve_tool(
    state: &AdminState,
    by: &str,
    server: String,
    tool: String,
) -> Result<ToolView, ApiError> {
    let store = state.pin_store()?.clone();
    let (s, t) = (server.clone(), tool.clone());
    let pin = blocking("approving a tool", move || {
        sallyport_guards::approve(&store, &s, &t)
            .map_err(|e| ApiError::internal("approving a tool", e))?
            .ok_or_else(|| ApiError::NotFound(format!("no pinned tool {t} of server {s}")))
    })
    .await?;
    tracing::info!(%server, %tool, by, hash = %pin.seen_hash, "Tool definition approved from the admin API.");
    Ok(view(&pin))
}

/// Rejects a held tool's new definition: it stays held (calls refused, listed as
/// unavailable) and the rejection is recorded in its detail.
#[utoipa::path(post, operation_id = "inventory_reject", path = "/admin/tools/{server}/{tool}/reject", tag = "inventory",
    params(("server" = String, Path, description = "The upstream"), ("tool" = String, Path, description = "The upstream-local tool name")),
    responses((status = 200, body = ToolView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn reject(
    Authed(op): Authed,
    State(state): State<Arc<AdminState>>,
    PathParams((server, tool)): PathParams<(String, String)>,
) -> Result<Json<ToolView>, ApiError> {
    op.require_admin()?;
    Ok(Json(reject_tool(&state, &op.name, server, tool).await?))
}

/// Keeps a held tool held, noting who rejected it.
pub(crate) async fn reject_tool(
    state: &AdminState,
    by: &str,
    server: String,
    tool: String,
) -> Result<ToolView, ApiError> {
    let mut pin = get_pin(state, server.clone(), tool.clone()).await?;
    if pin.held.is_none() {
        return Err(ApiError::Conflict(format!(
            "{server}/{tool} is not held: its current definition is the approved one"
        )));
    }
    let note = format!("rejected by {by}");
    pin.detail = Some(match pin.detail.take() {
        Some(d) if !d.starts_with("rejected by") => format!("{note}; {d}"),
        Some(d) => format!("{note}; {}", d.split_once("; ").map_or("", |x| x.1)),
        None => note,
    });
    let store = state.pin_store()?.clone();
    let saved = pin.clone();
    blocking("rejecting a tool", move || {
        store
            .put(&saved)
            .map_err(|e| ApiError::internal("rejecting a tool", e))
    })
    .await?;
    tracing::warn!(%server, %tool, by, "Tool definition rejected from the admin API; it stays held.");
    Ok(view(&pin))
}

/// A pin as listed, with its definition scanned.
fn view(pin: &Pin) -> ToolView {
    let def: Value = serde_json::from_str(&pin.seen_definition).unwrap_or(Value::Null);
    let no_others: [KnownTool<'_>; 0] = [];
    let report = scan_definition(&def, &no_others, &DetectConfig::default());
    let worst = report.findings.iter().map(|f| f.severity).max();
    let (kind, name) = describe_pin_key(&pin.tool);
    ToolView {
        server: pin.server.clone(),
        tool: pin.tool.clone(),
        kind: kind.to_owned(),
        name: name.to_owned(),
        state: pin.held.map_or("approved", |h| h.as_str()).to_owned(),
        risk: worst.map_or("none", severity_name).to_owned(),
        findings: report
            .findings
            .iter()
            .map(|f| FindingView {
                rule_id: f.rule_id.to_owned(),
                severity: severity_name(f.severity).to_owned(),
                path: f.path.clone(),
                excerpt: f.excerpt.chars().take(200).collect(),
            })
            .collect(),
        seen_hash: pin.seen_hash.clone(),
        approved_hash: pin.approved_hash.clone(),
        detail: pin.detail.clone(),
        updated_ms: pin.updated_ms,
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(key: &str) -> Pin {
        Pin {
            server: "w".into(),
            tool: key.into(),
            held: None,
            approved_hash: None,
            approved_nameless: None,
            approved_definition: None,
            seen_hash: "h".into(),
            seen_definition: r#"{"name":"x","description":"A thing."}"#.into(),
            detail: None,
            updated_ms: 0,
        }
    }

    /// The inventory says what each pin is of, so a held prompt or resource is not shown as
    /// a tool named `prompt:…`; the key stays what approve and reject take.
    #[test]
    fn views_name_the_kind_of_each_pin() {
        for (key, kind, name) in [
            ("get_weather", "tool", "get_weather"),
            ("prompt:summarize", "prompt", "summarize"),
            (
                "template:file:///logs/{day}",
                "resource template",
                "file:///logs/{day}",
            ),
            (
                "resource:file:///README.md",
                "resource",
                "file:///README.md",
            ),
        ] {
            let v = view(&pin(key));
            assert_eq!(
                (v.kind.as_str(), v.name.as_str(), v.tool.as_str()),
                (kind, name, key)
            );
        }
    }
}
