//! MCP requests as the harness sends them: bodies and headers for both eras.

use std::fmt;

use bytes::Bytes;
use http::{HeaderValue, Request, header};
use http_body_util::Full;

/// The 2026-07-28 (stateless) protocol version.
pub const MODERN: &str = "2026-07-28";
/// The newest handshake-era protocol version.
pub const LATEST_LEGACY: &str = "2025-11-25";

/// The `_meta` every modern request carries.
const MODERN_META: &str = r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"sallyport-bench","version":"0.1.0"}}"#;

/// Which protocol era a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Era {
    /// 2025-11-25: `initialize`, then `Mcp-Session-Id` on every request.
    Legacy,
    /// 2026-07-28: stateless, `_meta` and `Mcp-Method`/`Mcp-Name` on every request.
    Modern,
}

impl fmt::Display for Era {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Legacy => "legacy",
            Self::Modern => "modern",
        })
    }
}

/// Which MCP method a scenario drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Op {
    /// `tools/call` of `echo`.
    Call,
    /// `tools/list`.
    List,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Call => "tools/call",
            Self::List => "tools/list",
        })
    }
}

/// One MCP endpoint as a client of one era sees it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `http://127.0.0.1:PORT/mcp`.
    pub uri: http::Uri,
    /// The era spoken to it.
    pub era: Era,
    /// The legacy session id (legacy only).
    pub session: Option<HeaderValue>,
    /// `Authorization` to send (a bearer token when the gateway authenticates).
    pub authorization: Option<HeaderValue>,
}

impl Endpoint {
    /// A `tools/call` of `echo` (exposed as `tool`) with request id `id`.
    pub fn call(&self, id: u64, tool: &str) -> Request<Full<Bytes>> {
        let body = match self.era {
            Era::Legacy => format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{{"text":"hello"}}}}}}"#
            ),
            Era::Modern => format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{{"text":"hello"}},"_meta":{MODERN_META}}}}}"#
            ),
        };
        self.post(body, "tools/call", Some(tool))
    }

    /// A `tools/list` with request id `id`.
    pub fn list(&self, id: u64) -> Request<Full<Bytes>> {
        let body = match self.era {
            Era::Legacy => format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list"}}"#),
            Era::Modern => format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list","params":{{"_meta":{MODERN_META}}}}}"#
            ),
        };
        self.post(body, "tools/list", None)
    }

    /// The legacy `initialize` request.
    pub fn initialize(&self) -> Request<Full<Bytes>> {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{LATEST_LEGACY}","capabilities":{{}},"clientInfo":{{"name":"sallyport-bench","version":"0.1.0"}}}}}}"#
        );
        self.post(body, "initialize", None)
    }

    /// The legacy `notifications/initialized` notification.
    pub fn initialized(&self) -> Request<Full<Bytes>> {
        let body = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_owned();
        self.post(body, "notifications/initialized", None)
    }

    fn post(&self, body: String, method: &str, name: Option<&str>) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(Bytes::from(body)));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = self.uri.clone();
        let h = req.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        if let Some(authorization) = &self.authorization {
            h.insert(header::AUTHORIZATION, authorization.clone());
        }
        match self.era {
            Era::Legacy => {
                if let Some(s) = &self.session {
                    h.insert("mcp-session-id", s.clone());
                    h.insert(
                        "mcp-protocol-version",
                        HeaderValue::from_static(LATEST_LEGACY),
                    );
                }
            }
            Era::Modern => {
                h.insert("mcp-protocol-version", HeaderValue::from_static(MODERN));
                if let Ok(v) = HeaderValue::from_str(method) {
                    h.insert("mcp-method", v);
                }
                if let Some(v) = name.and_then(|n| HeaderValue::from_str(n).ok()) {
                    h.insert("mcp-name", v);
                }
            }
        }
        req
    }
}
