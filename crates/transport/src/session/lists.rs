//! Federated lists: every upstream's page merged, names exposed, one signed cursor.

use std::collections::BTreeMap;
use std::sync::Arc;

use sallyport_mcp::{Message, RequestId, error_code};
use sallyport_pipeline::{Decision, Direction, Principal};
use serde_json::{Map, Value};
use tracing::warn;

use super::Session;

/// The array member and the naming member of each list method.
fn shape(method: &str) -> (&'static str, &'static str) {
    match method {
        "tools/list" => ("tools", "name"),
        "prompts/list" => ("prompts", "name"),
        "resources/list" => ("resources", "uri"),
        _ => ("resourceTemplates", "uriTemplate"),
    }
}

/// Answers a list request from every upstream (or those named in the cursor).
pub(super) async fn federated_list(
    s: &Arc<Session>,
    msg: &Message,
    principal: &Principal,
) -> Message {
    let method = msg.method().unwrap_or_default();
    let id = msg.id().unwrap_or(RequestId::Number(0));
    let fed = s.core.federation.clone();
    let wanted: Vec<(usize, Option<String>)> = match msg.param_str("cursor") {
        None => (0..s.slots.len()).map(|i| (i, None)).collect(),
        Some(c) => match fed.open_cursor(method, c) {
            Ok(map) => map
                .into_iter()
                .filter_map(|(k, v)| fed.index_of(&k).map(|i| (i, Some(v))))
                .collect(),
            Err(e) => {
                return Message::error(Some(id), error_code::INVALID_PARAMS, &e.to_string(), None);
            }
        },
    };
    let pages = futures::future::join_all(wanted.into_iter().map(|(idx, cursor)| {
        let s = s.clone();
        async move { (idx, list_one(&s, idx, method, cursor, principal).await) }
    }))
    .await;
    let (key, name_key) = shape(method);
    let mut items = Vec::new();
    let mut next = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for (idx, page) in pages {
        let Some(mut page) = page else { continue };
        let server = s.slots[idx].spec.name.to_string();
        if let Some(Value::String(c)) = page.remove("nextCursor") {
            next.insert(server.clone(), c);
        }
        let Some(Value::Array(list)) = page.remove(key) else {
            continue;
        };
        for mut item in list {
            let Some(obj) = item.as_object_mut() else {
                continue;
            };
            let Some(local) = obj.get(name_key).and_then(Value::as_str).map(str::to_owned) else {
                continue;
            };
            let exposed = if name_key == "name" {
                fed.expose_name(idx, &local)
            } else {
                fed.expose_uri(idx, &local)
            };
            if !seen.insert(exposed.clone()) {
                warn!(server = %server, name = %exposed, "Duplicate name in upstream list; later one hidden.");
                continue;
            }
            obj.insert(name_key.into(), Value::from(exposed));
            items.push(item);
        }
    }
    let mut result = Map::new();
    result.insert(key.into(), Value::Array(items));
    if let Some(c) = fed.mint_cursor(method, &next) {
        result.insert("nextCursor".into(), Value::from(c));
    }
    s.adapt_result(Message::result(id, Value::Object(result)), Some(method))
}

/// One upstream's page, after the response guards; `None` when it failed or lacks the list.
async fn list_one(
    s: &Arc<Session>,
    idx: usize,
    method: &str,
    cursor: Option<String>,
    principal: &Principal,
) -> Option<Map<String, Value>> {
    let slot = &s.slots[idx];
    let link = match slot.link(&s.gw, &s.hello, &s.events_tx).await {
        Ok(l) => l,
        Err(e) => {
            warn!(server = %slot.spec.name, error = %e, "Upstream left out of the list.");
            return None;
        }
    };
    if !offers(link.capabilities(), method) {
        return None;
    }
    let params = cursor.map(|c| serde_json::json!({ "cursor": c }));
    let request = Message::request(RequestId::Number(0), method, params);
    let mut stream = link.call(request).await.ok()?;
    let response = loop {
        let m = stream.next().await?;
        if m.is_response() {
            break m;
        }
    };
    let mut ex = s.exchange(Direction::ServerToClient, &response, principal);
    ex.server = Some(&slot.spec.name);
    ex.method = Some(method);
    let response = match s.inspect(&ex).await {
        Decision::Allow => response,
        Decision::Rewrite(m) => m,
        Decision::Deny(_) | Decision::Hold(_) => return None,
    };
    response.result_value().and_then(Value::as_object).cloned()
}

/// Whether an upstream's capabilities include the feature a list method belongs to.
fn offers(caps: &Value, method: &str) -> bool {
    let feature = method.split('/').next().unwrap_or_default();
    caps.get(feature).is_some()
}
