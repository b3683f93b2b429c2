//! MCP-level checks beyond the JSON-RPC envelope.

use serde_json::Value;

use crate::{Denial, DenyCode, Direction, Exchange, Guard, GuardError, Verdict};
use sallyport_mcp::{MessageKind, version::Era};

/// Rejects messages that are valid JSON-RPC but not valid MCP for their method and era:
/// a `tools/call` without a string `name`, a `resources/read` without a string `uri`, a
/// response sent by a modern client, a non-object `params`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProtocolGuard;

impl Guard for ProtocolGuard {
    fn name(&self) -> &'static str {
        "protocol"
    }

    fn check(&self, ex: &Exchange<'_>) -> Result<Verdict, GuardError> {
        let msg = ex.message;
        if ex.direction == Direction::ClientToServer && ex.era == Era::Modern && msg.is_response() {
            return Ok(deny(
                "modern (2026-07-28) clients must not send JSON-RPC responses",
            ));
        }
        if !msg.is_call() {
            return Ok(Verdict::Allow);
        }
        if sallyport_mcp::member(msg.as_object(), "params").is_some_and(|p| !p.is_object()) {
            return Ok(deny("\"params\" must be an object"));
        }
        let required = match (msg.kind(), msg.method()) {
            (MessageKind::Request, Some("tools/call" | "prompts/get")) => Some("name"),
            (MessageKind::Request, Some("resources/read")) => Some("uri"),
            // Removed in 2026-07-28: left for the router to answer as unknown methods.
            (MessageKind::Request, Some("resources/subscribe" | "resources/unsubscribe"))
                if ex.era == Era::Legacy =>
            {
                Some("uri")
            }
            _ => None,
        };
        if let Some(field) = required {
            let ok = msg
                .params()
                .and_then(|p| sallyport_mcp::member(p, field))
                .is_some_and(Value::is_string);
            if !ok {
                return Ok(deny(match field {
                    "name" => "params.name must be a string naming the tool or prompt",
                    _ => "params.uri must be a string naming the resource",
                }));
            }
        }
        Ok(Verdict::Allow)
    }
}

fn deny(message: &'static str) -> Verdict {
    Verdict::Deny(Denial::client(DenyCode::InvalidMessage, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Principal;
    use sallyport_mcp::{Message, RequestId};
    use serde_json::json;

    fn check(dir: Direction, era: Era, msg: &Message) -> Verdict {
        let p = Principal::local();
        ProtocolGuard
            .check(&Exchange::new(dir, msg, &p, era))
            .unwrap()
    }

    #[test]
    fn tools_call_needs_a_name() {
        let bad = Message::request(
            RequestId::Number(1),
            "tools/call",
            Some(json!({"arguments":{}})),
        );
        assert!(matches!(
            check(Direction::ClientToServer, Era::Legacy, &bad),
            Verdict::Deny(_)
        ));
        let good = Message::request(
            RequestId::Number(1),
            "tools/call",
            Some(json!({"name":"x"})),
        );
        assert_eq!(
            check(Direction::ClientToServer, Era::Legacy, &good),
            Verdict::Allow
        );
    }

    #[test]
    fn modern_clients_send_no_responses() {
        let r = Message::result(RequestId::Number(1), json!({}));
        assert!(matches!(
            check(Direction::ClientToServer, Era::Modern, &r),
            Verdict::Deny(_)
        ));
        assert_eq!(
            check(Direction::ClientToServer, Era::Legacy, &r),
            Verdict::Allow
        );
    }
}
