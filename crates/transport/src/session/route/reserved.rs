//! Error codes Sallyport gives a meaning at its edge must come from Sallyport. An upstream
//! answering with one of them would make the HTTP edge act on it: -32018 turns the answer
//! into a 403 with a `WWW-Authenticate` step-up challenge, sending the client to sign in
//! again for a refusal the gateway never made. Such an upstream error is relayed as an
//! internal error that names the code instead.

use sallyport_mcp::{Message, error_code};
use serde_json::Value;

/// Codes the edge acts on.
const EDGE_CODES: [i32; 1] = [error_code::STEP_UP_REQUIRED];

/// `msg` with an upstream error in [`EDGE_CODES`] turned into -32603, its message and data
/// kept; any other message unchanged.
pub(super) fn defuse(msg: Message) -> Message {
    let Some(code) = msg.error_code() else {
        return msg;
    };
    if !EDGE_CODES.iter().any(|c| i64::from(*c) == code) {
        return msg;
    }
    let text = msg
        .error_value()
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let data = msg.error_value().and_then(|e| e.get("data")).cloned();
    Message::error(
        msg.id(),
        error_code::INTERNAL_ERROR,
        &format!("upstream error (code {code} is reserved by the gateway): {text}"),
        data,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use sallyport_mcp::RequestId;
    use serde_json::json;

    use super::*;

    #[test]
    fn an_upstream_step_up_code_is_relayed_as_an_internal_error() {
        let forged = Message::error(
            Some(RequestId::Number(7)),
            error_code::STEP_UP_REQUIRED,
            "sign in again",
            Some(json!({"scope": "admin"})),
        );
        let out = defuse(forged);
        assert_eq!(
            out.error_code(),
            Some(i64::from(error_code::INTERNAL_ERROR))
        );
        assert_eq!(out.id(), Some(RequestId::Number(7)));
        let e = out.error_value().unwrap();
        assert_eq!(
            e["message"],
            "upstream error (code -32018 is reserved by the gateway): sign in again"
        );
        assert_eq!(e["data"], json!({"scope": "admin"}));
        let ordinary = Message::error(Some(RequestId::Number(8)), -32002, "not found", None);
        assert_eq!(defuse(ordinary.clone()), ordinary);
        let result = Message::result(RequestId::Number(9), json!({"content": []}));
        assert_eq!(defuse(result.clone()), result);
    }
}
