//! The MCP wire model shared by every Sallyport crate.
//!
//! A JSON-RPC 2.0 [`Message`] is kept as its JSON object so that unknown fields and `_meta`
//! pass through untouched; typed accessors read what the gateway needs. [`parse_body`] turns
//! untrusted bytes into messages under explicit size and depth limits. [`version`] knows the
//! protocol revisions and their eras, [`sse`] and [`framing`] the stream formats, and
//! [`headers`] the Streamable HTTP header rules.
//!
//! ```
//! use sallyport_mcp::{parse_body, Limits, Body};
//! let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
//! let Body::Single(msg) = parse_body(body, &Limits::default()).unwrap() else { panic!() };
//! assert_eq!(msg.method(), Some("tools/list"));
//! ```

pub mod error_code;
pub mod framing;
#[doc(hidden)]
pub mod fuzzing;
pub mod headers;
mod id;
mod member;
mod message;
mod parse;
pub mod sse;
pub mod version;

pub use id::RequestId;
pub use member::{has_member, member, member_of};
pub use message::{Message, MessageKind};
pub use parse::{Body, EnvelopeError, Limits, json_depth, parse_body, parse_message};
