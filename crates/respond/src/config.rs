//! The `security_events:` section: one rule per event kind, seed 001's table by default.

use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::event::{SecurityEventKind, Severity};

/// Default block length for `block_and_alert` and `block_ip` (one hour, as in seed 001).
const DEFAULT_BLOCK_SECS: u64 = 3600;
/// Default cap on tracked `(event kind, key)` windows.
const DEFAULT_MAX_TRACKED_KEYS: u32 = 100_000;
/// Default cap on blocked principals and addresses together.
const DEFAULT_MAX_BLOCKS: u32 = 100_000;
/// Most timestamps kept per window: a threshold above this counts as this.
pub(crate) const MAX_THRESHOLD: u32 = 10_000;

/// What happens when an event kind reaches its threshold for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseAction {
    /// Log it (INFO).
    Log,
    /// Raise an alert (a WARN log with structured fields, and a counted action).
    Alert,
    /// Block the principal for `block_duration_secs`, and alert.
    BlockAndAlert,
    /// Block the principal until restart or unblock (seed 001: a permanent block), and
    /// alert.
    BlockUserAndAlert,
    /// Block the client's address for `block_duration_secs`, and alert.
    BlockIp,
}

impl ResponseAction {
    /// Every action.
    pub const ALL: [Self; 5] = [
        Self::Log,
        Self::Alert,
        Self::BlockAndAlert,
        Self::BlockUserAndAlert,
        Self::BlockIp,
    ];

    /// Stable name, as in config and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Log => "log",
            Self::Alert => "alert",
            Self::BlockAndAlert => "block_and_alert",
            Self::BlockUserAndAlert => "block_user_and_alert",
            Self::BlockIp => "block_ip",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Overrides for one event kind; an absent field keeps the default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct EventRuleConfig {
    /// Severity reported with the event.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// How many events of this kind for one key, within the window, trigger the action
    /// (counted up to 10,000).
    #[serde(default)]
    pub threshold: Option<NonZeroU32>,
    /// The sliding window, in seconds.
    #[serde(default)]
    pub window_secs: Option<NonZeroU64>,
    /// What to do when the threshold is reached.
    #[serde(default)]
    pub action: Option<ResponseAction>,
}

/// Security events and automated response (docs/security-events.md). Every decision that
/// is a security event is counted per kind and key (principal and tenant, or the client
/// address); reaching a kind's threshold within its window performs its action. Defaults
/// are seed 001's table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct EventRulesConfig {
    /// Whether events are counted and acted on.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// How long `block_and_alert` and `block_ip` blocks last, in seconds.
    #[serde(default = "default_block_secs")]
    pub block_duration_secs: NonZeroU64,
    /// Most `(event kind, key)` windows tracked at once; beyond it the least recently
    /// seen is forgotten.
    #[serde(default = "default_max_tracked_keys")]
    pub max_tracked_keys: NonZeroU32,
    /// Most principals and addresses blocked at once; beyond it the block ending soonest
    /// is lifted.
    #[serde(default = "default_max_blocks")]
    pub max_blocks: NonZeroU32,
    /// Failed authentication. Default: warning, 5 in 300 s, `alert`.
    #[serde(default)]
    pub authentication_failed: Option<EventRuleConfig>,
    /// Refused by policy. Default: warning, 10 in 300 s, `alert`.
    #[serde(default)]
    pub authorization_denied: Option<EventRuleConfig>,
    /// Refused by a limit. Default: info, 20 in 300 s, `log`.
    #[serde(default)]
    pub rate_limit_exceeded: Option<EventRuleConfig>,
    /// Refused by a threat guard or as a path traversal. Default: high, 1 in 60 s,
    /// `block_and_alert`.
    #[serde(default)]
    pub suspicious_pattern: Option<EventRuleConfig>,
    /// Refused a `delete` action or an `admin` resource by role. Default: critical, 1 in
    /// 60 s, `block_user_and_alert`.
    #[serde(default)]
    pub privilege_escalation_attempt: Option<EventRuleConfig>,
    /// Bad client certificate. Default: high, 3 in 300 s, `block_ip`.
    #[serde(default)]
    pub invalid_certificate: Option<EventRuleConfig>,
    /// A detector flagged a message without refusing it. Default: warning, 1 in 60 s,
    /// `alert`.
    #[serde(default)]
    pub threat_detected: Option<EventRuleConfig>,
    /// A call to a quarantined tool. Default: high, 1 in 60 s, `alert`.
    #[serde(default)]
    pub tool_quarantined: Option<EventRuleConfig>,
}

impl Default for EventRulesConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            block_duration_secs: default_block_secs(),
            max_tracked_keys: default_max_tracked_keys(),
            max_blocks: default_max_blocks(),
            authentication_failed: None,
            authorization_denied: None,
            rate_limit_exceeded: None,
            suspicious_pattern: None,
            privilege_escalation_attempt: None,
            invalid_certificate: None,
            threat_detected: None,
            tool_quarantined: None,
        }
    }
}

fn yes() -> bool {
    true
}

fn default_block_secs() -> NonZeroU64 {
    NonZeroU64::new(DEFAULT_BLOCK_SECS).unwrap_or(NonZeroU64::MIN)
}

fn default_max_tracked_keys() -> NonZeroU32 {
    NonZeroU32::new(DEFAULT_MAX_TRACKED_KEYS).unwrap_or(NonZeroU32::MIN)
}

fn default_max_blocks() -> NonZeroU32 {
    NonZeroU32::new(DEFAULT_MAX_BLOCKS).unwrap_or(NonZeroU32::MIN)
}

/// One event kind's effective rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRule {
    /// Severity reported.
    pub severity: Severity,
    /// Events within the window that trigger the action (1..=10,000).
    pub threshold: u32,
    /// The sliding window.
    pub window: Duration,
    /// What to do.
    pub action: ResponseAction,
}

impl EventRule {
    /// Seed 001's `SECURITY_EVENTS` entry for `kind` (and ours for the detection findings).
    pub fn default_for(kind: SecurityEventKind) -> Self {
        use ResponseAction::{Alert, BlockAndAlert, BlockIp, BlockUserAndAlert, Log};
        use Severity::{Critical, High, Info, Warning};
        let (severity, threshold, window_secs, action) = match kind {
            SecurityEventKind::AuthenticationFailed => (Warning, 5, 300, Alert),
            SecurityEventKind::AuthorizationDenied => (Warning, 10, 300, Alert),
            SecurityEventKind::RateLimitExceeded => (Info, 20, 300, Log),
            SecurityEventKind::SuspiciousPattern => (High, 1, 60, BlockAndAlert),
            SecurityEventKind::PrivilegeEscalationAttempt => (Critical, 1, 60, BlockUserAndAlert),
            SecurityEventKind::InvalidCertificate => (High, 3, 300, BlockIp),
            SecurityEventKind::ThreatDetected => (Warning, 1, 60, Alert),
            SecurityEventKind::ToolQuarantined => (High, 1, 60, Alert),
        };
        Self {
            severity,
            threshold,
            window: Duration::from_secs(window_secs),
            action,
        }
    }

    fn with(mut self, overrides: Option<&EventRuleConfig>) -> Self {
        let Some(o) = overrides else {
            return self;
        };
        if let Some(s) = o.severity {
            self.severity = s;
        }
        if let Some(t) = o.threshold {
            self.threshold = t.get().min(MAX_THRESHOLD);
        }
        if let Some(w) = o.window_secs {
            self.window = Duration::from_secs(w.get());
        }
        if let Some(a) = o.action {
            self.action = a;
        }
        self
    }
}

/// The effective rules: defaults with the configured overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRules {
    /// Whether events are acted on.
    pub enabled: bool,
    /// Length of temporary blocks.
    pub block_duration: Duration,
    /// Cap on tracked windows.
    pub max_tracked_keys: usize,
    /// Cap on blocks.
    pub max_blocks: usize,
    rules: [EventRule; 8],
}

impl EventRules {
    /// The rule for `kind`.
    pub fn rule(&self, kind: SecurityEventKind) -> &EventRule {
        &self.rules[kind.index()]
    }
}

impl EventRulesConfig {
    /// The effective rules.
    pub fn build(&self) -> EventRules {
        let overrides = [
            self.authentication_failed.as_ref(),
            self.authorization_denied.as_ref(),
            self.rate_limit_exceeded.as_ref(),
            self.suspicious_pattern.as_ref(),
            self.privilege_escalation_attempt.as_ref(),
            self.invalid_certificate.as_ref(),
            self.threat_detected.as_ref(),
            self.tool_quarantined.as_ref(),
        ];
        EventRules {
            enabled: self.enabled,
            block_duration: Duration::from_secs(self.block_duration_secs.get()),
            max_tracked_keys: to_usize(self.max_tracked_keys),
            max_blocks: to_usize(self.max_blocks),
            rules: SecurityEventKind::ALL
                .map(|kind| EventRule::default_for(kind).with(overrides[kind.index()])),
        }
    }
}

fn to_usize(n: NonZeroU32) -> usize {
    usize::try_from(n.get()).unwrap_or(usize::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_seed_001s_table() {
        let rules = EventRulesConfig::default().build();
        let row = |k| {
            let r = rules.rule(k);
            (
                r.severity.as_str(),
                r.threshold,
                r.window.as_secs(),
                r.action.as_str(),
            )
        };
        use SecurityEventKind as K;
        assert_eq!(row(K::AuthenticationFailed), ("warning", 5, 300, "alert"));
        assert_eq!(row(K::AuthorizationDenied), ("warning", 10, 300, "alert"));
        assert_eq!(row(K::RateLimitExceeded), ("info", 20, 300, "log"));
        assert_eq!(
            row(K::SuspiciousPattern),
            ("high", 1, 60, "block_and_alert")
        );
        assert_eq!(
            row(K::PrivilegeEscalationAttempt),
            ("critical", 1, 60, "block_user_and_alert")
        );
        assert_eq!(row(K::InvalidCertificate), ("high", 3, 300, "block_ip"));
        assert_eq!(rules.block_duration.as_secs(), 3600);
        assert!(rules.enabled);
    }

    #[test]
    fn one_field_overrides_keep_the_rest() {
        let yaml = "authentication_failed: { threshold: 3, action: block_ip }\n";
        let config: EventRulesConfig = serde_saphyr::from_str(yaml).unwrap();
        let rules = config.build();
        let r = rules.rule(SecurityEventKind::AuthenticationFailed);
        assert_eq!((r.threshold, r.window.as_secs()), (3, 300));
        assert_eq!(r.action, ResponseAction::BlockIp);
        assert_eq!(r.severity, Severity::Warning);
        assert!(
            serde_saphyr::from_str::<EventRulesConfig>("suspicious_pattern: { threshold: 0 }\n")
                .is_err()
        );
        assert!(serde_saphyr::from_str::<EventRulesConfig>("bogus: 1\n").is_err());
    }
}
