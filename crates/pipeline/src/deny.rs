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
            Self::Unauthenticated => -32001,
            Self::AuthForbidden => -32003,
            Self::GuardFailed => error_code::INTERNAL_ERROR,
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
            Self::Unauthenticated => 401,
            Self::AuthForbidden => 403,
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
