//! What every upstream offers, taken at start: tool and prompt names, and the collisions
//! among them, reported before any client asks.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use sallyport_mcp::version::Era;
use sallyport_mcp::{Message, RequestId};
use serde_json::{Value, json};

use crate::gateway::Gateway;
use crate::upstream::{ClientHello, EraCache, Link, LinkError};

/// How long one upstream may take to answer its handshake and lists.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// One upstream's offer.
#[derive(Debug, Clone, Default)]
pub struct ServerInventory {
    /// The era the gateway spoke with it.
    pub era: Option<&'static str>,
    /// Tool names as the upstream names them.
    pub tools: Vec<String>,
    /// Prompt names as the upstream names them.
    pub prompts: Vec<String>,
    /// Why it could not be listed, if it could not.
    pub error: Option<String>,
}

/// A name problem found across the federation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collision {
    /// One server lists the same name twice; clients would see only the first.
    Duplicate {
        /// Server.
        server: String,
        /// `tool` or `prompt`.
        kind: &'static str,
        /// The repeated name.
        name: String,
    },
    /// Several servers offer the same name; the prefixes keep them apart, but agents may
    /// confuse them.
    SharedName {
        /// `tool` or `prompt`.
        kind: &'static str,
        /// The shared name.
        name: String,
        /// The servers offering it.
        servers: Vec<String>,
    },
}

impl std::fmt::Display for Collision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Duplicate { server, kind, name } => {
                write!(
                    f,
                    "server {server} lists {kind} {name:?} more than once; only the first is exposed"
                )
            }
            Self::SharedName {
                kind,
                name,
                servers,
            } => {
                write!(
                    f,
                    "{kind} {name:?} is offered by {}; exposed under each server's prefix",
                    servers.join(", ")
                )
            }
        }
    }
}

/// Lists every upstream once and finds collisions.
pub async fn take(gw: &Arc<Gateway>) -> (BTreeMap<String, ServerInventory>, Vec<Collision>) {
    let core = gw.core();
    let probes = core.federation.servers().iter().map(|spec| {
        let gw = gw.clone();
        let spec = spec.clone();
        async move {
            let result = tokio::time::timeout(PROBE_TIMEOUT, probe(&gw, spec.clone())).await;
            let inv = match result {
                Ok(Ok(inv)) => inv,
                Ok(Err(e)) => ServerInventory {
                    error: Some(e.to_string()),
                    ..Default::default()
                },
                Err(_) => ServerInventory {
                    error: Some("timed out".into()),
                    ..Default::default()
                },
            };
            (spec.name.to_string(), inv)
        }
    });
    let servers: BTreeMap<String, ServerInventory> = futures::future::join_all(probes)
        .await
        .into_iter()
        .collect();
    let collisions = collisions(&servers);
    (servers, collisions)
}

/// A link to `spec` as a bare client, with the receiver of its server-initiated events
/// (unread; the caller keeps it so that the link can send to it).
async fn connect_bare(
    spec: Arc<crate::upstream::UpstreamSpec>,
    http: &crate::upstream::HttpClients,
    era_cache: &EraCache,
) -> Result<
    (
        Arc<Link>,
        tokio::sync::mpsc::Receiver<crate::upstream::LinkEvent>,
    ),
    LinkError,
> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let hello = ClientHello {
        era: Era::Legacy,
        ..ClientHello::bare()
    };
    let link = Link::connect(spec, hello, http, tx, era_cache).await?;
    Ok((link, rx))
}

async fn probe(
    gw: &Arc<Gateway>,
    spec: Arc<crate::upstream::UpstreamSpec>,
) -> Result<ServerInventory, LinkError> {
    let (link, _events) = connect_bare(spec, &gw.http, &gw.era_cache).await?;
    let mut inv = ServerInventory {
        era: Some(link.era().as_str()),
        ..Default::default()
    };
    if link.capabilities().get("tools").is_some() {
        inv.tools = names(&list_all(&link, "tools/list", "tools").await);
    }
    if link.capabilities().get("prompts").is_some() {
        inv.prompts = names(&list_all(&link, "prompts/list", "prompts").await);
    }
    link.shutdown().await;
    Ok(inv)
}

/// Everything one upstream shows a client, in full, as it sends it (no guard has seen it).
#[derive(Debug, Clone, Default)]
pub struct ServerDefinitions {
    /// Its `instructions` from the handshake.
    pub instructions: Option<String>,
    /// `tools/list`, every page.
    pub tools: Vec<Value>,
    /// `prompts/list`, every page.
    pub prompts: Vec<Value>,
    /// `resources/list`, every page.
    pub resources: Vec<Value>,
    /// `resources/templates/list`, every page.
    pub resource_templates: Vec<Value>,
}

/// Connects to one configured upstream, reads its instructions and every list its
/// capabilities offer, and disconnects: the input of `sallyport scan -c`.
pub async fn definitions(
    spec: Arc<crate::upstream::UpstreamSpec>,
) -> Result<ServerDefinitions, LinkError> {
    let http = crate::upstream::HttpClients::default();
    let (link, _events) = connect_bare(spec, &http, &EraCache::default()).await?;
    let caps = link.capabilities().clone();
    let mut out = ServerDefinitions {
        instructions: link.instructions().map(str::to_owned),
        ..ServerDefinitions::default()
    };
    if caps.get("tools").is_some() {
        out.tools = list_all(&link, "tools/list", "tools").await;
    }
    if caps.get("prompts").is_some() {
        out.prompts = list_all(&link, "prompts/list", "prompts").await;
    }
    if caps.get("resources").is_some() {
        out.resources = list_all(&link, "resources/list", "resources").await;
        out.resource_templates =
            list_all(&link, "resources/templates/list", "resourceTemplates").await;
    }
    link.shutdown().await;
    Ok(out)
}

fn names(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// Every item of one list, following the upstream's cursors (at most 100 pages).
async fn list_all(link: &Arc<Link>, method: &str, key: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let params = cursor.as_ref().map(|c| json!({ "cursor": c }));
        let Ok(mut stream) = link
            .call(Message::request(RequestId::Number(0), method, params))
            .await
        else {
            break;
        };
        let mut page = None;
        while let Some(m) = stream.next().await {
            if m.is_response() {
                page = m.result_value().cloned();
            }
        }
        let Some(page) = page else { break };
        if let Some(items) = page.get(key).and_then(Value::as_array) {
            all.extend(items.iter().cloned());
        }
        cursor = page
            .get("nextCursor")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    all
}

fn collisions(servers: &BTreeMap<String, ServerInventory>) -> Vec<Collision> {
    let mut out = Vec::new();
    for kind in ["tool", "prompt"] {
        let mut owners: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (server, inv) in servers {
            let names = if kind == "tool" {
                &inv.tools
            } else {
                &inv.prompts
            };
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for n in names {
                *seen.entry(n).or_default() += 1;
            }
            let mut dups: Vec<&str> = seen
                .iter()
                .filter(|(_, c)| **c > 1)
                .map(|(n, _)| *n)
                .collect();
            dups.sort_unstable();
            out.extend(dups.into_iter().map(|n| Collision::Duplicate {
                server: server.clone(),
                kind,
                name: n.to_owned(),
            }));
            for n in seen.into_keys() {
                owners.entry(n).or_default().push(server.clone());
            }
        }
        for (name, servers) in owners.into_iter().filter(|(_, s)| s.len() > 1) {
            out.push(Collision::SharedName {
                kind,
                name: name.to_owned(),
                servers,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_duplicates_and_shared_names() {
        let mut servers = BTreeMap::new();
        servers.insert(
            "a".to_owned(),
            ServerInventory {
                tools: vec!["read".into(), "read".into(), "x".into()],
                ..Default::default()
            },
        );
        servers.insert(
            "b".to_owned(),
            ServerInventory {
                tools: vec!["x".into()],
                ..Default::default()
            },
        );
        let found = collisions(&servers);
        assert!(found.contains(&Collision::Duplicate {
            server: "a".into(),
            kind: "tool",
            name: "read".into()
        }));
        assert!(found.contains(&Collision::SharedName {
            kind: "tool",
            name: "x".into(),
            servers: vec!["a".into(), "b".into()]
        }));
        assert_eq!(found.len(), 2);
    }
}
