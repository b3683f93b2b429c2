//! Client requests awaiting their response, so that a response record can be timed against
//! the request record it answers (`mcp_tool_execution_duration_seconds`,
//! `mcp_request_duration_seconds`). Bounded: a request whose response never comes is
//! forgotten after [`MAX_AGE_MS`], and past [`MAX_ENTRIES`] new requests are not timed.

use std::collections::HashMap;

/// Requests tracked at once.
pub const MAX_ENTRIES: usize = 10_000;
/// How long an unanswered request is kept (the longest upstream timeout worth timing).
pub const MAX_AGE_MS: u64 = 10 * 60 * 1000;

/// Identifies a request among everything in flight: the client's session, the principal and
/// the JSON-RPC id as the client sent it (stateless clients share no session id).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallKey {
    session: Option<String>,
    principal: String,
    jsonrpc_id: String,
}

impl CallKey {
    /// The key of a record, when it has a JSON-RPC id.
    pub fn of(record: &sallyport_pipeline::DecisionRecord) -> Option<Self> {
        Some(Self {
            session: record.session_id.clone(),
            principal: record.principal.clone(),
            jsonrpc_id: record.jsonrpc_id.clone()?,
        })
    }
}

/// What is remembered about a request until its response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCall {
    /// The request's method.
    pub method: Option<String>,
    /// The upstream it was routed to.
    pub server: Option<String>,
    /// The tool it called.
    pub tool: Option<String>,
    /// When the request record was made (ms since the epoch).
    pub started_unix_ms: u64,
}

/// The table of requests in flight.
#[derive(Debug, Default)]
pub struct InFlightCalls {
    calls: HashMap<CallKey, PendingCall>,
}

impl InFlightCalls {
    /// Remembers a request; when the table is full, first forgets requests older than
    /// [`MAX_AGE_MS`], and gives up on timing this one if that freed nothing.
    pub fn insert(&mut self, key: CallKey, call: PendingCall) {
        if self.calls.len() >= MAX_ENTRIES {
            let now = call.started_unix_ms;
            self.calls
                .retain(|_, c| now.saturating_sub(c.started_unix_ms) < MAX_AGE_MS);
            if self.calls.len() >= MAX_ENTRIES {
                return;
            }
        }
        self.calls.insert(key, call);
    }

    /// The request `key` answers, forgotten from the table.
    pub fn take(&mut self, key: &CallKey) -> Option<PendingCall> {
        self.calls.remove(key)
    }

    /// Requests tracked now.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }
}
