//! Sallyport's operator surface on its own listener: the admin API (`/admin/...`,
//! OpenAPI 3 at `/admin/openapi.json`) and the web console (`/console/`), both
//! authenticated, both reading and acting on the running gateway and its stores.
#![deny(missing_docs)]

mod api;
mod error;
mod extract;
mod operator;
mod sessions;
mod state;
mod traffic;
mod web;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

pub use api::ApiDoc;
pub use error::{ApiError, ErrorBody};
pub use operator::{Operator, OperatorAuth, Presented};
pub use sessions::{COOKIE, ConsoleSessions};
pub use state::{AdminState, Control};

/// The most a request body may be (policies and cases are the largest).
const MAX_BODY_BYTES: usize = 2 << 20;

/// The admin listener's routes, with security headers on every response.
pub fn router(state: Arc<AdminState>) -> Router {
    let console = state.config.console;
    let mut app = api::routes();
    if console {
        app = app.merge(web::routes());
    }
    app.with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(header::REFERRER_POLICY, "same-origin"))
        .layer(header_layer(header::CACHE_CONTROL, "no-store"))
        .layer(header_layer(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// Serves the admin listener until `shutdown` resolves, over TLS when `tls` is given
/// (a verified client certificate then authenticates like the gateway's mTLS).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AdminState>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    sallyport_transport::downstream::http::serve_app(listener, router(state), tls, shutdown).await
}
