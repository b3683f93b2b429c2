//! Listeners MCP clients connect to.

pub mod http;
pub mod stdio;
