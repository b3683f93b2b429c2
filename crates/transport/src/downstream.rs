//! Listeners MCP clients connect to.

pub mod http;
pub mod stdio;

use sallyport_mcp::EnvelopeError;
use sallyport_pipeline::DenyCode;

/// The deny code for an envelope error.
pub(crate) fn envelope_code(e: &EnvelopeError) -> DenyCode {
    match e {
        EnvelopeError::TooLarge { .. } => DenyCode::MessageTooLarge,
        EnvelopeError::Json(_) | EnvelopeError::TooDeep { .. } => DenyCode::ParseError,
        _ => DenyCode::InvalidMessage,
    }
}
