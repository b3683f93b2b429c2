//! Decision records: what the relay publishes for every message.

use serde::Serialize;

use crate::{DenyCode, Direction, Origin};

/// The overall outcome for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Passed unchanged.
    Allow,
    /// Passed, rewritten by at least one guard.
    Rewrite,
    /// Refused.
    Deny,
    /// Held for approval.
    Hold,
}

impl Outcome {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Rewrite => "rewrite",
            Self::Deny => "deny",
            Self::Hold => "hold",
        }
    }
}

/// One guard's part in a decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardRecord {
    /// The guard's stable name.
    pub guard: &'static str,
    /// What it answered.
    pub outcome: Outcome,
    /// Why, when it did anything but allow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How long it took, in nanoseconds.
    pub duration_ns: u64,
}

/// Everything decided about one message: emitted once per message by the relay (or the edge,
/// when a message is refused before it can be parsed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionRecord {
    /// The exchange this message belongs to: a client's message, everything relayed for it
    /// and its answer share one id, which is also the `exchange_id` of the gateway's log lines
    /// and trace span for that exchange. A refusal at the edge is an exchange of its own.
    pub exchange_id: String,
    /// Milliseconds since the Unix epoch.
    pub time_unix_ms: u64,
    /// Which way the message travelled.
    pub direction: Direction,
    /// Request, notification, result or error.
    pub kind: &'static str,
    /// The method (for responses, the answered request's method).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The JSON-RPC id as the client saw it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jsonrpc_id: Option<String>,
    /// The upstream server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The upstream-local tool or prompt name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The principal's id.
    pub principal: String,
    /// How the principal authenticated (`none`, `stdio`, `jwt`, `api_key`, `mtls`).
    pub auth_method: &'static str,
    /// The principal's tenant, when multi-tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The client's address, when the edge knew it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<std::net::IpAddr>,
    /// The downstream session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The client's era (`legacy` or `modern`).
    pub era: &'static str,
    /// The overall outcome.
    pub outcome: Outcome,
    /// The deny code, when denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deny_code: Option<DenyCode>,
    /// Who is to blame, when denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// The reason for the outcome (audit detail; may be more than the caller saw).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Every guard that looked at the message, in order.
    pub guards: Vec<GuardRecord>,
    /// Total pipeline time in nanoseconds.
    pub duration_ns: u64,
}

/// Where decision records go (the in-process bus).
pub trait DecisionSink: Send + Sync {
    /// Publish one record. Must not block the data path.
    fn publish(&self, record: DecisionRecord);
}
