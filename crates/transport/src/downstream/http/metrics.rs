//! `/metrics`: the Prometheus scrape endpoint, serving the page the binary installed
//! (sallyport-telemetry). Without one it is 404.
//!
//! Access: the network layer applies as for `/mcp`. A loopback peer scrapes without
//! credentials (on a loopback bind every peer is one). Any other peer must authenticate as
//! for `/mcp`; when no authentication is configured, non-loopback scrapes are refused, so
//! a gateway bound to a public address never publishes its metrics to anyone.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::authn;
use crate::gateway::Gateway;

/// A rendered metrics exposition.
pub trait MetricsPage: Send + Sync + 'static {
    /// The `Content-Type` of [`render`](Self::render)'s output.
    fn content_type(&self) -> &'static str;
    /// The exposition text, now.
    fn render(&self) -> String;
}

/// The process's metrics page: one per process, like the registry behind it, set once at
/// start by the binary.
static PAGE: OnceLock<Arc<dyn MetricsPage>> = OnceLock::new();

/// Installs the page `/metrics` serves; false if one was installed already.
pub fn install_metrics_page(page: Arc<dyn MetricsPage>) -> bool {
    PAGE.set(page).is_ok()
}

/// `GET /metrics`.
pub(super) async fn scrape(State(gw): State<Arc<Gateway>>, req: Request) -> Response {
    let Some(page) = PAGE.get() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let loopback = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|c| c.0.ip().to_canonical().is_loopback());
    if !loopback {
        let core = gw.core();
        if core.auth.is_none() {
            let why = "metrics are served without credentials only to loopback clients; \
                       configure authentication to scrape from elsewhere";
            return (StatusCode::FORBIDDEN, why).into_response();
        }
        let presented = authn::Presented::from_request(&req);
        if let Err(refusal) = authn::authenticate(&core, &presented).await {
            return refusal;
        }
    }
    ([(header::CONTENT_TYPE, page.content_type())], page.render()).into_response()
}
