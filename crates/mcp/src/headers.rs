//! Streamable HTTP header rules.
//!
//! Revision 2026-07-28 mirrors body fields into headers (`Mcp-Method`, `Mcp-Name`,
//! `MCP-Protocol-Version`) so intermediaries can route without parsing. A gateway must never
//! trust those headers alone: [`validate_modern_headers`] checks them against the body, and
//! [`validate_modern_meta`] checks the `_meta` every modern request carries. Header values that
//! are not plain visible ASCII travel as `=?base64?<Base64 of UTF-8>?=`
//! ([`encode_header_value`], [`decode_header_value`]).
//!
//! Spec: `docs/specification/2026-07-28/basic/transports/streamable-http.mdx`,
//! sections "Request Metadata" and "Server Validation".

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use serde_json::{Value, json};
use thiserror::Error;

use crate::{Message, error_code, member, version};

/// Session id header (handshake era only).
pub const MCP_SESSION_ID: &str = "mcp-session-id";
/// Protocol version header.
pub const MCP_PROTOCOL_VERSION: &str = "mcp-protocol-version";
/// Mirrors the body's `method` (2026-07-28).
pub const MCP_METHOD: &str = "mcp-method";
/// Mirrors `params.name` or `params.uri` (2026-07-28).
pub const MCP_NAME: &str = "mcp-name";
/// SSE resumption header (handshake era only).
pub const LAST_EVENT_ID: &str = "last-event-id";

/// The names used in error messages, spelled as the spec writes them.
const METHOD_HEADER: &str = "Mcp-Method";
const NAME_HEADER: &str = "Mcp-Name";
const VERSION_HEADER: &str = "MCP-Protocol-Version";

const SENTINEL_PREFIX: &str = "=?base64?";
const SENTINEL_SUFFIX: &str = "?=";
/// The longest echoed value in an error message, in characters.
const ECHO_LIMIT: usize = 128;

/// Decodes padded or unpadded standard Base64 (clients differ on padding).
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why the Streamable HTTP headers do not agree with the body.
///
/// `header` is the header's name as the spec spells it (`Mcp-Name`, `Mcp-Method`,
/// `MCP-Protocol-Version`); compare it case-insensitively with the constants in this module.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// A required header is absent.
    #[error("the {header} header is required: it must repeat the request body's {}", body_field(.header))]
    Missing {
        /// The header's name.
        header: &'static str,
    },
    /// A header disagrees with the body.
    #[error(
        "{header} header \"{}\" does not match the request body's {} \"{}\"",
        shown(.header_value),
        body_field(.header),
        shown(.body_value)
    )]
    Mismatch {
        /// The header's name.
        header: &'static str,
        /// The header's value (decoded when it was Base64).
        header_value: String,
        /// The body's value (empty when the body lacks it).
        body_value: String,
    },
    /// A header value is neither plain visible ASCII nor valid `=?base64?…?=` UTF-8.
    #[error(
        "the {header} header value is malformed: send visible ASCII, or \"=?base64?<Base64 of the UTF-8 value>?=\""
    )]
    BadEncoding {
        /// The header's name.
        header: &'static str,
    },
}

impl HeaderError {
    /// The JSON-RPC code this error is answered with (always `HeaderMismatch`, -32020).
    pub fn jsonrpc_code(&self) -> i32 {
        match self {
            // The spec uses one code for missing, mismatched and malformed headers.
            Self::Missing { .. } | Self::Mismatch { .. } | Self::BadEncoding { .. } => {
                error_code::HEADER_MISMATCH
            }
        }
    }
}

/// Why a modern request's `params._meta` is unacceptable.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum MetaError {
    /// A required `_meta` member is absent or has the wrong type.
    #[error("params._meta[\"{field}\"] is required on 2026-07-28 requests and must be {}", field_kind(.field))]
    MissingField {
        /// The `_meta` key.
        field: &'static str,
    },
    /// The requested protocol version is not one this gateway serves statelessly.
    #[error(
        "protocol version \"{}\" is not supported; supported versions: {}",
        shown(.requested),
        version::ALL_VERSIONS.join(", ")
    )]
    UnsupportedVersion {
        /// The version the client asked for (at most 128 characters are kept).
        requested: String,
    },
}

impl MetaError {
    /// The JSON-RPC code this error is answered with.
    pub fn jsonrpc_code(&self) -> i32 {
        match self {
            Self::MissingField { .. } => error_code::INVALID_PARAMS,
            Self::UnsupportedVersion { .. } => error_code::UNSUPPORTED_PROTOCOL_VERSION,
        }
    }

    /// The JSON-RPC error `data`: `{supported, requested}` for an unsupported version.
    pub fn data(&self) -> Option<Value> {
        match self {
            Self::MissingField { .. } => None,
            Self::UnsupportedVersion { requested } => {
                Some(json!({ "supported": version::ALL_VERSIONS, "requested": requested }))
            }
        }
    }
}

/// Decode a header value that may be `"=?base64?<b64>?="` (UTF-8 inside); plain values returned as-is.
///
/// A plain value must consist of visible ASCII, space and tab, as HTTP allows; anything else,
/// or a sentinel whose content is not Base64 of UTF-8, is [`HeaderError::BadEncoding`] naming
/// `Mcp-Name` (callers decoding an `Mcp-Param-*` header report their own name).
pub fn decode_header_value(raw: &str) -> Result<String, HeaderError> {
    let bad = || HeaderError::BadEncoding {
        header: NAME_HEADER,
    };
    if is_sentinel(raw) {
        let inner = raw
            .strip_prefix(SENTINEL_PREFIX)
            .and_then(|r| r.strip_suffix(SENTINEL_SUFFIX))
            .ok_or_else(bad)?;
        let bytes = LENIENT_BASE64.decode(inner).map_err(|_| bad())?;
        return String::from_utf8(bytes).map_err(|_| bad());
    }
    if raw
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        Ok(raw.to_owned())
    } else {
        Err(bad())
    }
}

/// Encode: plain if visible ASCII with no leading/trailing space, else "=?base64?...?=".
///
/// Interior spaces stay plain; tabs and other control characters, non-ASCII, and plain text
/// that looks like the sentinel are encoded, as the spec requires.
pub fn encode_header_value(value: &str) -> String {
    let plain = value.bytes().all(|b| (b' '..=b'~').contains(&b))
        && !value.starts_with(' ')
        && !value.ends_with(' ')
        && !is_sentinel(value);
    if plain {
        value.to_owned()
    } else {
        format!(
            "{SENTINEL_PREFIX}{}{SENTINEL_SUFFIX}",
            STANDARD.encode(value)
        )
    }
}

/// The value Mcp-Name must carry: params.name for tools/call and prompts/get, params.uri for resources/read, None otherwise.
pub fn expected_name(msg: &Message) -> Option<&str> {
    match msg.method()? {
        "tools/call" | "prompts/get" => msg.param_str("name"),
        "resources/read" => msg.param_str("uri"),
        _ => None,
    }
}

/// Modern-era check of Mcp-Method / Mcp-Name / MCP-Protocol-Version against the body:
/// Mcp-Method required and must equal body method; Mcp-Name required and equal where expected_name is Some;
/// MCP-Protocol-Version must equal params._meta["io.modelcontextprotocol/protocolVersion"] when both present.
///
/// `name` may be Base64-encoded; it is decoded before comparing. An `Mcp-Name` sent on a
/// `tools/call`, `prompts/get` or `resources/read` whose body lacks the name is a mismatch, so
/// a policy keyed on the header can never see a value the body does not carry.
pub fn validate_modern_headers(
    method: Option<&str>,
    name: Option<&str>,
    version: Option<&str>,
    msg: &Message,
) -> Result<(), HeaderError> {
    let body_method = msg.method().unwrap_or_default();
    let method = method.ok_or(HeaderError::Missing {
        header: METHOD_HEADER,
    })?;
    if method != body_method {
        return Err(mismatch(METHOD_HEADER, method, body_method));
    }
    let names_something = matches!(body_method, "tools/call" | "prompts/get" | "resources/read");
    match (name, expected_name(msg)) {
        (None, Some(_)) => {
            return Err(HeaderError::Missing {
                header: NAME_HEADER,
            });
        }
        (Some(raw), body_name) if names_something => {
            let decoded = decode_header_value(raw)?;
            let body_name = body_name.unwrap_or_default();
            if decoded != body_name {
                return Err(mismatch(NAME_HEADER, &decoded, body_name));
            }
        }
        _ => {}
    }
    let body_version = msg
        .params_meta()
        .and_then(|meta| member(meta, version::META_PROTOCOL_VERSION))
        .and_then(Value::as_str);
    if let (Some(header), Some(body)) = (version, body_version)
        && header != body
    {
        return Err(mismatch(VERSION_HEADER, header, body));
    }
    Ok(())
}

/// Checks params._meta has "io.modelcontextprotocol/protocolVersion" (string) and "…/clientCapabilities" (object); version must be crate::version::MODERN.
///
/// The version is checked before the capabilities, so a client speaking another revision
/// learns that first.
pub fn validate_modern_meta(msg: &Message) -> Result<(), MetaError> {
    let meta = msg.params_meta();
    let requested = meta
        .and_then(|m| member(m, version::META_PROTOCOL_VERSION))
        .and_then(Value::as_str)
        .ok_or(MetaError::MissingField {
            field: version::META_PROTOCOL_VERSION,
        })?;
    if requested != version::MODERN {
        let requested = requested.chars().take(ECHO_LIMIT).collect();
        return Err(MetaError::UnsupportedVersion { requested });
    }
    match meta.and_then(|m| member(m, version::META_CLIENT_CAPABILITIES)) {
        Some(Value::Object(_)) => Ok(()),
        _ => Err(MetaError::MissingField {
            field: version::META_CLIENT_CAPABILITIES,
        }),
    }
}

// === helpers ===

fn is_sentinel(value: &str) -> bool {
    value.starts_with(SENTINEL_PREFIX) && value.ends_with(SENTINEL_SUFFIX)
}

fn mismatch(header: &'static str, header_value: &str, body_value: &str) -> HeaderError {
    HeaderError::Mismatch {
        header,
        header_value: header_value.to_owned(),
        body_value: body_value.to_owned(),
    }
}

/// A value as echoed in a message: escaped, and cut to [`ECHO_LIMIT`] characters.
fn shown(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(ECHO_LIMIT)
        .flat_map(char::escape_debug)
        .collect();
    if value.chars().nth(ECHO_LIMIT).is_some() {
        out.push('…');
    }
    out
}

/// How an error message names the body field a header mirrors.
fn body_field(header: &str) -> &'static str {
    match header {
        METHOD_HEADER => "method",
        NAME_HEADER => "name",
        _ => "protocol version",
    }
}

fn field_kind(field: &str) -> &'static str {
    if field == version::META_PROTOCOL_VERSION {
        "a string"
    } else {
        "an object"
    }
}

#[cfg(test)]
mod tests;
