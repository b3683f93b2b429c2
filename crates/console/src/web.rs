//! The web console: server-rendered pages (askama) under `/console/`, a login with a
//! `__Host-` session cookie, a CSRF token in every form, and one small script for the live
//! event table. It calls the same functions as the admin API.

mod actions;
mod assets;
mod diff;
mod pages;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::error::ApiError;
use crate::sessions::{COOKIE, ConsoleSession, same_token};
use crate::state::AdminState;

/// The console's routes.
pub(crate) fn routes() -> Router<Arc<AdminState>> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(pages::overview))
        .route(
            "/console/login",
            get(pages::login_form).post(actions::login),
        )
        .route("/console/logout", post(actions::logout))
        .route("/console/events", get(pages::events))
        .route("/console/tools", get(pages::tools))
        .route("/console/tools/{server}/{tool}", get(pages::tool))
        .route(
            "/console/tools/{server}/{tool}/approve",
            post(actions::approve_tool),
        )
        .route(
            "/console/tools/{server}/{tool}/reject",
            post(actions::reject_tool),
        )
        .route("/console/approvals", get(pages::approvals))
        .route(
            "/console/approvals/{id}/{decision}",
            post(actions::decide_approval),
        )
        .route("/console/blocks/unblock", post(actions::unblock))
        .route(
            "/console/quarantines/release",
            post(actions::release_quarantine),
        )
        .route("/console/incidents", get(pages::incidents))
        .route(
            "/console/incidents/{id}/{change}",
            post(actions::change_incident),
        )
        .route("/console/audit", get(pages::audit))
        .route("/console/audit/verify", post(actions::verify_audit))
        .route("/console/compliance", get(pages::compliance))
        .route("/console/compliance.json", get(pages::compliance_json))
        .route("/console/static/{file}", get(assets::serve))
}

/// The logged-in operator of a console page; anyone else is sent to the login page.
pub(crate) struct ConsoleUser {
    pub(crate) session: ConsoleSession,
}

/// Why a console request was not served: a redirect to the login page, or an error page.
pub(crate) enum PageError {
    Login,
    Api(ApiError),
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            Self::Login => Redirect::to("/console/login").into_response(),
            Self::Api(e) => {
                let (status, _) = e.status();
                let page = pages::ErrorPage {
                    status: status.as_u16(),
                    message: e.to_string(),
                };
                (status, render(&page)).into_response()
            }
        }
    }
}

impl FromRequestParts<Arc<AdminState>> for ConsoleUser {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AdminState>,
    ) -> Result<Self, Self::Rejection> {
        let id = session_cookie(&parts.headers).ok_or(PageError::Login)?;
        let session = state.sessions.get(&id).ok_or(PageError::Login)?;
        Ok(Self { session })
    }
}

/// The session id in the request's cookie.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// Checks a form's CSRF token and, when the browser sent one, its `Origin` against `Host`.
pub(crate) fn check_form(
    user: &ConsoleUser,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<(), PageError> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let same = host.is_some_and(|h| {
            origin
                .split_once("://")
                .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(h))
        });
        if !same {
            return Err(
                ApiError::Forbidden(format!("cross-origin form from {origin} refused")).into(),
            );
        }
    }
    if !same_token(csrf, &user.session.csrf) {
        return Err(ApiError::Forbidden(
            "the form's CSRF token is missing or stale; reload the page and try again".into(),
        )
        .into());
    }
    Ok(())
}

/// Renders a template, or a plain 500 naming the template failure.
pub(crate) fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "console template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "page rendering failed").into_response()
        }
    }
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` UTC.
pub(crate) fn format_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_format_as_utc() {
        assert_eq!(format_ms(0), "1970-01-01 00:00:00");
        assert_eq!(format_ms(1_795_000_000_000), "2026-11-18 11:06:40");
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            format!("a=1; {COOKIE}=abc; b=2")
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(session_cookie(&h).as_deref(), Some("abc"));
        assert_eq!(session_cookie(&HeaderMap::new()), None);
    }
}
