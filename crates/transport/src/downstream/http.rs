//! The HTTP listener: `/mcp` (Streamable HTTP, both eras), `/sse` + `/message`
//! (2024-11-05), `/healthz` and `/readyz`.

mod authn;
mod edge;
mod legacy_sse;
mod mcp;
mod stream;

pub use authn::PeerCertificate;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sallyport_mcp::version::Era;
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
        .layer(DefaultBodyLimit::max(body_limit));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
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

/// Host and Origin checks before anything else reads the request.
async fn guard_edge(State(gw): State<Arc<Gateway>>, mut req: Request, next: Next) -> Response {
    let core = gw.core();
    if let Err(denial) = edge::check_host_and_origin(&core.edge, req.headers()) {
        return edge::refuse(&core, &denial, Era::Legacy, None, None);
    }
    let presented = authn::Presented::from_request(&req);
    match authn::authenticate(&core, &presented).await {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(refusal) => refusal,
    }
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
                gw.http.clone(),
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
    let results = futures::future::join_all(checks).await;
    let ready = results.iter().all(|(_, r)| r.is_ok());
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
        axum::Json(json!({ "ready": ready, "servers": servers })),
    )
        .into_response()
}
