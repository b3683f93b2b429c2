//! JSON-RPC and MCP error codes used on the wire.

/// Invalid JSON was received.
pub const PARSE_ERROR: i32 = -32700;
/// The JSON sent is not a valid request object.
pub const INVALID_REQUEST: i32 = -32600;
/// The method does not exist or is not available.
pub const METHOD_NOT_FOUND: i32 = -32601;
/// Invalid method parameters (also: unknown tool, invalid cursor, missing `_meta`).
pub const INVALID_PARAMS: i32 = -32602;
/// Internal error.
pub const INTERNAL_ERROR: i32 = -32603;
/// Legacy (≤ 2025-11-25) resource not found.
pub const RESOURCE_NOT_FOUND: i32 = -32002;
/// 2026-07-28: an HTTP header disagrees with the body.
pub const HEADER_MISMATCH: i32 = -32020;
/// 2026-07-28: the request needs a client capability that was not declared.
pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i32 = -32021;
/// 2026-07-28: the protocol version is not supported.
pub const UNSUPPORTED_PROTOCOL_VERSION: i32 = -32022;
/// Sallyport: the call needs a recent strong authentication (step-up); answered with HTTP
/// 403 and a `WWW-Authenticate: Bearer error="insufficient_scope"` challenge.
pub const STEP_UP_REQUIRED: i32 = -32018;
