//! What the gateway needs to know to reach one upstream server (built from config).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sallyport_mcp::Limits;

/// Which era to speak to an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EraChoice {
    /// Detect per spec (probe `server/discover`, fall back to `initialize`), cached per server.
    #[default]
    Auto,
    /// Always the `initialize` handshake.
    Legacy,
    /// Always 2026-07-28.
    Modern,
}

/// One upstream server.
#[derive(Debug, Clone)]
pub struct UpstreamSpec {
    /// Unique name; used in tool prefixes and resource URI rewrites.
    pub name: Arc<str>,
    /// How to reach it.
    pub kind: UpstreamKind,
    /// Whether its tools and prompts are exposed as `<name><sep><tool>`.
    pub prefix: bool,
    /// Era preference.
    pub era: EraChoice,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Limits on messages read from this upstream.
    pub limits: Limits,
}

/// Transport to one upstream.
#[derive(Debug, Clone)]
pub enum UpstreamKind {
    /// A child process speaking newline-delimited JSON on stdin/stdout.
    Stdio(StdioSpec),
    /// Streamable HTTP.
    Http(HttpSpec),
    /// The 2024-11-05 HTTP+SSE transport.
    Sse(HttpSpec),
}

impl UpstreamKind {
    /// Stable transport name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Stdio(_) => "stdio",
            Self::Http(_) => "http",
            Self::Sse(_) => "sse",
        }
    }
}

/// A child process: never run through a shell.
#[derive(Debug, Clone)]
pub struct StdioSpec {
    /// Program to execute (looked up on the child's PATH).
    pub command: String,
    /// Arguments, passed as they are.
    pub args: Vec<String>,
    /// The complete environment of the child (allow-listed and configured variables only).
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
    /// How many restarts are tried after crashes before the upstream is reported down.
    pub max_restarts: u32,
    /// First restart delay; doubles per consecutive failure.
    pub initial_backoff: Duration,
    /// Largest restart delay.
    pub max_backoff: Duration,
    /// How long to wait after closing stdin, and again after SIGTERM.
    pub shutdown_grace: Duration,
}

/// An HTTP upstream.
#[derive(Clone)]
pub struct HttpSpec {
    /// The endpoint URL (`/mcp` for Streamable HTTP, `/sse` for HTTP+SSE).
    pub url: String,
    /// Static headers (credentials) sent on every request. Never the client's own.
    pub headers: Vec<(String, String)>,
    /// Connect timeout.
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for HttpSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("HttpSpec")
            .field("url", &self.url)
            .field("headers", &names)
            .finish_non_exhaustive()
    }
}
