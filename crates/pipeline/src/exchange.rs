//! What a guard sees: one message, its direction and its context.

use sallyport_mcp::{Message, version::Era};
use serde::Serialize;

use crate::Principal;

/// Which way a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the MCP client towards an upstream server (requests, notifications, answers to
    /// server requests).
    ClientToServer,
    /// From an upstream server towards the client (results, notifications, server requests).
    ServerToClient,
}

/// One message crossing the gateway, with everything a guard may decide on.
#[derive(Debug, Clone)]
pub struct Exchange<'a> {
    /// Which way it travels.
    pub direction: Direction,
    /// The message itself.
    pub message: &'a Message,
    /// The method: the message's own for calls, the answered request's for responses.
    pub method: Option<&'a str>,
    /// The upstream server it goes to or comes from, once routed.
    pub server: Option<&'a str>,
    /// The upstream-local tool (or prompt) name, for `tools/call` and `prompts/get`.
    pub tool: Option<&'a str>,
    /// Who is calling.
    pub principal: &'a Principal,
    /// The client's protocol era.
    pub era: Era,
    /// The downstream session, for legacy sessions.
    pub session_id: Option<&'a str>,
    /// The operator approval that admits this exact call (its id), once an approval for
    /// the call's binding has been spent on it. A guard's hold is then recorded and passed.
    pub approval: Option<&'a str>,
}

impl<'a> Exchange<'a> {
    /// An exchange with no routing information yet; `method` is read from the message.
    pub fn new(
        direction: Direction,
        message: &'a Message,
        principal: &'a Principal,
        era: Era,
    ) -> Self {
        Self {
            direction,
            message,
            method: message.method(),
            server: None,
            tool: None,
            principal,
            era,
            session_id: None,
            approval: None,
        }
    }
}
