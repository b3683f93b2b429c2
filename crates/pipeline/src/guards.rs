//! The guards shipped with the gateway core. Other crates add more.

mod protocol;
mod tool_filter;

pub use protocol::ProtocolGuard;
pub use tool_filter::{ToolFilterGuard, ToolPermits};
