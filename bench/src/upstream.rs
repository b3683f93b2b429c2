//! A minimal, fast dual-era MCP server over Streamable HTTP, for the upstream role.
//!
//! It answers `initialize` (minting a session id), `server/discover`, `tools/list`, `tools/call`
//! (`echo`, `add`) and `ping`, always as `application/json`. Requests whose `params._meta`
//! carries `io.modelcontextprotocol/protocolVersion` are served statelessly (2026-07-28) and
//! must carry matching `Mcp-Method`/`Mcp-Name` headers; anything else needs the
//! `Mcp-Session-Id` minted by `initialize`. Answers for `tools/list` are serialised once, so a
//! request costs one small JSON parse and one `format!`.

use std::borrow::Cow;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::wire::{LATEST_LEGACY, MODERN};

/// Largest request body the upstream reads.
const MAX_BODY: usize = 1 << 20;
/// Legacy versions the upstream accepts in `initialize`.
const LEGACY_VERSIONS: [&str; 3] = ["2025-03-26", "2025-06-18", LATEST_LEGACY];

/// Binds `127.0.0.1:0`, serves the fast upstream with `tools` tools on the current runtime
/// and returns its endpoint URL, `http://127.0.0.1:PORT/mcp`.
pub async fn spawn_fast(tools: usize) -> std::io::Result<String> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(State::new(tools));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(state.serve(req).await) }
                });
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(format!("http://{addr}/mcp"))
}

/// What every connection shares: pre-serialised lists and the session counter.
struct State {
    tools_legacy: String,
    tools_modern: String,
    sessions: AtomicU64,
}

#[derive(Deserialize)]
struct Rpc<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(default)]
    params: Option<Params<'a>>,
}

#[derive(Deserialize, Default)]
struct Params<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(default)]
    arguments: Option<Value>,
    #[serde(default, rename = "protocolVersion")]
    protocol_version: Option<String>,
    #[serde(default, rename = "_meta")]
    meta: Option<Meta>,
}

#[derive(Deserialize, Default)]
struct Meta {
    #[serde(default, rename = "io.modelcontextprotocol/protocolVersion")]
    protocol_version: Option<String>,
}

impl State {
    fn new(tools: usize) -> Self {
        let list = tool_list(tools);
        let tools_legacy = json!({ "tools": list }).to_string();
        let tools_modern =
            json!({ "tools": list, "resultType": "complete", "ttlMs": 0, "cacheScope": "private" })
                .to_string();
        Self {
            tools_legacy,
            tools_modern,
            sessions: AtomicU64::new(0),
        }
    }

    async fn serve(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        match *req.method() {
            Method::POST => {}
            // No GET stream (the gateway then goes without one); DELETE ends nothing.
            Method::DELETE => return plain(StatusCode::NO_CONTENT, ""),
            _ => return plain(StatusCode::METHOD_NOT_ALLOWED, "POST only"),
        }
        let (parts, body) = req.into_parts();
        let Ok(body) = Limited::new(body, MAX_BODY).collect().await else {
            return plain(StatusCode::PAYLOAD_TOO_LARGE, "body too large");
        };
        let body = body.to_bytes();
        let Ok(rpc) = serde_json::from_slice::<Rpc<'_>>(&body) else {
            return rpc_error(StatusCode::BAD_REQUEST, "null", -32700, "parse error");
        };
        self.answer(&parts.headers, rpc)
    }

    fn answer(&self, headers: &HeaderMap, rpc: Rpc<'_>) -> Response<Full<Bytes>> {
        let params = rpc.params.unwrap_or_default();
        let modern = params
            .meta
            .as_ref()
            .and_then(|m| m.protocol_version.as_deref())
            == Some(MODERN);
        let Some(id) = rpc.id.map(RawValue::get) else {
            // A notification (or a response): accepted, nothing to say.
            return plain(StatusCode::ACCEPTED, "");
        };
        let method = rpc.method.as_ref();
        if modern {
            if let Err(why) = check_modern_headers(headers, method, params.name.as_deref()) {
                return rpc_error(StatusCode::BAD_REQUEST, id, -32020, why);
            }
        } else if !matches!(method, "initialize" | "server/discover")
            && headers.get("mcp-session-id").is_none()
        {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                id,
                -32600,
                "missing Mcp-Session-Id",
            );
        }
        match method {
            "initialize" => self.initialize(id, params.protocol_version.as_deref()),
            "server/discover" => result(id, &discover()),
            "tools/list" if modern => result(id, &self.tools_modern),
            "tools/list" => result(id, &self.tools_legacy),
            "tools/call" => call(id, &params, modern),
            "ping" => result(id, "{}"),
            _ => rpc_error(StatusCode::OK, id, -32601, "method not found"),
        }
    }

    fn initialize(&self, id: &str, requested: Option<&str>) -> Response<Full<Bytes>> {
        let version = requested
            .filter(|v| LEGACY_VERSIONS.contains(v))
            .unwrap_or(LATEST_LEGACY);
        let session = format!("bench-{}", self.sessions.fetch_add(1, Ordering::Relaxed));
        let body = json!({
            "protocolVersion": version,
            "capabilities": { "tools": { "listChanged": false } },
            "serverInfo": { "name": "bench-upstream", "version": "0.1.0" },
        });
        let mut resp = result(id, &body.to_string());
        if let Ok(v) = header::HeaderValue::from_str(&session) {
            resp.headers_mut().insert("mcp-session-id", v);
        }
        resp
    }
}

fn check_modern_headers(
    headers: &HeaderMap,
    method: &str,
    name: Option<&str>,
) -> Result<(), &'static str> {
    let get = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    if get("mcp-protocol-version") != Some(MODERN) {
        return Err("MCP-Protocol-Version header missing or not 2026-07-28");
    }
    if get("mcp-method") != Some(method) {
        return Err("Mcp-Method header does not match the body");
    }
    if method == "tools/call" && get("mcp-name") != name {
        return Err("Mcp-Name header does not match the body");
    }
    Ok(())
}

fn discover() -> String {
    json!({
        "supportedVersions": [MODERN],
        "capabilities": { "tools": { "listChanged": false } },
        "resultType": "complete",
        "ttlMs": 0,
        "cacheScope": "private",
        "_meta": { "io.modelcontextprotocol/serverInfo": { "name": "bench-upstream", "version": "0.1.0" } },
    })
    .to_string()
}

fn call(id: &str, params: &Params<'_>, modern: bool) -> Response<Full<Bytes>> {
    let args = params.arguments.as_ref();
    let text = match params.name.as_deref() {
        Some("echo") => args
            .and_then(|a| a.get("text"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        Some("add") => {
            let num = |k: &str| args.and_then(|a| a.get(k)).and_then(Value::as_f64);
            num("a").zip(num("b")).map(|(a, b)| (a + b).to_string())
        }
        _ => None,
    };
    let Some(text) = text else {
        return rpc_error(StatusCode::OK, id, -32602, "unknown tool or bad arguments");
    };
    let mut body = json!({ "content": [{ "type": "text", "text": text }], "isError": false });
    if modern {
        body["resultType"] = Value::from("complete");
    }
    result(id, &body.to_string())
}

/// The `tools` array: `echo`, `add`, then filler tools up to `count`, each with a schema the
/// size of a typical real tool's.
fn tool_list(count: usize) -> Vec<Value> {
    let mut tools = vec![
        json!({
            "name": "echo",
            "description": "Echo the given text back unchanged.",
            "inputSchema": { "type": "object", "properties": { "text": { "type": "string", "description": "Text to echo." } }, "required": ["text"] },
            "annotations": { "readOnlyHint": true, "idempotentHint": true, "openWorldHint": false },
        }),
        json!({
            "name": "add",
            "description": "Add two numbers and return the sum as text.",
            "inputSchema": { "type": "object", "properties": { "a": { "type": "number" }, "b": { "type": "number" } }, "required": ["a", "b"] },
            "annotations": { "readOnlyHint": true, "idempotentHint": true, "openWorldHint": false },
        }),
    ];
    for i in tools.len()..count {
        tools.push(json!({
            "name": format!("tool_{i}"),
            "description": format!("Filler tool number {i}: looks up a record by key and returns it as JSON text."),
            "inputSchema": { "type": "object", "properties": { "key": { "type": "string", "description": "Record key." }, "limit": { "type": "integer", "minimum": 1 } }, "required": ["key"] },
        }));
    }
    tools.truncate(count.max(1));
    tools
}

fn result(id: &str, result: &str) -> Response<Full<Bytes>> {
    json_response(
        StatusCode::OK,
        format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#),
    )
}

fn rpc_error(status: StatusCode, id: &str, code: i64, message: &str) -> Response<Full<Bytes>> {
    let error = json!({ "code": code, "message": message });
    json_response(
        status,
        format!(r#"{{"jsonrpc":"2.0","id":{id},"error":{error}}}"#),
    )
}

fn json_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *resp.status_mut() = status;
    resp
}
