//! Streamable HTTP at `/mcp`, both eras: `initialize` opens a legacy session (`Mcp-Session-Id`,
//! SSE replies, server→client requests on the request's stream), while requests carrying
//! 2026-07-28 `_meta` (and `server/discover`) are served statelessly, as plain JSON unless the
//! handler streams progress first.

use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::Arc,
};

use axum::serve::ListenerExt as _;
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use tokio::net::TcpListener;

use crate::{DemoError, DemoServer};

/// The one path the MCP endpoint is served at.
const MCP_PATH: &str = "/mcp";
/// Messages buffered per legacy session (rmcp's default of 16 stalls under load).
const SESSION_CHANNEL_CAPACITY: usize = 256;

/// How [`serve_http_with`] serves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpOptions {
    /// `Host` values (host or `host:port`) the server answers; others get 403, which stops DNS
    /// rebinding. A host without a port matches every port. Empty means any `Host`.
    ///
    /// Default: `localhost`, `127.0.0.1` and `::1`.
    pub allowed_hosts: Vec<String>,
    /// `Origin` values (`scheme://host[:port]`, `:*` for any port) accepted when a request carries
    /// an `Origin` header; others get 403. Requests without `Origin` always pass.
    ///
    /// Default: empty, which leaves `Origin` unchecked.
    pub allowed_origins: Vec<String>,
    /// Answer stateless (2026-07-28) requests with `application/json` instead of a one-event SSE
    /// stream. A handler that sends a notification first (progress, say) still gets SSE, so
    /// nothing is lost; legacy-session requests always get SSE, which is how rmcp 3.9 streams
    /// them.
    ///
    /// Default: `true`, the faster choice.
    pub json_response: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            allowed_origins: Vec::new(),
            json_response: true,
        }
    }
}

impl HttpOptions {
    /// Replaces [`Self::allowed_hosts`]; an empty list accepts any `Host`.
    pub fn with_allowed_hosts(
        mut self,
        hosts: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.allowed_hosts = hosts.into_iter().map(Into::into).collect();
        self
    }

    /// Replaces [`Self::allowed_origins`]; a non-empty list turns `Origin` checking on.
    pub fn with_allowed_origins(
        mut self,
        origins: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.allowed_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`Self::json_response`].
    pub fn with_json_response(mut self, json_response: bool) -> Self {
        self.json_response = json_response;
        self
    }
}

/// Serves Streamable HTTP at `/mcp` on `listener` until the returned future is dropped; speaks
/// both eras.
///
/// `Host` is checked against the loopback names (`localhost`, `127.0.0.1`, `::1`, any port)
/// plus the listener's own IP when it is bound to a specific non-loopback address; anything
/// else gets 403 (DNS-rebinding protection). `Origin` is not checked. Use [`serve_http_with`]
/// to choose. Dropping the future cancels every session and open stream.
pub async fn serve_http(listener: TcpListener) -> Result<(), DemoError> {
    let mut options = HttpOptions::default();
    if let Ok(addr) = listener.local_addr() {
        let ip = addr.ip();
        if !ip.is_loopback() && !ip.is_unspecified() {
            options.allowed_hosts.push(ip.to_string());
        }
    }
    serve_http_with(listener, options).await
}

/// Serves Streamable HTTP at `/mcp` on `listener` with `options` until the returned future is
/// dropped; speaks both eras. Dropping the future cancels every session and open stream.
pub async fn serve_http_with(listener: TcpListener, options: HttpOptions) -> Result<(), DemoError> {
    let HttpOptions {
        allowed_hosts,
        allowed_origins,
        json_response,
    } = options;
    let mut config = StreamableHttpServerConfig::default()
        .with_json_response(json_response)
        .with_allowed_hosts(allowed_hosts);
    if !allowed_origins.is_empty() {
        config = config.with_allowed_origins(allowed_origins);
    }
    let _cancel_on_drop = config.cancellation_token.clone().drop_guard();

    let mut sessions = LocalSessionManager::default();
    sessions.session_config.channel_capacity = SESSION_CHANNEL_CAPACITY;
    let server = DemoServer::new();
    // rmcp calls the factory for every request; a clone is one reference-count increment.
    let service =
        StreamableHttpService::new(move || Ok(server.clone()), Arc::new(sessions), config);
    let router = axum::Router::new().route_service(MCP_PATH, service);
    // SSE replies go out in several small writes; with Nagle on, each reply waits for the
    // peer's delayed ACK (~40 ms), which caps a keep-alive connection at ~25 calls a second.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "Could not set TCP_NODELAY.");
        }
    });
    axum::serve(listener, router).await.map_err(DemoError::Http)
}

/// Binds `127.0.0.1:0`, spawns [`serve_http`] on the current runtime and returns the endpoint URL,
/// `http://127.0.0.1:PORT/mcp`. The server runs until the runtime shuts down.
pub async fn spawn_http() -> Result<String, DemoError> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| DemoError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(DemoError::LocalAddr)?;
    tokio::spawn(async move {
        if let Err(error) = serve_http(listener).await {
            tracing::warn!(%error, "Demo HTTP server stopped.");
        }
    });
    Ok(format!("http://{local}{MCP_PATH}"))
}
