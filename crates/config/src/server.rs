//! Upstream MCP server entries: transport, tool filter, timeouts.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::secret::SecretString;
use sallyport_pipeline::glob::glob_match;

/// One upstream MCP server. Set exactly one of `stdio`, `http` or `sse`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
#[schemars(extend("oneOf" = [
    { "required": ["stdio"] },
    { "required": ["http"] },
    { "required": ["sse"] },
]))]
pub struct Server {
    /// Unique name: `^[a-z][a-z0-9-]{0,31}$`. It prefixes the server's tools and
    /// prompts (`name__tool`) and its resource URIs (`name+file:///…`).
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,31}$"))]
    pub name: String,
    /// Run the server as a child process speaking MCP over stdin/stdout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdio: Option<StdioServer>,
    /// Reach the server over Streamable HTTP (MCP 2025-03-26 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpServer>,
    /// Reach the server over the deprecated HTTP+SSE transport (MCP 2024-11-05).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sse: Option<HttpServer>,
    /// Prefix tool and prompt names and resource URIs with the server name. Only a
    /// configuration with a single server may turn this off.
    #[serde(default = "default_true")]
    pub prefix: bool,
    /// Which of the server's tools clients may see and call.
    #[serde(default)]
    pub tools: ToolFilter,
    /// Seconds to wait for the server's response to one request.
    #[serde(default = "default_request_timeout_secs")]
    #[schemars(range(min = 1))]
    pub request_timeout_secs: u64,
    /// Which MCP protocol era to speak with this server.
    #[serde(default)]
    pub era: EraPreference,
}

/// The transport of a [`Server`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportRef<'a> {
    /// `stdio:`: a child process.
    Stdio(&'a StdioServer),
    /// `http:`: Streamable HTTP.
    Http(&'a HttpServer),
    /// `sse:`: legacy HTTP+SSE.
    Sse(&'a HttpServer),
}

impl Server {
    /// The one configured transport; `None` unless exactly one of `stdio`, `http`,
    /// `sse` is set (never the case in a loaded configuration).
    pub fn transport(&self) -> Option<TransportRef<'_>> {
        match (&self.stdio, &self.http, &self.sse) {
            (Some(stdio), None, None) => Some(TransportRef::Stdio(stdio)),
            (None, Some(http), None) => Some(TransportRef::Http(http)),
            (None, None, Some(sse)) => Some(TransportRef::Sse(sse)),
            _ => None,
        }
    }
}

/// Protocol era negotiated with an upstream server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum EraPreference {
    /// Negotiate: prefer the newest protocol, fall back to the 2024-11-05 one.
    #[default]
    Auto,
    /// Always speak the 2024-11-05 protocol.
    Legacy,
    /// Require a protocol from 2025-03-26 on.
    Modern,
}

/// A server run as a child process. The child does not inherit the gateway's
/// environment, except the variables named in `env_allow`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct StdioServer {
    /// Program to run: a name looked up in `PATH`, or a path. Not a shell command
    /// line; put arguments in `args`.
    #[schemars(length(min = 1))]
    pub command: String,
    /// Arguments passed to `command`, one per entry, with no shell interpretation.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables set for the child. Values are treated as secrets.
    #[serde(default)]
    pub env: BTreeMap<String, SecretString>,
    /// Names of the gateway's own environment variables passed through to the child.
    #[serde(default = "default_env_allow")]
    pub env_allow: Vec<String>,
    /// Working directory of the child; relative paths are resolved against the
    /// gateway's working directory. Default: the gateway's working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    /// Restarting the child after it exits unexpectedly.
    #[serde(default)]
    pub restart: Restart,
    /// Milliseconds between closing the child's stdin and killing it on shutdown.
    #[serde(default = "default_shutdown_grace_ms")]
    pub shutdown_grace_ms: u64,
}

/// Restart policy with exponential backoff.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct Restart {
    /// Restarts allowed before the server is marked failed; 0 never restarts.
    pub max_restarts: u32,
    /// Delay before the first restart, in milliseconds; doubled on each further one.
    #[schemars(range(min = 1))]
    pub initial_backoff_ms: u64,
    /// Upper bound of the restart delay, in milliseconds.
    pub max_backoff_ms: u64,
}

impl Default for Restart {
    fn default() -> Self {
        Self {
            max_restarts: 5,
            initial_backoff_ms: 250,
            max_backoff_ms: 30_000,
        }
    }
}

/// A server reached over HTTP (`http:` or `sse:`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct HttpServer {
    /// Endpoint URL, `http://` or `https://`: the MCP endpoint for `http`, the SSE
    /// endpoint for `sse`. Put credentials in `headers`, not in the URL.
    pub url: String,
    /// Extra request headers, such as `Authorization`. Values are treated as secrets.
    #[serde(default)]
    pub headers: BTreeMap<String, SecretString>,
    /// Seconds allowed to establish a connection. Absent: `limits.timeouts.connect_timeout_secs`
    /// when that section is set, else 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub connect_timeout_secs: Option<u64>,
}

/// Which tools of a server are exposed. Patterns match the server's own tool names
/// (before prefixing); `*` matches any run of characters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct ToolFilter {
    /// Tools to expose (e.g. `get_*`); empty exposes every tool not denied.
    pub allow: Vec<String>,
    /// Tools to hide; a deny match wins over an allow match.
    pub deny: Vec<String>,
}

impl ToolFilter {
    /// Whether `tool` (the server's own tool name) may be listed and called.
    ///
    /// ```
    /// use sallyport_config::ToolFilter;
    ///
    /// let filter = ToolFilter { allow: vec!["get_*".into()], deny: vec!["get_secret*".into()] };
    /// assert!(filter.permits("get_time"));
    /// assert!(!filter.permits("get_secret_key"));
    /// assert!(!filter.permits("set_time"));
    /// ```
    pub fn permits(&self, tool: &str) -> bool {
        let matches = |pattern: &String| glob_match(pattern, tool);
        !self.deny.iter().any(matches) && (self.allow.is_empty() || self.allow.iter().any(matches))
    }
}

fn default_true() -> bool {
    true
}

fn default_request_timeout_secs() -> u64 {
    60
}

fn default_shutdown_grace_ms() -> u64 {
    2000
}

fn default_env_allow() -> Vec<String> {
    ["PATH", "HOME", "LANG", "TMPDIR", "USER"]
        .map(String::from)
        .to_vec()
}
