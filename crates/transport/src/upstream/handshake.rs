//! Era detection, `initialize` and `server/discover` with an upstream.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use sallyport_mcp::version::{self, Era};
use sallyport_mcp::{Message, RequestId};
use serde_json::{Map, Value, json};

use super::{EraChoice, Link, LinkError, UpstreamKind};

/// Client capabilities Sallyport can relay to an upstream (the rest are dropped).
const RELAYED_CAPABILITIES: [&str; 3] = ["roots", "sampling", "elicitation"];

/// How long an era probe (`server/discover`) may take before falling back to `initialize`.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// What the downstream client declared, used to open upstream connections on its behalf.
#[derive(Debug, Clone)]
pub struct ClientHello {
    /// The client's era: a dual-era upstream is spoken to in the same era, so legacy clients
    /// keep server→client requests, subscriptions and logging.
    pub era: Era,
    /// The legacy version negotiated with the client (asked of legacy upstreams).
    pub version: String,
    /// The client's declared capabilities (intersected with what Sallyport relays).
    pub capabilities: Value,
}

impl ClientHello {
    /// A hello that declares no client capabilities (stateless, modern clients).
    pub fn bare() -> Self {
        Self {
            era: Era::Modern,
            version: version::LATEST_LEGACY.into(),
            capabilities: json!({}),
        }
    }

    /// The capabilities advertised upstream: the intersection of what the client declared and
    /// what Sallyport can relay.
    pub fn relayed_capabilities(&self) -> Value {
        let mut out = Map::new();
        if let Some(obj) = self.capabilities.as_object() {
            for key in RELAYED_CAPABILITIES {
                if let Some(v) = obj.get(key) {
                    out.insert(key.into(), v.clone());
                }
            }
        }
        Value::Object(out)
    }
}

/// What an upstream told about itself.
#[derive(Debug, Clone)]
pub(crate) struct ServerInfo {
    pub(crate) era: Era,
    pub(crate) version: String,
    pub(crate) capabilities: Value,
    pub(crate) instructions: Option<String>,
}

impl Default for ServerInfo {
    fn default() -> Self {
        Self {
            era: Era::Legacy,
            version: version::LATEST_LEGACY.into(),
            capabilities: json!({}),
            instructions: None,
        }
    }
}

/// Detected eras, per upstream name and client era, so detection runs once per pair.
#[derive(Debug, Default)]
pub struct EraCache(Mutex<HashMap<(String, Era), Era>>);

impl EraCache {
    fn get(&self, server: &str, preferred: Era) -> Option<Era> {
        self.0
            .lock()
            .ok()
            .and_then(|m| m.get(&(server.to_owned(), preferred)).copied())
    }

    fn put(&self, server: &str, preferred: Era, era: Era) {
        if let Ok(mut m) = self.0.lock() {
            m.insert((server.to_owned(), preferred), era);
        }
    }
}

/// The gateway's own client identity, sent upstream instead of the client's.
pub(crate) fn gateway_client_info() -> Value {
    json!({ "name": "sallyport", "version": env!("CARGO_PKG_VERSION") })
}

/// Adds the `_meta` a 2026-07-28 upstream requires, keeping what the client sent.
pub(crate) fn insert_modern_meta(msg: &mut Message, hello: &ClientHello) {
    let params = msg.params_mut();
    let meta = params
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    if let Value::Object(meta) = meta {
        meta.insert(
            version::META_PROTOCOL_VERSION.into(),
            Value::from(version::MODERN),
        );
        meta.entry(version::META_CLIENT_CAPABILITIES)
            .or_insert_with(|| hello.relayed_capabilities());
        meta.entry(version::META_CLIENT_INFO)
            .or_insert_with(gateway_client_info);
    }
}

/// The 2026-07-28 per-request envelope keys of `_meta`, meaningless to a legacy upstream.
const MODERN_ENVELOPE: [&str; 4] = [
    version::META_PROTOCOL_VERSION,
    version::META_CLIENT_CAPABILITIES,
    version::META_CLIENT_INFO,
    "io.modelcontextprotocol/logLevel",
];

/// Removes a modern client's per-request envelope from `_meta` (and `_meta` itself when that
/// empties it), for a request relayed to a legacy upstream.
pub(crate) fn remove_modern_meta(msg: &mut Message) {
    let carries = msg
        .params_meta()
        .is_some_and(|m| MODERN_ENVELOPE.iter().any(|k| m.contains_key(*k)));
    if !carries {
        return;
    }
    let params = msg.params_mut();
    if let Some(Value::Object(meta)) = params.get_mut("_meta") {
        for key in MODERN_ENVELOPE {
            meta.remove(key);
        }
        if meta.is_empty() {
            params.remove("_meta");
        }
    }
}

/// Runs the handshake for the link's era choice. With `auto`, the client's own era is tried
/// first (a dual-era upstream then behaves for the gateway as it would for the client), and
/// the other era second; the outcome is cached per server and client era.
pub(crate) async fn handshake(link: &Link, cache: &EraCache) -> Result<ServerInfo, LinkError> {
    let server = link.spec.name.clone();
    let preferred = link.hello.era;
    let order: &[Era] = match (&link.spec.kind, link.spec.era) {
        (UpstreamKind::Sse(_), _) | (_, EraChoice::Legacy) => &[Era::Legacy],
        (_, EraChoice::Modern) => &[Era::Modern],
        (_, EraChoice::Auto) => match cache.get(&server, preferred) {
            Some(Era::Legacy) => &[Era::Legacy],
            Some(Era::Modern) => &[Era::Modern],
            None if preferred == Era::Legacy => &[Era::Legacy, Era::Modern],
            None => &[Era::Modern, Era::Legacy],
        },
    };
    let mut last = None;
    for (i, era) in order.iter().enumerate() {
        let probing = i + 1 < order.len();
        let attempt = match era {
            Era::Modern => {
                discover(
                    link,
                    if probing {
                        PROBE_TIMEOUT
                    } else {
                        link.spec.request_timeout
                    },
                )
                .await
            }
            Era::Legacy => initialize(link).await,
        };
        match attempt {
            Ok(info) => {
                cache.put(&server, preferred, info.era);
                return Ok(info);
            }
            // Only a refusal means "try the other era"; a dead transport will not improve.
            Err(e @ (LinkError::Closed { .. } | LinkError::Spawn { .. })) => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or(LinkError::Handshake {
        server: server.to_string(),
        reason: "no era to try".into(),
    }))
}

async fn discover(link: &Link, timeout: Duration) -> Result<ServerInfo, LinkError> {
    let mut msg = Message::request(RequestId::Number(0), "server/discover", Some(json!({})));
    insert_modern_meta(&mut msg, &link.hello);
    let reply = link.raw_request(msg, timeout).await?;
    let fail = |reason: &str| LinkError::Handshake {
        server: link.spec.name.to_string(),
        reason: reason.into(),
    };
    let result = reply
        .result_value()
        .ok_or_else(|| fail("server/discover was refused"))?;
    let supported = result
        .get("supportedVersions")
        .and_then(Value::as_array)
        .ok_or_else(|| fail("no supportedVersions"))?;
    if !supported
        .iter()
        .any(|v| v.as_str() == Some(version::MODERN))
    {
        return Err(fail("server does not support 2026-07-28"));
    }
    Ok(ServerInfo {
        era: Era::Modern,
        version: version::MODERN.into(),
        capabilities: result
            .get("capabilities")
            .cloned()
            .unwrap_or_else(|| json!({})),
        instructions: result
            .get("instructions")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

async fn initialize(link: &Link) -> Result<ServerInfo, LinkError> {
    let fail = |reason: String| LinkError::Handshake {
        server: link.spec.name.to_string(),
        reason,
    };
    let requested = match link.spec.kind {
        UpstreamKind::Sse(_) => version::HTTP_SSE_VERSION.to_owned(),
        _ => link.hello.version.clone(),
    };
    let params = json!({
        "protocolVersion": requested,
        "capabilities": link.hello.relayed_capabilities(),
        "clientInfo": gateway_client_info(),
    });
    let msg = Message::request(RequestId::Number(0), "initialize", Some(params));
    let reply = link.raw_request(msg, link.spec.request_timeout).await?;
    let result = reply
        .result_value()
        .ok_or_else(|| fail(format!("initialize refused: {}", error_text(&reply))))?;
    let version = result
        .get("protocolVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if version::era_of(version) != Some(Era::Legacy) {
        return Err(fail(format!(
            "server chose unsupported protocol version {version:?}"
        )));
    }
    link.set_wire_protocol(Era::Legacy, version);
    link.notify_raw(Message::notification("notifications/initialized", None))
        .await?;
    Ok(ServerInfo {
        era: Era::Legacy,
        version: version.to_owned(),
        capabilities: result
            .get("capabilities")
            .cloned()
            .unwrap_or_else(|| json!({})),
        instructions: result
            .get("instructions")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

fn error_text(reply: &Message) -> String {
    reply
        .error_value()
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("no result")
        .chars()
        .take(200)
        .collect()
}
