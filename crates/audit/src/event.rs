//! The audit event: what one stored record says (docs/audit.md, "Event format").

use serde::{Deserialize, Serialize};
use serde_json::Value;

use sallyport_pipeline::DecisionRecord;

use crate::canonical::canonical_digest_hex;

/// Version of the event schema written by this crate.
pub const EVENT_SCHEMA_VERSION: u32 = 1;

/// Event type of the records the log writes when retention deletes events.
pub const RETENTION_PURGE: &str = "retention_purge";

/// Retention class that is never purged (retention purges themselves).
pub const PERMANENT_CLASS: &str = "permanent";

/// One audit event. Serialised canonically (crate::canonical) and hash-chained when stored.
///
/// Fields of this and the nested types are declared in key order, and none is a map, so
/// serde_json emits canonical JSON directly (checked by a test against the canonicaliser).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// The MCP method (`tools/call`, …) or the gateway action.
    pub action: String,
    /// Compliance regimes this event is evidence for (`gdpr`, `hipaa`, `sox`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compliance_tags: Vec<String>,
    /// Stable deny code, when denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny_code: Option<String>,
    /// What happened: `mcp_request`, `mcp_response`, `authentication_failed`,
    /// `authorization_denied`, `rate_limit_exceeded`, `suspicious_pattern`, `retention_purge`, …
    pub event_type: String,
    /// The exchange this event describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_id: Option<String>,
    /// Every guard or detector that had something to say, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// Unique id (a UUID v7 from [`new_event_id`]); the store rejects duplicates.
    pub id: String,
    /// Who is to blame (`client`, `upstream`, `gateway`), when denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// `allow`, `rewrite`, `deny`, `hold`, or `success` for internal events.
    pub outcome: String,
    /// The principal's id.
    pub principal: String,
    /// For `retention_purge` events: what was deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purge: Option<PurgeRecord>,
    /// Why (audit detail; may say more than the caller saw).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Sanitised request details; never the raw arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestDetails>,
    /// `mcp://<server>/<tool>` when a server (and tool) is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// A summary of the response, when one was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseSummary>,
    /// Retention class; its retention period comes from configuration.
    pub retention_class: String,
    /// Risk score in `[0, 1]`, when one was computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_score: Option<f64>,
    /// The downstream session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Client address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    /// The principal's tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub time_unix_ms: u64,
    /// Trust score in `[0, 1]`, when one was computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_score: Option<f64>,
    /// Client `User-Agent` (or MCP client name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Schema version ([`EVENT_SCHEMA_VERSION`]).
    pub v: u32,
}

/// Sanitised request details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestDetails {
    /// Top-level argument names (never values), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub argument_keys: Vec<String>,
    /// Size of the canonical arguments in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments_bytes: Option<u64>,
    /// SHA-256 (hex) of the canonical JSON of the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments_sha256: Option<String>,
    /// `client_to_server` or `server_to_client`.
    pub direction: String,
    /// Pipeline time in nanoseconds.
    pub duration_ns: u64,
    /// Protocol era (`legacy` or `modern`).
    pub era: String,
    /// JSON-RPC id as the client saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsonrpc_id: Option<String>,
    /// `request`, `notification`, `result` or `error`.
    pub kind: String,
}

/// What came back, summarised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseSummary {
    /// Size of the response in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Number of content items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_items: Option<u64>,
    /// The result was an error (JSON-RPC error or `isError`).
    pub is_error: bool,
}

/// One guard's or detector's part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Time taken in nanoseconds.
    pub duration_ns: u64,
    /// What it answered.
    pub outcome: String,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Stable guard or detector name.
    pub source: String,
}

/// What one retention purge deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeRecord {
    /// The cut-offs applied: retention class and "older than" time in ms since the epoch.
    pub cutoffs: Vec<PurgeCutoff>,
    /// Events deleted in total.
    pub deleted: u64,
    /// Runs of consecutive sequence numbers deleted, ascending.
    pub runs: Vec<PurgedRun>,
}

/// A cut-off applied by a purge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeCutoff {
    /// Events with `time_unix_ms` below this were deleted.
    pub before_unix_ms: u64,
    /// The retention class.
    pub class: String,
}

/// A run of consecutive deleted events, with the hashes that let a verifier bridge the gap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgedRun {
    /// First deleted sequence number.
    pub first_seq: u64,
    /// `prev_hash` of the first deleted event (hash of the event before the run), hex.
    pub hash_before: String,
    /// `hash` of the last deleted event (the next event's `prev_hash`), hex.
    pub hash_last: String,
    /// SHA-256 over the concatenated 32-byte hashes of the deleted events, hex.
    pub hashes_sha256: String,
    /// Last deleted sequence number.
    pub last_seq: u64,
}

/// Context the decision record does not carry, supplied by the edge or the relay.
#[derive(Debug, Clone, Default)]
pub struct AuditContext<'a> {
    /// Overrides the derived event type.
    pub event_type: Option<&'a str>,
    /// The principal's tenant.
    pub tenant: Option<&'a str>,
    /// Client address.
    pub source_ip: Option<&'a str>,
    /// Client user agent.
    pub user_agent: Option<&'a str>,
    /// Risk score in `[0, 1]`.
    pub risk_score: Option<f64>,
    /// Trust score in `[0, 1]`.
    pub trust_score: Option<f64>,
    /// The raw tool arguments: only their digest, size and top-level keys are kept.
    pub arguments: Option<&'a Value>,
    /// Response summary.
    pub response: Option<ResponseSummary>,
    /// Extra findings (detectors) beyond the guard records.
    pub findings: Vec<Finding>,
    /// Compliance tags.
    pub compliance_tags: Vec<String>,
    /// Retention class; `standard` when absent.
    pub retention_class: Option<&'a str>,
}

impl AuditEvent {
    /// Build the audit event for one decision record.
    pub fn from_decision(record: &DecisionRecord, extra: &AuditContext<'_>) -> Self {
        let resource = record.server.as_ref().map(|server| match &record.tool {
            Some(tool) => format!("mcp://{server}/{tool}"),
            None => format!("mcp://{server}"),
        });
        let mut findings: Vec<Finding> = record
            .guards
            .iter()
            .filter(|g| g.outcome.as_str() != "allow" || g.reason.is_some())
            .map(|g| Finding {
                source: g.guard.to_owned(),
                outcome: g.outcome.as_str().to_owned(),
                reason: g.reason.clone(),
                duration_ns: g.duration_ns,
            })
            .collect();
        findings.extend(extra.findings.iter().cloned());
        let event_type = extra
            .event_type
            .map_or_else(|| derive_event_type(record), str::to_owned);
        Self {
            v: EVENT_SCHEMA_VERSION,
            id: new_event_id(),
            time_unix_ms: record.time_unix_ms,
            event_type,
            principal: record.principal.clone(),
            tenant: extra.tenant.map(str::to_owned),
            session: record.session_id.clone(),
            exchange_id: Some(record.exchange_id.clone()),
            resource,
            action: record
                .method
                .clone()
                .unwrap_or_else(|| record.kind.to_owned()),
            outcome: record.outcome.as_str().to_owned(),
            deny_code: record.deny_code.map(|c| c.as_str().to_owned()),
            origin: record.origin.map(|o| origin_name(o).to_owned()),
            reason: record.reason.clone(),
            risk_score: extra.risk_score.filter(|s| s.is_finite()),
            trust_score: extra.trust_score.filter(|s| s.is_finite()),
            source_ip: extra.source_ip.map(str::to_owned),
            user_agent: extra.user_agent.map(str::to_owned),
            request: Some(request_details(record, extra.arguments)),
            response: extra.response.clone(),
            findings,
            compliance_tags: extra.compliance_tags.clone(),
            retention_class: extra.retention_class.unwrap_or("standard").to_owned(),
            purge: None,
        }
    }

    /// A minimal event for internal use and tests.
    pub fn new(event_type: &str, principal: &str, action: &str, outcome: &str) -> Self {
        Self {
            v: EVENT_SCHEMA_VERSION,
            id: new_event_id(),
            time_unix_ms: now_unix_ms(),
            event_type: event_type.to_owned(),
            principal: principal.to_owned(),
            tenant: None,
            session: None,
            exchange_id: None,
            resource: None,
            action: action.to_owned(),
            outcome: outcome.to_owned(),
            deny_code: None,
            origin: None,
            reason: None,
            risk_score: None,
            trust_score: None,
            source_ip: None,
            user_agent: None,
            request: None,
            response: None,
            findings: Vec::new(),
            compliance_tags: Vec::new(),
            retention_class: "standard".to_owned(),
            purge: None,
        }
    }

    /// Severity on the CEF scale 0–10, derived from type and outcome (seed SECURITY_EVENTS).
    pub fn severity(&self) -> u8 {
        match self.event_type.as_str() {
            "privilege_escalation_attempt" => 10,
            "suspicious_pattern" | "invalid_certificate" => 8,
            "authentication_failed" | "authorization_denied" => 5,
            "rate_limit_exceeded" => 3,
            _ => match self.outcome.as_str() {
                "deny" => 5,
                "hold" | "rewrite" => 3,
                _ => 1,
            },
        }
    }
}

fn derive_event_type(record: &DecisionRecord) -> String {
    let code = record.deny_code.map(|c| c.as_str());
    let name = match code {
        Some("unauthenticated") => "authentication_failed",
        Some("auth_forbidden" | "tool_not_allowed" | "step_up_required") => "authorization_denied",
        Some("invalid_certificate") => "invalid_certificate",
        Some(code) if code.contains("rate") => "rate_limit_exceeded",
        _ => match record.direction {
            sallyport_pipeline::Direction::ClientToServer => "mcp_request",
            sallyport_pipeline::Direction::ServerToClient => "mcp_response",
        },
    };
    name.to_owned()
}

fn origin_name(origin: sallyport_pipeline::Origin) -> &'static str {
    match origin {
        sallyport_pipeline::Origin::Client => "client",
        sallyport_pipeline::Origin::Upstream => "upstream",
        sallyport_pipeline::Origin::Gateway => "gateway",
    }
}

fn request_details(record: &DecisionRecord, args: Option<&Value>) -> RequestDetails {
    let direction = match record.direction {
        sallyport_pipeline::Direction::ClientToServer => "client_to_server",
        sallyport_pipeline::Direction::ServerToClient => "server_to_client",
    };
    let (digest, bytes) = match args.map(crate::canonical::to_canonical_json) {
        Some(Ok(text)) => (
            Some(hex::encode(crate::canonical::sha256(text.as_bytes()))),
            Some(text.len() as u64),
        ),
        _ => (None, None),
    };
    let mut keys: Vec<String> = match args {
        Some(Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    };
    keys.sort_unstable();
    RequestDetails {
        direction: direction.to_owned(),
        kind: record.kind.to_owned(),
        jsonrpc_id: record.jsonrpc_id.clone(),
        era: record.era.to_owned(),
        arguments_sha256: digest,
        argument_keys: keys,
        arguments_bytes: bytes,
        duration_ns: record.duration_ns,
    }
}

/// Digest of arguments as stored in [`RequestDetails::arguments_sha256`].
pub fn arguments_digest(args: &Value) -> Result<String, serde_json::Error> {
    canonical_digest_hex(args)
}

/// A fresh event id: a UUID v7 (48-bit millisecond time, then a counter and random bits;
/// ascending within a process). Time order keeps inserts into the stores' unique index on
/// event ids at the index's right edge instead of on a random page of it.
pub fn new_event_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
