//! The admin API: `/admin/...`, JSON in and out, credentials in headers only (no cookies,
//! so no cross-site request can carry them), described by `/admin/openapi.json`.

pub(crate) mod approvals;
pub(crate) mod audit;
pub(crate) mod blocks;
pub(crate) mod compliance;
pub(crate) mod control;
pub(crate) mod events;
pub(crate) mod incidents;
pub(crate) mod inventory;
pub(crate) mod keys;
pub(crate) mod quarantines;
pub(crate) mod traffic;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::routing::{delete, get, post};
use utoipa::OpenApi;

use sallyport_transport::downstream::http::PeerCertificate;

use crate::error::ApiError;
use crate::operator::{Operator, Presented};
use crate::state::AdminState;

/// The authenticated caller of an API route.
pub(crate) struct Authed(pub Operator);

impl FromRequestParts<Arc<AdminState>> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AdminState>,
    ) -> Result<Self, Self::Rejection> {
        let text = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let presented = Presented {
            authorization: text("authorization"),
            x_api_key: text("x-api-key"),
            source_ip: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
            peer_certificate: parts
                .extensions
                .get::<PeerCertificate>()
                .map(|c| c.0.clone()),
        };
        let operator = state.operator(&presented).await?;
        tracing::debug!(operator = %operator.name, via = %operator.via, "admin request");
        Ok(Self(operator))
    }
}

/// The admin API routes.
pub(crate) fn routes() -> Router<Arc<AdminState>> {
    Router::new()
        .route("/admin/openapi.json", get(openapi))
        .route("/admin/whoami", get(whoami))
        .route("/admin/servers", get(inventory::servers))
        .route("/admin/traffic", get(traffic::traffic))
        .route("/admin/tools", get(inventory::tools))
        .route("/admin/tools/{server}/{tool}", get(inventory::tool))
        .route(
            "/admin/tools/{server}/{tool}/approve",
            post(inventory::approve),
        )
        .route(
            "/admin/tools/{server}/{tool}/reject",
            post(inventory::reject),
        )
        .route("/admin/approvals", get(approvals::list))
        .route("/admin/approvals/{id}/approve", post(approvals::approve))
        .route("/admin/approvals/{id}/deny", post(approvals::deny))
        .route("/admin/blocks", get(blocks::list).post(blocks::add))
        .route("/admin/blocks/ip/{ip}", delete(blocks::unblock_ip))
        .route(
            "/admin/blocks/principal/{id}",
            delete(blocks::unblock_principal),
        )
        .route(
            "/admin/quarantines",
            get(quarantines::list)
                .post(quarantines::add)
                .delete(quarantines::release),
        )
        .route("/admin/incidents", get(incidents::list))
        .route("/admin/incidents/{id}", get(incidents::show))
        .route(
            "/admin/incidents/{id}/acknowledge",
            post(incidents::acknowledge),
        )
        .route("/admin/incidents/{id}/resolve", post(incidents::resolve))
        .route("/admin/keys", get(keys::list).post(keys::create))
        .route("/admin/keys/{prefix}", delete(keys::revoke))
        .route("/admin/audit", get(audit::search))
        .route("/admin/audit/verify", get(audit::verify))
        .route("/admin/events", get(events::stream))
        .route("/admin/reload", post(control::reload))
        .route("/admin/policies/validate", post(control::validate))
        .route("/admin/policies/dry-run", post(control::dry_run))
        .route("/admin/compliance", get(compliance::report))
}

/// The OpenAPI 3 document of this API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sallyport admin API",
        description = "Operate a Sallyport gateway: servers, tools and pins, approvals, blocks, incidents, keys, audit, live events, policies, reload and compliance reports. Authenticate with `Authorization: Bearer <admin token>` or a gateway credential of a principal with an admin or viewer role.",
        license(name = "Apache-2.0")
    ),
    paths(
        whoami,
        inventory::servers, traffic::traffic, inventory::tools, inventory::tool, inventory::approve, inventory::reject,
        approvals::list, approvals::approve, approvals::deny,
        blocks::list, blocks::add, blocks::unblock_ip, blocks::unblock_principal,
        quarantines::list, quarantines::add, quarantines::release,
        incidents::list, incidents::show, incidents::acknowledge, incidents::resolve,
        keys::list, keys::create, keys::revoke,
        audit::search, audit::verify,
        events::stream,
        control::reload, control::validate, control::dry_run,
        compliance::report,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "inventory", description = "Upstream servers, tools, pins and drift"),
        (name = "approvals", description = "Held calls waiting for an operator"),
        (name = "response", description = "Blocks and incidents"),
        (name = "keys", description = "API keys of the gateway"),
        (name = "audit", description = "The hash-chained audit trail and compliance reports"),
        (name = "control", description = "Reload, policies, live events"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Who the credential belongs to, and what it may do.
#[utoipa::path(get, operation_id = "whoami", path = "/admin/whoami", tag = "control",
    responses((status = 200, body = Operator), (status = 401, body = crate::error::ErrorBody)))]
pub(crate) async fn whoami(Authed(op): Authed) -> Json<Operator> {
    Json(op)
}

/// Runs blocking store work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    what: &'static str,
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(what, e))?
}
