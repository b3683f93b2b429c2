//! The engine's input: one borrowed view of a security event.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One event of the security stream, as the correlation engine sees it.
///
/// Every field borrows from the caller (usually the gateway's decision record), so building
/// one costs nothing and the engine copies only what it must remember. Kinds and the other
/// string fields are free strings: the engine compares them, it does not interpret them.
///
/// ```
/// use sallyport_correlate::CorrelationEvent;
///
/// let event = CorrelationEvent::new("authentication_failed", 1_700_000_000_000)
///     .with_principal("alice")
///     .with_source_ip("203.0.113.7");
/// assert_eq!(event.principal, Some("alice"));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CorrelationEvent<'a> {
    /// What happened: `authentication_failed`, `authorization_denied`, `tool_call`, …
    pub kind: &'a str,
    /// When it happened, in milliseconds since the Unix epoch. The engine never reads a
    /// clock: this is its only notion of time, with [`Engine::tick`](crate::Engine::tick).
    pub time_ms: u64,
    /// The principal's id (the claimed identity when authentication failed, where known).
    pub principal: Option<&'a str>,
    /// The client's address, as text.
    pub source_ip: Option<&'a str>,
    /// The MCP session id.
    pub session: Option<&'a str>,
    /// The upstream server's name.
    pub server: Option<&'a str>,
    /// The tool's name.
    pub tool: Option<&'a str>,
    /// The tenant.
    pub tenant: Option<&'a str>,
    /// The decision: `allow`, `deny`, …
    pub outcome: Option<&'a str>,
    /// The tool's classified action: `read`, `write`, `delete`, `execute`.
    pub action: Option<&'a str>,
    /// How the principal authenticated: `jwt`, `api_key`, `mtls`, `stdio`, …
    pub auth_method: Option<&'a str>,
    /// Tags such as detector finding names (`secret`, `pii`, `prompt_injection`).
    pub labels: &'a [&'a str],
}

impl<'a> CorrelationEvent<'a> {
    /// An event of `kind` at `time_ms` with no other field set.
    pub fn new(kind: &'a str, time_ms: u64) -> Self {
        Self {
            kind,
            time_ms,
            ..Self::default()
        }
    }

    /// The value of a key field, if the event has it.
    pub fn field(&self, field: KeyField) -> Option<&'a str> {
        match field {
            KeyField::Principal => self.principal,
            KeyField::SourceIp => self.source_ip,
            KeyField::Session => self.session,
            KeyField::Server => self.server,
            KeyField::Tool => self.tool,
            KeyField::Tenant => self.tenant,
        }
    }

    /// Sets `principal`.
    pub fn with_principal(mut self, principal: &'a str) -> Self {
        self.principal = Some(principal);
        self
    }

    /// Sets `source_ip`.
    pub fn with_source_ip(mut self, source_ip: &'a str) -> Self {
        self.source_ip = Some(source_ip);
        self
    }

    /// Sets `session`.
    pub fn with_session(mut self, session: &'a str) -> Self {
        self.session = Some(session);
        self
    }

    /// Sets `server`.
    pub fn with_server(mut self, server: &'a str) -> Self {
        self.server = Some(server);
        self
    }

    /// Sets `tool`.
    pub fn with_tool(mut self, tool: &'a str) -> Self {
        self.tool = Some(tool);
        self
    }

    /// Sets `tenant`.
    pub fn with_tenant(mut self, tenant: &'a str) -> Self {
        self.tenant = Some(tenant);
        self
    }

    /// Sets `outcome`.
    pub fn with_outcome(mut self, outcome: &'a str) -> Self {
        self.outcome = Some(outcome);
        self
    }

    /// Sets `action`.
    pub fn with_action(mut self, action: &'a str) -> Self {
        self.action = Some(action);
        self
    }

    /// Sets `auth_method`.
    pub fn with_auth_method(mut self, auth_method: &'a str) -> Self {
        self.auth_method = Some(auth_method);
        self
    }

    /// Sets `labels`.
    pub fn with_labels(mut self, labels: &'a [&'a str]) -> Self {
        self.labels = labels;
        self
    }
}

/// An event field that can group events (`group_by`) or be counted (`distinct`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum KeyField {
    /// The principal's id.
    Principal,
    /// The client's address.
    SourceIp,
    /// The MCP session id.
    Session,
    /// The upstream server's name.
    Server,
    /// The tool's name.
    Tool,
    /// The tenant.
    Tenant,
}

impl KeyField {
    /// Stable name, as in config and alerts.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Principal => "principal",
            Self::SourceIp => "source_ip",
            Self::Session => "session",
            Self::Server => "server",
            Self::Tool => "tool",
            Self::Tenant => "tenant",
        }
    }
}

impl std::fmt::Display for KeyField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
