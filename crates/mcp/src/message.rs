//! One JSON-RPC 2.0 message, kept as its JSON object.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::RequestId;
use crate::member::{has_member, member, member_of};

/// What a message is, read from which members it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// Has `method` and `id`.
    Request,
    /// Has `method` and no `id`.
    Notification,
    /// Has `id` and `result`.
    Result,
    /// Has `error` (and usually `id`).
    Error,
}

/// A JSON-RPC message. Every member, known or not, is preserved in the object.
///
/// Construct one with [`crate::parse_message`] (which validates the envelope) or with the
/// `request`/`notification`/`result`/`error` constructors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Message(Map<String, Value>);

impl Message {
    /// Wraps an object that has already been validated as a JSON-RPC envelope.
    pub fn from_object_unchecked(object: Map<String, Value>) -> Self {
        Self(object)
    }

    /// A request with the given id, method and params.
    pub fn request(id: RequestId, method: &str, params: Option<Value>) -> Self {
        let mut m = Map::new();
        m.insert("jsonrpc".into(), Value::from("2.0"));
        m.insert("id".into(), id.to_value());
        m.insert("method".into(), Value::from(method));
        if let Some(p) = params {
            m.insert("params".into(), p);
        }
        Self(m)
    }

    /// A notification with the given method and params.
    pub fn notification(method: &str, params: Option<Value>) -> Self {
        let mut m = Map::new();
        m.insert("jsonrpc".into(), Value::from("2.0"));
        m.insert("method".into(), Value::from(method));
        if let Some(p) = params {
            m.insert("params".into(), p);
        }
        Self(m)
    }

    /// A successful response.
    pub fn result(id: RequestId, result: Value) -> Self {
        let mut m = Map::new();
        m.insert("jsonrpc".into(), Value::from("2.0"));
        m.insert("id".into(), id.to_value());
        m.insert("result".into(), result);
        Self(m)
    }

    /// An error response; `id` is `None` only when the request id could not be read.
    pub fn error(id: Option<RequestId>, code: i32, message: &str, data: Option<Value>) -> Self {
        let mut error = json!({ "code": code, "message": message });
        if let (Some(d), Some(obj)) = (data, error.as_object_mut()) {
            obj.insert("data".into(), d);
        }
        let mut m = Map::new();
        m.insert("jsonrpc".into(), Value::from("2.0"));
        m.insert("id".into(), id.map_or(Value::Null, |i| i.to_value()));
        m.insert("error".into(), error);
        Self(m)
    }

    /// What kind of message this is.
    pub fn kind(&self) -> MessageKind {
        let has = |key| has_member(&self.0, key);
        if has("method") {
            if has("id") {
                MessageKind::Request
            } else {
                MessageKind::Notification
            }
        } else if has("error") {
            MessageKind::Error
        } else {
            MessageKind::Result
        }
    }

    /// True for requests and notifications.
    pub fn is_call(&self) -> bool {
        has_member(&self.0, "method")
    }

    /// True for results and errors.
    pub fn is_response(&self) -> bool {
        !self.is_call()
    }

    /// The id, if present and not null.
    pub fn id(&self) -> Option<RequestId> {
        member(&self.0, "id").and_then(RequestId::from_value)
    }

    /// Replaces the id.
    pub fn set_id(&mut self, id: &RequestId) {
        self.0.insert("id".into(), id.to_value());
    }

    /// The method of a request or notification.
    pub fn method(&self) -> Option<&str> {
        member(&self.0, "method").and_then(Value::as_str)
    }

    /// Replaces the method.
    pub fn set_method(&mut self, method: &str) {
        self.0.insert("method".into(), Value::from(method));
    }

    /// The params object, if any.
    pub fn params(&self) -> Option<&Map<String, Value>> {
        member(&self.0, "params").and_then(Value::as_object)
    }

    /// The params object, created empty if absent.
    pub fn params_mut(&mut self) -> &mut Map<String, Value> {
        let entry = self
            .0
            .entry("params")
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        match entry {
            Value::Object(map) => map,
            _ => unreachable!("params was just made an object"),
        }
    }

    /// A string member of params (`name`, `uri`, `cursor`, ...).
    pub fn param_str(&self, key: &str) -> Option<&str> {
        self.params()
            .and_then(|p| member(p, key))
            .and_then(Value::as_str)
    }

    /// `params._meta`, if any.
    pub fn params_meta(&self) -> Option<&Map<String, Value>> {
        self.params()
            .and_then(|p| member(p, "_meta"))
            .and_then(Value::as_object)
    }

    /// The result object of a successful response.
    pub fn result_value(&self) -> Option<&Value> {
        member(&self.0, "result")
    }

    /// The result object, mutable.
    pub fn result_mut(&mut self) -> Option<&mut Map<String, Value>> {
        self.0.get_mut("result").and_then(Value::as_object_mut)
    }

    /// The error object of an error response.
    pub fn error_value(&self) -> Option<&Value> {
        member(&self.0, "error")
    }

    /// The error code of an error response.
    pub fn error_code(&self) -> Option<i64> {
        self.error_value()
            .and_then(|e| member_of(e, "code"))
            .and_then(Value::as_i64)
    }

    /// The whole object.
    pub fn as_object(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The whole object, mutable.
    pub fn as_object_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.0
    }

    /// Consumes the message into its JSON value.
    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }

    /// Serializes to compact JSON bytes (never contains a raw newline).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.0).unwrap_or_default()
    }
}
