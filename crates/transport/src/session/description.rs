//! What a client learns of the federated servers in `initialize` and `server/discover`:
//! merged capabilities, Sallyport's own server info, and each upstream's instructions after
//! the response guards (instructions go straight into the model's context, so a poisoned
//! server must not reach it through them).

use sallyport_mcp::{Message, RequestId};
use sallyport_pipeline::{Decision, Direction, Principal};
use serde_json::{Map, Value, json};

use super::Session;

impl Session {
    /// `capabilities`, `serverInfo` and `instructions` for `initialize` and `server/discover`
    /// (`method`). Each upstream's instructions pass the response guards first as that
    /// upstream's `method` result, so a guard may withhold or rewrite them (and the decision
    /// is recorded like any other).
    pub(crate) async fn merged_server_description(
        &self,
        principal: &Principal,
        method: &str,
    ) -> Map<String, Value> {
        let mut caps = Map::new();
        let mut instructions = Vec::new();
        for slot in &self.slots {
            let Some(link) = slot.current().await else {
                continue;
            };
            merge_capabilities(&mut caps, link.capabilities());
            let Some(text) = link.instructions() else {
                continue;
            };
            if let Some(text) = self
                .screen_instructions(&slot.spec.name, text, principal, method)
                .await
            {
                instructions.push(format!("[{}] {}", slot.spec.name, text));
            }
        }
        let mut out = Map::new();
        out.insert("capabilities".into(), Value::Object(caps));
        out.insert("serverInfo".into(), json!({ "name": "sallyport", "title": "Sallyport MCP gateway", "version": env!("CARGO_PKG_VERSION") }));
        if !instructions.is_empty() {
            out.insert("instructions".into(), Value::from(instructions.join("\n")));
        }
        out
    }

    /// One upstream's instructions as the guards leave them; `None` when withheld.
    async fn screen_instructions(
        &self,
        server: &str,
        text: &str,
        principal: &Principal,
        method: &str,
    ) -> Option<String> {
        let result = Message::result(RequestId::Number(0), json!({ "instructions": text }));
        let mut ex = self.exchange(Direction::ServerToClient, &result, principal);
        ex.server = Some(server);
        ex.method = Some(method);
        let screened = match self.inspect(&ex).await {
            Decision::Allow => return Some(text.to_owned()),
            Decision::Rewrite(m) => m,
            Decision::Deny(_) | Decision::Hold(_) => return None,
        };
        screened
            .result_value()?
            .get("instructions")?
            .as_str()
            .map(str::to_owned)
    }
}

/// Union of upstream capabilities: a feature is offered when any upstream offers it;
/// `listChanged`/`subscribe` are true when any upstream's is.
fn merge_capabilities(into: &mut Map<String, Value>, from: &Value) {
    let Some(from) = from.as_object() else { return };
    for key in ["tools", "prompts", "resources", "logging", "completions"] {
        let Some(v) = from.get(key) else { continue };
        let entry = into.entry(key).or_insert_with(|| json!({}));
        if let (Some(dst), Some(src)) = (entry.as_object_mut(), v.as_object()) {
            for flag in ["listChanged", "subscribe"] {
                if src.get(flag).and_then(Value::as_bool) == Some(true) {
                    dst.insert(flag.into(), Value::Bool(true));
                }
            }
        }
    }
}
