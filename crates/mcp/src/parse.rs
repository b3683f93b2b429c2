//! Turning untrusted bytes into validated JSON-RPC messages.

use serde_json::{Map, Value};
use thiserror::Error;

use crate::{Message, RequestId, error_code, has_member, member, member_of};

/// Bounds applied before and while parsing a body.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted body, in bytes.
    pub max_bytes: usize,
    /// Deepest accepted nesting of arrays and objects.
    pub max_depth: usize,
    /// Largest accepted batch (only legal on 2025-03-26).
    pub max_batch: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 4 * 1024 * 1024,
            max_depth: 64,
            max_batch: 64,
        }
    }
}

/// A parsed body: one message or a JSON array of them.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A single message.
    Single(Message),
    /// A batch (a JSON array); whether it is allowed depends on the protocol version.
    Batch(Vec<Message>),
}

/// Why a body is not a valid JSON-RPC envelope.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The body is larger than the configured limit.
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size seen.
        size: usize,
        /// Limit configured.
        limit: usize,
    },
    /// The body nests deeper than the configured limit.
    #[error("JSON nesting exceeds the limit of {limit} levels")]
    TooDeep {
        /// Limit configured.
        limit: usize,
    },
    /// The body is not JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// The JSON is not a JSON-RPC 2.0 message.
    #[error("invalid JSON-RPC message: {reason}")]
    Invalid {
        /// What is wrong, in words a client developer can act on.
        reason: &'static str,
        /// The id, when it could be read, so the error can answer it.
        id: Option<RequestId>,
    },
    /// An empty array, or one larger than the batch limit.
    #[error("batch of {size} messages is empty or exceeds the limit of {limit}")]
    BadBatch {
        /// Size seen.
        size: usize,
        /// Limit configured.
        limit: usize,
    },
}

impl EnvelopeError {
    /// The JSON-RPC code this error is answered with.
    pub fn jsonrpc_code(&self) -> i32 {
        match self {
            Self::Json(_) | Self::TooDeep { .. } => error_code::PARSE_ERROR,
            Self::TooLarge { .. } | Self::Invalid { .. } | Self::BadBatch { .. } => {
                error_code::INVALID_REQUEST
            }
        }
    }

    /// The request id to answer, if one could be read.
    pub fn id(&self) -> Option<RequestId> {
        match self {
            Self::Invalid { id, .. } => id.clone(),
            _ => None,
        }
    }

    /// The error as a JSON-RPC error response.
    pub fn to_message(&self) -> Message {
        Message::error(self.id(), self.jsonrpc_code(), &self.to_string(), None)
    }
}

/// The maximum nesting depth of arrays and objects in `bytes`, counted without parsing.
///
/// Strings are skipped (with escapes), so brackets inside them do not count. Runs in one pass.
pub fn json_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Parses a body (an HTTP POST body or a stdio line) under `limits`.
pub fn parse_body(bytes: &[u8], limits: &Limits) -> Result<Body, EnvelopeError> {
    if bytes.len() > limits.max_bytes {
        return Err(EnvelopeError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    if json_depth(bytes) > limits.max_depth {
        return Err(EnvelopeError::TooDeep {
            limit: limits.max_depth,
        });
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Json(e.to_string()))?;
    match value {
        Value::Array(items) => {
            if items.is_empty() || items.len() > limits.max_batch {
                return Err(EnvelopeError::BadBatch {
                    size: items.len(),
                    limit: limits.max_batch,
                });
            }
            items
                .into_iter()
                .map(validate)
                .collect::<Result<Vec<_>, _>>()
                .map(Body::Batch)
        }
        other => validate(other).map(Body::Single),
    }
}

/// Parses exactly one message (a batch is an error).
pub fn parse_message(bytes: &[u8], limits: &Limits) -> Result<Message, EnvelopeError> {
    match parse_body(bytes, limits)? {
        Body::Single(m) => Ok(m),
        Body::Batch(_) => Err(invalid("batches are not allowed here", None)),
    }
}

fn invalid(reason: &'static str, id: Option<RequestId>) -> EnvelopeError {
    EnvelopeError::Invalid { reason, id }
}

/// Checks the JSON-RPC 2.0 envelope rules on one value.
fn validate(value: Value) -> Result<Message, EnvelopeError> {
    let Value::Object(obj) = value else {
        return Err(invalid("a message must be a JSON object", None));
    };
    let id_value = member(&obj, "id");
    let id = id_value.and_then(RequestId::from_value);
    if member(&obj, "jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid("\"jsonrpc\" must be \"2.0\"", id));
    }
    if let Some(v) = id_value
        && id.is_none()
        && !(v.is_null() && has_member(&obj, "error"))
    {
        return Err(invalid(
            "\"id\" must be a string or an integer, not null",
            None,
        ));
    }
    validate_shape(&obj, id.clone())?;
    Ok(Message::from_object_unchecked(obj))
}

fn validate_shape(obj: &Map<String, Value>, id: Option<RequestId>) -> Result<(), EnvelopeError> {
    let has = |k: &str| has_member(obj, k);
    if let Some(method) = member(obj, "method") {
        if !method.is_string() {
            return Err(invalid("\"method\" must be a string", id));
        }
        if has("result") || has("error") {
            return Err(invalid(
                "a request must not carry \"result\" or \"error\"",
                id,
            ));
        }
        if let Some(p) = member(obj, "params")
            && !p.is_object()
            && !p.is_array()
        {
            return Err(invalid("\"params\" must be an object or an array", id));
        }
        return Ok(());
    }
    match (has("result"), member(obj, "error")) {
        (true, None) if id.is_some() => Ok(()),
        (true, None) => Err(invalid("a result must carry the id it answers", None)),
        (false, Some(e)) if member_of(e, "code").is_some_and(Value::is_i64) => Ok(()),
        (false, Some(_)) => Err(invalid(
            "\"error\" must be an object with an integer \"code\"",
            id,
        )),
        (true, Some(_)) => Err(invalid(
            "a response must not carry both \"result\" and \"error\"",
            id,
        )),
        (false, None) => Err(invalid(
            "a message needs \"method\", \"result\" or \"error\"",
            id,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Body, EnvelopeError> {
        parse_body(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn accepts_each_kind() {
        for s in [
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":"a","result":{}}"#,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}"#,
        ] {
            assert!(matches!(parse(s), Ok(Body::Single(_))), "{s}");
        }
    }

    #[test]
    fn rejects_null_id_request_and_bad_version() {
        let e = parse(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#).unwrap_err();
        assert_eq!(e.jsonrpc_code(), error_code::INVALID_REQUEST);
        let e = parse(r#"{"jsonrpc":"1.0","id":7,"method":"ping"}"#).unwrap_err();
        assert_eq!(e.id(), Some(RequestId::Number(7)));
    }

    #[test]
    fn rejects_too_deep_and_too_large() {
        let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(
            parse(&deep).unwrap_err(),
            EnvelopeError::TooDeep { limit: 64 }
        );
        let limits = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            parse_body(br#"{"jsonrpc":"2.0","method":"x"}"#, &limits),
            Err(EnvelopeError::TooLarge { .. })
        ));
    }

    #[test]
    fn depth_ignores_brackets_in_strings() {
        assert_eq!(json_depth(br#"{"a":"[[[[\"{{"}"#), 1);
    }

    #[test]
    fn batch_is_parsed_as_batch() {
        let b = parse(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#).unwrap();
        assert!(matches!(b, Body::Batch(v) if v.len() == 1));
        assert!(matches!(parse("[]"), Err(EnvelopeError::BadBatch { .. })));
    }
}
