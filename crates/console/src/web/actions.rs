//! The console's actions (POST forms): each checks the CSRF token and the role, then calls
//! the same function as the admin API and redirects back (303).

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::{AuditForm, LoginPage, audit_page};
use super::{ConsoleUser, PageError, check_form, render, session_cookie};
use crate::api::approvals::decide;
use crate::api::audit::verify_chain;
use crate::api::blocks::unblock_principal_as;
use crate::api::incidents::change;
use crate::api::inventory::{approve_tool as approve_pin, reject_tool as reject_pin};
use crate::api::quarantines::release_as;
use crate::error::ApiError;
use crate::operator::Presented;
use crate::sessions::COOKIE;
use crate::state::AdminState;
use sallyport_transport::downstream::http::PeerCertificate;

/// The login form.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    token: String,
}

/// `POST /console/login`: a valid credential starts a session.
pub(crate) async fn login(
    State(state): State<Arc<AdminState>>,
    cert: Option<axum::Extension<PeerCertificate>>,
    Form(form): Form<LoginForm>,
) -> Response {
    // An empty token logs in with the client certificate, when the listener verified one.
    let token = form.token.trim();
    let presented = Presented {
        authorization: (!token.is_empty()).then(|| format!("Bearer {token}")),
        peer_certificate: cert.map(|c| c.0.0),
        ..Presented::default()
    };
    match state.operator(&presented).await {
        Ok(mut operator) => {
            tracing::info!(operator = %operator.name, via = %operator.via, "Console login.");
            operator.via = format!("console_session ({})", operator.via);
            let (id, _) = state.sessions.start(operator);
            let cookie = format!(
                "{COOKIE}={id}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
                state.sessions.ttl_secs()
            );
            let mut resp = Redirect::to("/console/").into_response();
            *resp.status_mut() = StatusCode::SEE_OTHER;
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) => {
            tracing::warn!(error = %e, "Console login refused.");
            let page = LoginPage {
                error: Some(format!("Not logged in: {e}")),
            };
            (StatusCode::UNAUTHORIZED, render(&page)).into_response()
        }
    }
}

/// A form with only the CSRF token (and an optional note).
#[derive(Deserialize)]
pub(crate) struct TokenForm {
    csrf: String,
    #[serde(default)]
    note: String,
}

/// `POST /console/logout`.
pub(crate) async fn logout(
    user: ConsoleUser,
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    check_form(&user, &headers, &form.csrf)?;
    if let Some(id) = session_cookie(&headers) {
        state.sessions.end(&id);
    }
    let mut resp = back("/console/login");
    let clear = format!("{COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

fn back(to: &str) -> Response {
    Redirect::to(to).into_response()
}

fn admin(user: &ConsoleUser) -> Result<String, PageError> {
    user.session.operator.require_admin()?;
    Ok(user.session.operator.name.clone())
}

fn note(form: &TokenForm) -> Option<String> {
    let n = form.note.trim();
    (!n.is_empty()).then(|| n.to_owned())
}

/// `POST /console/tools/{server}/{tool}/approve`.
pub(crate) async fn approve_tool(
    user: ConsoleUser,
    State(state): State<Arc<AdminState>>,
    Path((server, tool)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    check_form(&user, &headers, &form.csrf)?;
    let by = admin(&user)?;
    approve_pin(&state, &by, server, tool).await?;
    Ok(back("/console/tools"))
}

/// `POST /console/tools/{server}/{tool}/reject`.
pub(crate) async fn reject_tool(
    user: ConsoleUser,
    State(state): State<Arc<AdminState>>,
    Path((server, tool)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    check_form(&user, &headers, &form.csrf)?;
    let by = admin(&user)?;
    reject_pin(&state, &by, server, tool).await?;
    Ok(back("/console/tools"))
}

/// `POST /console/approvals/{id}/{approve|deny}`.
pub(crate) async fn decide_approval(
    user: ConsoleUser,
    State(state): State<Arc<AdminState>>,
    Path((id, decision)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    check_form(&user, &headers, &form.csrf)?;
    let by = admin(&user)?;
    let approve = match decision.as_str() {
        "approve" => true,
        "deny" => false,
        other => return Err(ApiError::NotFound(format!("no decision {other:?}")).into()),
    };
    decide(&state, id, approve, by, note(&form)).await?;
    Ok(back("/console/approvals"))
}

/// The unblock form.
#[derive(Deserialize)]
pub(crate) struct UnblockForm {
    csrf: String,
    kind: String,
    value: String,
    #[serde(default)]
    tenant: String,
}

/// `POST /console/blocks/unblock`.
pub(crate) async fn unblock(
    user: ConsoleUser,
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    Form(form): Form<UnblockForm>,
) -> Result<Response, PageError> {
    check_form(&user, &headers, &form.csrf)?;
    let by = admin(&user)?;
    match form.kind.as_str() {
        "ip" => {
            let ip = form
                .value
                .parse()
                .map_err(|_| ApiError::BadRequest(format!("{:?} is not an address", form.value)))?;
            if !state.gateway.security().unblock_ip(ip) {
                return Err(ApiError::NotFound(format!("{ip} is not blocked")).into());
            }
            tracing::warn!(by = %by, %ip, "Address unblocked from the console.");
        }
        _ => {
            let tenant = (!form.tenant.is_empty()).then_some(form.tenant.as_str());
            unblock_principal_as(&state, &by, &form.value, tenant)?;
        }
    }
    Ok(back("/console/"))
}

/// The release form.
#[derive(Deserialize)]
pub(crate) struct ReleaseForm {
    csrf: String,
    #[serde(default)]
    server: String,
    #[serde(default)]
    tool: String,
}

/// `POST /console/quarantines/release`.
pub(crate) async fn release_quarantine(
    user: ConsoleUser,
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    Form(form): Form<ReleaseForm>,
) -> Result<Response, PageError> {
    check_form(&user, &headers, &form.csrf)?;
    let by = admin(&user)?;
    let some = |s: String| (!s.is_empty()).then_some(s);
    release_as(&state, &by, some(form.server), some(form.tool))?;
    Ok(back("/console/"))
}

/// `POST /console/incidents/{id}/{acknowledge|resolve}`.
pub(crate) async fn change_incident(
    user: ConsoleUser,
    State(state): State<Arc<AdminState>>,
    Path((id, to)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    check_form(&user, &headers, &form.csrf)?;
    let by = admin(&user)?;
    let resolve = match to.as_str() {
        "resolve" => true,
        "acknowledge" => false,
        other => return Err(ApiError::NotFound(format!("no change {other:?}")).into()),
    };
    change(&state, id, resolve, by, note(&form)).await?;
    Ok(back("/console/incidents"))
}

/// `POST /console/audit/verify`: verifies the chain and shows the audit page with the result.
pub(crate) async fn verify_audit(
    user: ConsoleUser,
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    check_form(&user, &headers, &form.csrf)?;
    let verified = verify_chain(&state).await?;
    let page = audit_page(&state, &user, AuditForm::default(), Some(verified)).await?;
    Ok(render(&page))
}
