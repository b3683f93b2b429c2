//! The `detect:` section of `sallyport.yaml`: which threat guards run, and what each does with
//! what it finds, per tenant, server and tool.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Threat detection: tool-definition scanning and pinning, argument checks, result checks
/// and flow rules (docs/SECURITY.md). Absent: none of these guards run.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct DetectionConfig {
    /// Detector thresholds and limits (classifier threshold, result size limit, …).
    pub detectors: sallyport_detect::DetectConfig,
    /// Poisoned tool and prompt definitions in `tools/list` and `prompts/list` results.
    pub definitions: DefinitionRules,
    /// Pinning of tool definitions per upstream, and what drift does.
    pub pinning: PinningConfig,
    /// Checks of `tools/call` arguments.
    pub arguments: ArgumentRules,
    /// Checks of results, server notifications and server requests.
    pub results: ResultRules,
    /// Flow rules across one principal's calls. Absent: none.
    pub flows: Option<FlowRules>,
    /// Actions for some tenants, servers or tools; later entries win over earlier ones.
    pub overrides: Vec<ActionOverride>,
}

// Thresholds are validated finite numbers, so equality is an equivalence (needed because the
// whole config document is `Eq`).
impl Eq for DetectionConfig {}

/// What a guard does with a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Ignore the finding.
    Allow,
    /// Let the message through and log the finding (WARN, with the rule ids).
    Log,
    /// Replace the matched text with `[REDACTED:<label>]`; findings without an exact span
    /// fall back to `block`.
    Redact,
    /// Refuse the message (a poisoned tool is removed from the list and calls to it refused).
    Block,
    /// Block, and hold the tool: calls are refused with `tool_quarantined` until an operator
    /// approves it (`sallyport pins approve`).
    Quarantine,
    /// Hold the message for approval (answered as held until the approval workflow exists).
    RequireApproval,
}

/// Poisoned-definition handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct DefinitionRules {
    /// What happens to a poisoned tool or prompt definition.
    pub action: Action,
    /// Also scan server instructions.
    pub instructions: bool,
}

impl Default for DefinitionRules {
    fn default() -> Self {
        Self {
            action: Action::Block,
            instructions: true,
        }
    }
}

/// When a tool's definition is trusted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PinMode {
    /// Trust on first use: the tools of an upstream's first complete listing are pinned;
    /// later changes and new tools wait for approval.
    #[default]
    Tofu,
    /// Nothing is trusted until an operator approves it.
    Approve,
    /// No pinning.
    Off,
}

/// Tool-definition pinning.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct PinningConfig {
    /// When definitions are trusted.
    pub mode: PinMode,
    /// What drift (a changed definition, a new tool) does: `quarantine` holds the tool until
    /// approved; `log` only reports it; `allow` ignores it.
    pub action: Action,
    /// The pin store (SQLite). `memory`: in memory, lost on exit. Default:
    /// `$SALLYPORT_DATA_DIR/pins.db`, else `$XDG_DATA_HOME/sallyport/pins.db`, else
    /// `~/.local/share/sallyport/pins.db`.
    pub store: Option<PathBuf>,
}

impl Default for PinningConfig {
    fn default() -> Self {
        Self {
            mode: PinMode::Tofu,
            action: Action::Quarantine,
            store: None,
        }
    }
}

/// The least severity a finding needs to trigger an action.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MinSeverity {
    /// Low and above.
    Low,
    /// Medium and above.
    Medium,
    /// High and above.
    #[default]
    High,
    /// Critical only.
    Critical,
}

/// `tools/call` argument checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct ArgumentRules {
    /// What happens to a call with flagged arguments.
    pub action: Action,
    /// Validate arguments against the tool's own `inputSchema` (from the last list).
    pub schema: bool,
    /// The least severity that triggers the action (schema violations always do).
    pub min_severity: MinSeverity,
}

impl Default for ArgumentRules {
    fn default() -> Self {
        Self {
            action: Action::Block,
            schema: true,
            min_severity: MinSeverity::High,
        }
    }
}

/// Result, notification and server-request checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct ResultRules {
    /// Prompt injection or exfiltration aimed at the model.
    pub injection: Action,
    /// Secrets (API keys, tokens, private keys).
    pub secrets: Action,
    /// Personal data (emails, phone numbers, cards, IBANs, national ids).
    pub pii: Action,
    /// Results over `detectors.max_result_bytes`.
    pub oversized: Action,
    /// Strip stack traces, paths, internal addresses and secrets from upstream error messages.
    pub sanitize_errors: bool,
}

impl Default for ResultRules {
    fn default() -> Self {
        Self {
            injection: Action::Block,
            secrets: Action::Redact,
            pii: Action::Redact,
            oversized: Action::Block,
            sanitize_errors: true,
        }
    }
}

/// A toxic flow: a call to a sensitive source, then within the window a call to a sink
/// (network egress), by the same principal (seed 001's `suspicious_tool_usage`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct FlowRules {
    /// `server/tool` patterns (`*` wildcard) of tools that read private data.
    pub sources: Vec<String>,
    /// `server/tool` patterns of tools that send data out.
    pub sinks: Vec<String>,
    /// How long after a source call a sink call counts, in seconds.
    #[schemars(range(min = 1))]
    pub window_secs: u64,
    /// What happens to the sink call.
    pub action: Action,
}

impl Default for FlowRules {
    fn default() -> Self {
        Self {
            sources: Vec::new(),
            sinks: Vec::new(),
            window_secs: 300,
            action: Action::Log,
        }
    }
}

/// Actions for the tenants, servers and tools it matches (`*` wildcard; absent: any).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct ActionOverride {
    /// Tenant pattern.
    pub tenant: Option<String>,
    /// Upstream server pattern.
    pub server: Option<String>,
    /// Tool pattern (upstream-local name).
    pub tool: Option<String>,
    /// Replaces `definitions.action`.
    pub definitions: Option<Action>,
    /// Replaces `pinning.action`.
    pub drift: Option<Action>,
    /// Replaces `arguments.action`.
    pub arguments: Option<Action>,
    /// Replaces `results.injection`.
    pub injection: Option<Action>,
    /// Replaces `results.secrets`.
    pub secrets: Option<Action>,
    /// Replaces `results.pii`.
    pub pii: Option<Action>,
    /// Replaces `results.oversized`.
    pub oversized: Option<Action>,
    /// Replaces `flows.action`.
    pub flows: Option<Action>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_unknown_fields() {
        let c: DetectionConfig = serde_json::from_str(
            r#"{"results": {"pii": "log"}, "overrides": [{"server": "fs", "arguments": "allow"}]}"#,
        )
        .unwrap();
        assert_eq!(c.results.pii, Action::Log);
        assert_eq!(c.results.secrets, Action::Redact);
        assert_eq!(c.definitions.action, Action::Block);
        assert_eq!(c.pinning.mode, PinMode::Tofu);
        assert!(serde_json::from_str::<DetectionConfig>(r#"{"result": {}}"#).is_err());
        assert!(
            serde_json::from_str::<DetectionConfig>(r#"{"results": {"pii": "hide"}}"#).is_err()
        );
    }
}
