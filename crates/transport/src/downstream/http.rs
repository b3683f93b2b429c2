//! The HTTP listener: `/mcp` (Streamable HTTP, both eras), `/sse` + `/message`
//! (2024-11-05), `/healthz`, `/readyz` and `/metrics`.

mod authn;
mod edge;
mod legacy_sse;
mod listener;
mod mcp;
mod metrics;
mod network;
mod stream;

pub use authn::PeerCertificate;
pub use listener::{serve, serve_app};
pub use metrics::{MetricsPage, install_metrics_page};
pub use network::ClientIp;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sallyport_mcp::version::Era;
use sallyport_pipeline::{Denial, DenyCode, Principal};
use serde_json::json;

use crate::gateway::Gateway;
use crate::upstream::ClientHello;

/// Builds the router serving `gw`.
pub fn router(gw: Arc<Gateway>) -> Router {
    let core = gw.core();
    let body_limit = core.limits.max_bytes;
    let sse_state = legacy_sse::SseState {
        gw: gw.clone(),
        streams: Arc::default(),
    };
    let mut mcp_routes = Router::new()
        .route("/mcp", post(mcp::post).get(mcp::get).delete(mcp::delete))
        .with_state(gw.clone());
    if core.edge.legacy_sse {
        mcp_routes = mcp_routes.merge(
            Router::new()
                .route("/sse", get(legacy_sse::open))
                .route("/message", post(legacy_sse::message))
                .with_state(sse_state),
        );
    }
    let mcp_routes = mcp_routes
        .layer(middleware::from_fn_with_state(gw.clone(), guard_edge))
        // The network layer runs first: who may talk to the gateway at all.
        .layer(middleware::from_fn_with_state(gw.clone(), network::admit))
        .layer(DefaultBodyLimit::max(body_limit));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        // Loopback peers scrape freely; others authenticate (metrics.rs).
        .route(
            "/metrics",
            get(metrics::scrape).layer(middleware::from_fn_with_state(gw.clone(), network::admit)),
        )
        .route(
            "/.well-known/oauth-protected-resource",
            get(resource_metadata),
        )
        .route(
            "/.well-known/oauth-protected-resource/{*path}",
            get(resource_metadata),
        )
        .with_state(gw)
        .merge(mcp_routes)
}

/// Host and Origin checks before anything else reads the request, and the blocks the
/// response orchestrator placed (`security_events`): a blocked address is refused before
/// Host/Origin and authentication, a blocked principal right after authentication.
async fn guard_edge(State(gw): State<Arc<Gateway>>, mut req: Request, next: Next) -> Response {
    let core = gw.core();
    if let Some(ip) = network::client_ip(&req)
        && gw.security().is_blocked_ip(ip)
    {
        let denial = Denial::client(
            DenyCode::IpBlocked,
            "Your address is blocked after repeated security events",
        )
        .with_detail(format!("security_events: address {ip} is blocked"));
        return edge::refuse_from(&core, &denial, Some(ip));
    }
    let authority = req.uri().authority().map(|a| a.as_str());
    if let Err(denial) = edge::check_host_and_origin(&core.edge, req.headers(), authority) {
        return edge::refuse(&core, &denial, Era::Legacy, None, None);
    }
    let presented = authn::Presented::from_request(&req);
    match authn::authenticate(&core, &presented).await {
        Ok(mut principal) => {
            let security = gw.security();
            let tenant = principal.tenant.as_deref();
            if security.is_blocked_principal(&principal.id, tenant) {
                return refuse_blocked_principal(&core, &principal);
            }
            let violations = security.recent_violations(&principal.id, tenant);
            if violations > 0
                && let Some(details) = principal.details.as_mut()
            {
                Arc::make_mut(details).recent_violations = violations;
            }
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(refusal) => refusal,
    }
}

/// 403 `principal_blocked`, recorded with the principal it refuses.
fn refuse_blocked_principal(core: &crate::gateway::Core, principal: &Principal) -> Response {
    let denial = Denial::client(
        DenyCode::PrincipalBlocked,
        "This identity is blocked after a security event; ask the operator to lift the block",
    )
    .with_detail(format!(
        "security_events: principal {} is blocked",
        principal.id
    ));
    edge::refuse_as(core, &denial, Era::Legacy, None, None, principal)
}

async fn resource_metadata(State(gw): State<Arc<Gateway>>, uri: axum::http::Uri) -> Response {
    authn::protected_resource_metadata(&gw.core(), uri.path())
}

async fn healthz(State(gw): State<Arc<Gateway>>) -> Response {
    axum::Json(gw.health()).into_response()
}

/// Ready when every upstream answers a handshake.
async fn readyz(State(gw): State<Arc<Gateway>>) -> Response {
    let core = gw.core();
    let checks = core.federation.servers().iter().map(|spec| {
        let gw = gw.clone();
        let spec = spec.clone();
        async move {
            let (tx, _rx) = tokio::sync::mpsc::channel(1);
            let connect = crate::upstream::Link::connect(
                spec.clone(),
                ClientHello::bare(),
                &gw.http,
                tx,
                &gw.era_cache,
            );
            let ok = match tokio::time::timeout(Duration::from_secs(10), connect).await {
                Ok(Ok(link)) => {
                    link.shutdown().await;
                    Ok(link.era().as_str())
                }
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("handshake timed out".to_owned()),
            };
            (spec.name.to_string(), ok)
        }
    });
    let (results, limits) =
        tokio::join!(futures::future::join_all(checks), traffic_readiness(&core));
    let health = core.health_check.is_some().then(|| gw.health_board());
    let ready = results.iter().all(|(_, r)| r.is_ok())
        && limits.ready
        && health.is_none_or(|h| h.all_healthy());
    let servers: serde_json::Map<String, serde_json::Value> = results
        .into_iter()
        .map(|(name, r)| {
            (
                name,
                match r {
                    Ok(era) => json!({"ready": true, "era": era}),
                    Err(e) => json!({"ready": false, "error": e}),
                },
            )
        })
        .collect();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(json!({
            "ready": ready,
            "servers": servers,
            "limits": limits.body,
            "health_checks": health.map(crate::health::HealthBoard::snapshot),
        })),
    )
        .into_response()
}

/// What `/readyz` says about traffic protection.
struct TrafficReadiness {
    /// False when calls are being refused because the shared counter store is down and
    /// the limiter fails closed.
    ready: bool,
    body: serde_json::Value,
}

/// Asks Redis (when limits use it) for a `PING` now.
async fn traffic_readiness(core: &crate::gateway::Core) -> TrafficReadiness {
    let Some(up) = core.traffic.probe_backend().await else {
        return TrafficReadiness {
            ready: true,
            body: json!({ "backend": "local" }),
        };
    };
    let fail_open = core.traffic.backend().is_some_and(|b| b.fail_open);
    let on_failure = if fail_open { "open" } else { "closed" };
    TrafficReadiness {
        ready: up || fail_open,
        body: json!({ "backend": "redis", "redis": { "ready": up, "on_failure": on_failure } }),
    }
}
