//! What a rule asks the gateway to do when it fires. The engine only parses and carries
//! these; the response orchestrator performs them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::event::KeyField;

/// One response to a fired rule, written `- type: block_ip` (plus the variant's fields).
///
/// The target of an action comes from the alert's key, so a rule must group by the field
/// its actions act on (checked when the rules compile): `block_ip` needs `source_ip`,
/// `quarantine_tool` needs `tool`, and so on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CorrelationAction {
    /// Send the alert to the notification channels (the alert is always recorded).
    Alert,
    /// Block the principal.
    BlockPrincipal {
        /// How long, in seconds; absent means the gateway's default block length.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_secs: Option<u64>,
    },
    /// Block the client's address.
    BlockIp {
        /// How long, in seconds; absent means the gateway's default block length.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_secs: Option<u64>,
    },
    /// End the principal's (or the session's) MCP sessions.
    InvalidateSessions,
    /// Revoke the credential (API key) the principal used.
    RevokeKey,
    /// Quarantine the tool: calls to it are refused until released.
    QuarantineTool,
    /// Quarantine the upstream server: every call to it is refused until released.
    QuarantineServer,
    /// Raise the principal's risk score.
    RaiseRisk {
        /// Points to add.
        amount: u32,
    },
    /// Hold the principal's further tool calls for human approval.
    RequireApproval {
        /// How long, in seconds; absent means until an operator lifts it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_secs: Option<u64>,
    },
}

impl CorrelationAction {
    /// Stable name, as in config (`type:`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Alert => "alert",
            Self::BlockPrincipal { .. } => "block_principal",
            Self::BlockIp { .. } => "block_ip",
            Self::InvalidateSessions => "invalidate_sessions",
            Self::RevokeKey => "revoke_key",
            Self::QuarantineTool => "quarantine_tool",
            Self::QuarantineServer => "quarantine_server",
            Self::RaiseRisk { .. } => "raise_risk",
            Self::RequireApproval { .. } => "require_approval",
        }
    }

    /// The key fields this action can act on; the rule must group by at least one of them.
    /// Empty for actions that need no target.
    pub fn target_fields(&self) -> &'static [KeyField] {
        match self {
            Self::Alert => &[],
            // A principal's sessions, or one session.
            Self::InvalidateSessions => &[KeyField::Principal, KeyField::Session],
            Self::BlockPrincipal { .. }
            | Self::RevokeKey
            | Self::RaiseRisk { .. }
            | Self::RequireApproval { .. } => &[KeyField::Principal],
            Self::BlockIp { .. } => &[KeyField::SourceIp],
            Self::QuarantineTool => &[KeyField::Tool],
            Self::QuarantineServer => &[KeyField::Server],
        }
    }
}
