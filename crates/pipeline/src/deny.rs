//! Denials and the one table that maps them to the wire.

use sallyport_mcp::error_code;
use serde::Serialize;

/// Who is to blame for a failure; decides who sees detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The client sent something wrong or forbidden.
    Client,
    /// The upstream server misbehaved.
    Upstream,
    /// Sallyport itself failed.
    Gateway,
}

/// Every reason Sallyport refuses a message. The names are API: they appear in config,
/// audit records, metrics and docs (docs/specs/errors.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DenyCode {
    /// Not a valid JSON-RPC message.
    InvalidMessage,
    /// Not valid JSON, or nested too deep to parse safely.
    ParseError,
    /// Larger than the configured body limit.
    MessageTooLarge,
    /// A JSON array body on a revision other than 2025-03-26.
    BatchNotAllowed,
    /// HTTP header and body disagree (2026-07-28).
    HeaderMismatch,
    /// Modern `_meta` is missing a required field.
    MissingMeta,
    /// The protocol version is not one Sallyport speaks.
    UnsupportedVersion,
    /// The `Origin` header is not allowed (DNS rebinding defence).
    OriginNotAllowed,
    /// The `Host` header is not allowed (DNS rebinding defence).
    HostNotAllowed,
    /// No valid credentials (HTTP 401 with a `WWW-Authenticate` challenge).
    Unauthenticated,
    /// Valid credentials that may not use this listener or need more (HTTP 403).
    AuthForbidden,
    /// The request id is already in flight in this session.
    DuplicateRequestId,
    /// The tool is unknown or not allowed; answered exactly like an unknown tool.
    ToolNotAllowed,
    /// The resource URI names no upstream resource (legacy clients: -32002).
    ResourceNotFound,
    /// The resource URI names no upstream resource (2026-07-28 clients: -32602).
    UnknownResource,
    /// The method is not one the gateway routes.
    MethodNotFound,
    /// A guard could not decide and fails closed.
    GuardFailed,
    /// A rate limit ran out (global, per principal, per tool, service accounts, or the
    /// shared counter store could not answer and fails closed). `error.data` carries
    /// `retry_after` (seconds) and `limit` (the rule); never anyone's counts.
    RateLimited,
    /// The tenant's daily quota is used up; `error.data` as for `rate_limited`.
    QuotaExceeded,
    /// Too many calls in flight to this upstream or tool.
    ConcurrencyLimited,
    /// The upstream's or tool's circuit breaker is open; `error.data.retry_after` when the
    /// breaker's profile tells it (`critical_tools`).
    CircuitOpen,
    /// The upstream did not answer within the request timeout; the request was cancelled.
    UpstreamTimeout,
    /// Network layer: the client address is on the deny list or not on the allow list.
    IpDenied,
    /// Network layer: the client address is on an IP reputation (blocklist) file.
    IpReputation,
    /// Network layer: the client sends requests faster than `network.per_ip` allows, or
    /// holds too many connections (HTTP 429 with `Retry-After`).
    PerIpRateLimited,
    /// Network layer: the request target climbs directories (`../`, `%2e%2e`).
    PathTraversal,
    /// The audit trail could not take the record (queue full with `when_full: refuse`, or
    /// the store closed): the message is refused rather than passed unaudited.
    AuditUnavailable,
    /// The tool is held until an operator approves it: its definition changed since it was
    /// pinned (a rug pull), it appeared after the first listing, or a threat guard
    /// quarantined it. `error.data` carries `server` and `tool`.
    ToolQuarantined,
    /// A threat-detection guard refused the message: poisoned definition, injection,
    /// traversal, SSRF or secrets in arguments, injection in a result, a toxic flow.
    ThreatDetected,
    /// The principal may use the item, but this call needs a recent strong authentication
    /// (a high-risk tool, or a trust score under the step-up threshold): HTTP 403 with a
    /// `WWW-Authenticate: Bearer error="insufficient_scope"` challenge; `error.data` says
    /// what would satisfy it (`acr_values`, `amr_values`, `max_age`, `scope`).
    StepUpRequired,
    /// The TLS handshake failed: no client certificate where one is required, or one that
    /// is expired or not issued by the configured CA. The connection is closed; no
    /// JSON-RPC answer is possible.
    InvalidCertificate,
    /// The client address is blocked by the response orchestrator after repeated security
    /// events (`security_events`); refused before authentication.
    IpBlocked,
    /// The authenticated principal is blocked by the response orchestrator after a security
    /// event (`security_events`); refused right after authentication.
    PrincipalBlocked,
    /// The call is held for a human approval that has not been given yet (it waited
    /// `approvals.wait_secs`): retry the same call once an operator approves it.
    /// `error.data` is `{approval_id, status, expires_ms}`.
    ApprovalPending,
    /// An operator denied the held call (or its request expired undecided).
    ApprovalDenied,
}

impl DenyCode {
    /// Stable name, as in config, audit and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidMessage => "invalid_message",
            Self::ParseError => "parse_error",
            Self::MessageTooLarge => "message_too_large",
            Self::BatchNotAllowed => "batch_not_allowed",
            Self::HeaderMismatch => "header_mismatch",
            Self::MissingMeta => "missing_meta",
            Self::UnsupportedVersion => "unsupported_version",
            Self::OriginNotAllowed => "origin_not_allowed",
            Self::HostNotAllowed => "host_not_allowed",
            Self::Unauthenticated => "unauthenticated",
            Self::AuthForbidden => "auth_forbidden",
            Self::DuplicateRequestId => "duplicate_request_id",
            Self::ToolNotAllowed => "tool_not_allowed",
            Self::ResourceNotFound | Self::UnknownResource => "resource_not_found",
            Self::MethodNotFound => "method_not_found",
            Self::GuardFailed => "guard_failed",
            Self::RateLimited => "rate_limited",
            Self::QuotaExceeded => "quota_exceeded",
            Self::ConcurrencyLimited => "concurrency_limited",
            Self::CircuitOpen => "circuit_open",
            Self::UpstreamTimeout => "upstream_timeout",
            Self::IpDenied => "ip_denied",
            Self::IpReputation => "ip_reputation",
            Self::PerIpRateLimited => "per_ip_rate_limited",
            Self::PathTraversal => "path_traversal",
            Self::AuditUnavailable => "audit_unavailable",
            Self::ToolQuarantined => "tool_quarantined",
            Self::ThreatDetected => "threat_detected",
            Self::StepUpRequired => "step_up_required",
            Self::InvalidCertificate => "invalid_certificate",
            Self::IpBlocked => "ip_blocked",
            Self::PrincipalBlocked => "principal_blocked",
            Self::ApprovalPending => "approval_pending",
            Self::ApprovalDenied => "approval_denied",
        }
    }

    /// The JSON-RPC error code the caller receives.
    pub fn jsonrpc_code(self) -> i32 {
        match self {
            Self::InvalidMessage
            | Self::MessageTooLarge
            | Self::BatchNotAllowed
            | Self::DuplicateRequestId => error_code::INVALID_REQUEST,
            Self::ParseError => error_code::PARSE_ERROR,
            Self::HeaderMismatch => error_code::HEADER_MISMATCH,
            // Missing `_meta` fields are invalid params per 2026-07-28.
            Self::MissingMeta => error_code::INVALID_PARAMS,
            Self::UnsupportedVersion => error_code::UNSUPPORTED_PROTOCOL_VERSION,
            // Edge refusals normally never reach JSON-RPC; when they do, the request is invalid.
            Self::OriginNotAllowed | Self::HostNotAllowed => error_code::INVALID_REQUEST,
            // Indistinguishable from an unknown tool: no oracle for hidden tools.
            Self::ToolNotAllowed => error_code::INVALID_PARAMS,
            Self::ResourceNotFound => error_code::RESOURCE_NOT_FOUND,
            Self::UnknownResource => error_code::INVALID_PARAMS,
            Self::MethodNotFound => error_code::METHOD_NOT_FOUND,
            // Implementation-defined codes (-32000..-32019) for authentication failures.
            Self::Unauthenticated | Self::InvalidCertificate => -32001,
            Self::AuthForbidden => -32003,
            Self::GuardFailed => error_code::INTERNAL_ERROR,
            // Implementation-defined codes -32011..-32019 for traffic protection: the caller
            // may retry later (`error.data.retry_after` says when, if known).
            Self::RateLimited => -32011,
            Self::QuotaExceeded => -32012,
            Self::ConcurrencyLimited => -32013,
            Self::CircuitOpen => -32014,
            Self::UpstreamTimeout => -32015,
            // Network refusals are answered at the HTTP edge; the body is an invalid request.
            Self::IpDenied | Self::IpReputation | Self::PerIpRateLimited | Self::PathTraversal => {
                error_code::INVALID_REQUEST
            }
            // Implementation-defined: the gateway is overloaded, the caller may retry.
            Self::AuditUnavailable => -32010,
            // Implementation-defined: content decisions of the threat guards.
            Self::ToolQuarantined => -32016,
            Self::ThreatDetected => -32017,
            // Implementation-defined: authenticate again, more strongly, then retry.
            Self::StepUpRequired => error_code::STEP_UP_REQUIRED,
            // Implementation-defined: blocked by the response orchestrator until the block
            // ends or an operator lifts it; retrying does not help.
            Self::IpBlocked | Self::PrincipalBlocked => -32019,
            // Implementation-defined: held for a human approval; retry the same call once
            // it is approved, or give up when it is denied.
            Self::ApprovalPending => -32004,
            Self::ApprovalDenied => -32005,
        }
    }

    /// The HTTP status when the refusal is answered before or instead of a JSON-RPC body.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidMessage
            | Self::ParseError
            | Self::BatchNotAllowed
            | Self::HeaderMismatch
            | Self::MissingMeta
            | Self::UnsupportedVersion
            | Self::DuplicateRequestId => 400,
            Self::MessageTooLarge => 413,
            // The spec mandates 403 for a bad Origin; a bad Host is the same attack.
            Self::OriginNotAllowed | Self::HostNotAllowed => 403,
            // A JSON-RPC error inside a 200: the call reached the gateway fine.
            Self::ToolNotAllowed | Self::ResourceNotFound | Self::UnknownResource => 200,
            // 2026-07-28: unknown methods are 404 with a -32601 body.
            Self::MethodNotFound => 404,
            Self::GuardFailed => 500,
            Self::RateLimited | Self::QuotaExceeded | Self::PerIpRateLimited => 429,
            // The gateway protects itself or an upstream: temporarily unavailable, retry.
            Self::ConcurrencyLimited | Self::CircuitOpen => 503,
            Self::UpstreamTimeout => 504,
            Self::IpDenied | Self::IpReputation => 403,
            Self::PathTraversal => 400,
            // Backpressure from the audit trail: retry later.
            Self::AuditUnavailable => 503,
            // Decided after parsing: a JSON-RPC error inside a 200, like an unknown tool.
            Self::ToolQuarantined | Self::ThreatDetected => 200,
            Self::Unauthenticated => 401,
            Self::AuthForbidden | Self::StepUpRequired => 403,
            // Never sent: the handshake failed before HTTP.
            Self::InvalidCertificate => 401,
            // Answered at the edge, before any body is read.
            Self::IpBlocked | Self::PrincipalBlocked => 403,
            // Decided after parsing, like a quarantined tool.
            Self::ApprovalPending | Self::ApprovalDenied => 200,
        }
    }
}

/// A refusal: what the caller is told and what the audit keeps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Denial {
    /// Why, as a stable code.
    pub code: DenyCode,
    /// The safe, precise message the caller sees.
    pub public_message: String,
    /// Detail for the audit record only (never sent to a peer).
    pub detail: Option<String>,
    /// Who is to blame.
    pub origin: Origin,
    /// Extra `error.data` for the caller, when the spec defines one.
    #[serde(skip)]
    pub data: Option<serde_json::Value>,
}

impl Denial {
    /// A denial blamed on the client.
    pub fn client(code: DenyCode, public_message: impl Into<String>) -> Self {
        Self {
            code,
            public_message: public_message.into(),
            detail: None,
            origin: Origin::Client,
            data: None,
        }
    }

    /// Adds audit-only detail.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Adds `error.data` for the caller.
    #[must_use]
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The JSON-RPC error response answering `id`.
    pub fn to_error(&self, id: Option<sallyport_mcp::RequestId>) -> sallyport_mcp::Message {
        sallyport_mcp::Message::error(
            id,
            self.code.jsonrpc_code(),
            &self.public_message,
            self.data.clone(),
        )
    }
}
