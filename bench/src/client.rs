//! The load generator's HTTP client and what one measured operation is.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::wire::{Endpoint, Era, Op};

/// How long one request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A pooled HTTP/1.1 keep-alive client with `TCP_NODELAY`.
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A new pooled client.
pub fn http_client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .build(connector)
}

/// Sends `req` and returns the status and the whole body.
pub async fn send(
    client: &HttpClient,
    req: Request<Full<Bytes>>,
) -> anyhow::Result<(StatusCode, http::HeaderMap, Bytes)> {
    let resp = tokio::time::timeout(REQUEST_TIMEOUT, client.request(req))
        .await
        .context("timed out")??;
    let (parts, body) = resp.into_parts();
    let body = tokio::time::timeout(REQUEST_TIMEOUT, body.collect())
        .await
        .context("body timed out")??
        .to_bytes();
    Ok((parts.status, parts.headers, body))
}

/// Opens a legacy session on `endpoint` (`initialize`, then `notifications/initialized`) and
/// returns the endpoint carrying its session id; a modern endpoint is returned unchanged.
pub async fn open(client: &HttpClient, mut endpoint: Endpoint) -> anyhow::Result<Endpoint> {
    if endpoint.era == Era::Modern {
        return Ok(endpoint);
    }
    let (status, headers, body) = send(client, endpoint.initialize()).await?;
    let session = headers.get("mcp-session-id").cloned().with_context(|| {
        format!(
            "initialize at {} gave no session id: HTTP {status} {}",
            endpoint.uri,
            String::from_utf8_lossy(&body)
        )
    })?;
    endpoint.session = Some(session);
    let (status, _, body) = send(client, endpoint.initialized()).await?;
    if !status.is_success() {
        bail!(
            "notifications/initialized at {} refused: HTTP {status} {}",
            endpoint.uri,
            String::from_utf8_lossy(&body)
        );
    }
    Ok(endpoint)
}

/// One target of `tools/call`: an endpoint and the name `echo` has there.
#[derive(Debug, Clone)]
pub struct Target {
    /// Where to send.
    pub endpoint: Endpoint,
    /// `echo` directly, `upN__echo` through the gateway.
    pub tool: String,
}

/// What one measured operation is.
///
/// `tools/call` goes to one target, round-robin over the targets. `tools/list` goes to every
/// target at once when `fan_out` is set (the direct equivalent of the gateway's federated
/// list: the operation ends when the last upstream answers), otherwise to the first target.
#[derive(Debug)]
pub struct Driver {
    client: HttpClient,
    op: Op,
    targets: Vec<Target>,
    fan_out: bool,
    next_id: AtomicU64,
}

impl Driver {
    /// A driver of `op` over `targets` (at least one).
    pub fn new(client: HttpClient, op: Op, targets: Vec<Target>, fan_out: bool) -> Self {
        Self {
            client,
            op,
            targets,
            fan_out,
            next_id: AtomicU64::new(1),
        }
    }

    /// Runs one operation; `Err` says why it failed.
    pub async fn one(&self) -> Result<(), String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        match self.op {
            Op::Call => {
                let t = &self.targets[(id as usize) % self.targets.len()];
                checked(&self.client, t.endpoint.call(id, &t.tool))
                    .await
                    .map(drop)
            }
            Op::List if self.fan_out => {
                let all = self
                    .targets
                    .iter()
                    .map(|t| checked(&self.client, t.endpoint.list(id)));
                futures::future::try_join_all(all).await.map(drop)
            }
            Op::List => checked(&self.client, self.targets[0].endpoint.list(id))
                .await
                .map(drop),
        }
    }

    /// Runs one operation and checks its answers in full: the echoed text, or the number of
    /// tools listed (summed over the targets when fanning out). Returns that number.
    pub async fn preflight(&self) -> anyhow::Result<usize> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        match self.op {
            Op::Call => {
                for t in &self.targets {
                    let v = answer(&self.client, t.endpoint.call(id, &t.tool)).await?;
                    let text = v["result"]["content"][0]["text"].as_str();
                    if text != Some("hello") {
                        bail!("tools/call {} at {} answered {v}", t.tool, t.endpoint.uri);
                    }
                }
                Ok(self.targets.len())
            }
            Op::List => {
                let targets = if self.fan_out {
                    &self.targets[..]
                } else {
                    &self.targets[..1]
                };
                let mut total = 0;
                for t in targets {
                    let v = answer(&self.client, t.endpoint.list(id)).await?;
                    let Some(tools) = v["result"]["tools"].as_array() else {
                        bail!("tools/list at {} answered {v}", t.endpoint.uri);
                    };
                    total += tools.len();
                }
                Ok(total)
            }
        }
    }
}

/// Sends `req`; success is HTTP 200 with a JSON-RPC result (JSON or one SSE event).
async fn checked(client: &HttpClient, req: Request<Full<Bytes>>) -> Result<Bytes, String> {
    let (status, _, body) = send(client, req).await.map_err(|e| format!("{e:#}"))?;
    if status != StatusCode::OK {
        return Err(format!("HTTP {status}"));
    }
    if find(&body, b"\"result\"") && !find(&body, b"\"error\":{") {
        Ok(body)
    } else {
        Err(format!(
            "not a result: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ))
    }
}

/// Sends `req` and parses its JSON-RPC answer, from JSON or from an SSE `data:` line.
async fn answer(client: &HttpClient, req: Request<Full<Bytes>>) -> anyhow::Result<Value> {
    let uri = req.uri().clone();
    let body = checked(client, req)
        .await
        .map_err(|e| anyhow::anyhow!("{uri}: {e}"))?;
    let text = String::from_utf8_lossy(&body);
    let json = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .find(|d| d.contains("\"result\""))
        .unwrap_or(&text);
    serde_json::from_str(json.trim()).with_context(|| format!("{uri}: answer is not JSON: {text}"))
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
