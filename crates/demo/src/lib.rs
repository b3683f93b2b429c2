//! The built-in demo upstream behind `sallyport demo`: a small, self-contained MCP server that
//! needs no Node or Python.
//!
//! It serves one [`DemoServer`] over stdio ([`serve_stdio`], or any byte stream with
//! [`serve_io`]) or over Streamable HTTP at `/mcp` ([`serve_http`], [`serve_http_with`],
//! [`spawn_http`]). Both protocol eras are spoken on every transport: a client that sends
//! `initialize` gets a legacy (2025-11-25 and earlier) session, a client that sends
//! `server/discover` or per-request `_meta` gets the stateless 2026-07-28 semantics.
//!
//! What it offers:
//!
//! - tools `echo`, `add` (with `structuredContent`), `word_count`, `now`, `slow_count`
//!   (progress notifications, cancellation), `ask_model` (sampling), `confirm` (elicitation),
//!   `list_roots` (roots), `fail` (an `isError` result) and `toggle_extra_tool`, which shows or
//!   hides the tool `extra` and announces `notifications/tools/list_changed`;
//! - resources `demo://readme` (text), `demo://logo.png` (a blob) and the template
//!   `demo://notes/{id}`;
//! - prompts `summarize` and `code_review`.
//!
//! Server→client requests (`ask_model`, `confirm`, `list_roots`) are real JSON-RPC requests in
//! the legacy era and MRTR `input_required` results in the 2026-07-28 era; either way they are
//! only issued when the client declared the capability, and otherwise the tool returns an
//! `isError` result that says so.
//!
//! ```no_run
//! # async fn run() -> Result<(), sallyport_demo::DemoError> {
//! let url = sallyport_demo::spawn_http().await?;
//! println!("demo MCP server at {url}");
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod http;
mod interactive;
mod prompts;
mod resources;
mod server;
mod tools;

use std::sync::{Arc, atomic::AtomicBool};

use rmcp::{
    ServiceExt,
    handler::server::router::tool::ToolRouter,
    service::{RoleServer, ServerInitializeError},
    transport::IntoTransport,
};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    sync::broadcast,
};

pub use http::{HttpOptions, serve_http, serve_http_with, spawn_http};

/// Capacity of the channel that fans `tools/list_changed` out to `subscriptions/listen` streams.
const LIST_CHANGED_CAPACITY: usize = 16;

/// The demo MCP server: an [`rmcp::ServerHandler`] with tools, resources and prompts.
///
/// Cloning is cheap and clones share state: the visibility of the `extra` tool and the
/// `subscriptions/listen` streams that hear about it. Every HTTP request and session of one
/// [`serve_http`] call is served by clones of one `DemoServer`.
#[derive(Clone, Debug)]
pub struct DemoServer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// Every tool, `extra` included; `extra_enabled` decides whether `extra` is visible.
    tools: ToolRouter<DemoServer>,
    extra_enabled: AtomicBool,
    /// One message per change of the tool list, for `subscriptions/listen` streams.
    tool_list_changed: broadcast::Sender<()>,
}

impl DemoServer {
    /// Builds a server with the `extra` tool hidden.
    pub fn new() -> Self {
        let (tool_list_changed, _) = broadcast::channel(LIST_CHANGED_CAPACITY);
        Self {
            shared: Arc::new(Shared {
                tools: Self::tool_router(),
                extra_enabled: AtomicBool::new(false),
                tool_list_changed,
            }),
        }
    }
}

impl Default for DemoServer {
    fn default() -> Self {
        Self::new()
    }
}

/// Why the demo server stopped or could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// Binding the HTTP listener failed.
    #[error("could not bind the demo HTTP listener on {addr}: {source}")]
    Bind {
        /// The address that was asked for.
        addr: std::net::SocketAddr,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The listener's local address could not be read.
    #[error("could not read the demo HTTP listener's address: {0}")]
    LocalAddr(#[source] std::io::Error),
    /// The HTTP server stopped with an I/O error.
    #[error("demo HTTP server failed: {0}")]
    Http(#[source] std::io::Error),
    /// The client closed or broke the connection during the MCP handshake.
    #[error("MCP handshake with the demo server failed: {0}")]
    Handshake(#[source] Box<ServerInitializeError>),
    /// The task running the session panicked or was aborted.
    #[error("demo server task failed: {0}")]
    Task(#[source] tokio::task::JoinError),
}

/// Serves one client over stdin/stdout until stdin reaches EOF.
///
/// Speaks both eras: `initialize` opens a legacy session, `server/discover` or requests with
/// per-request `_meta` select 2026-07-28. EOF before the first request is a clean exit.
pub async fn serve_stdio() -> Result<(), DemoError> {
    serve_transport(rmcp::transport::stdio()).await
}

/// Serves one client over any byte stream with newline-delimited JSON-RPC (stdio framing) until
/// the stream reaches EOF; [`serve_stdio`] is this over stdin/stdout.
///
/// Useful for in-process tests: pass one end of [`tokio::io::duplex`].
pub async fn serve_io<T>(io: T) -> Result<(), DemoError>
where
    T: AsyncRead + AsyncWrite + Send + 'static,
{
    serve_transport(io).await
}

async fn serve_transport<T, E, A>(transport: T) -> Result<(), DemoError>
where
    T: IntoTransport<RoleServer, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    let running = match DemoServer::new().serve(transport).await {
        Ok(running) => running,
        // The peer went away before saying anything: nothing was served, nothing failed.
        Err(ServerInitializeError::ConnectionClosed(_)) => return Ok(()),
        Err(error) => return Err(DemoError::Handshake(Box::new(error))),
    };
    let reason = running.waiting().await.map_err(DemoError::Task)?;
    tracing::debug!(?reason, "Demo stdio session ended.");
    Ok(())
}
