//! A decision as data: outcome, which stage decided, and everything that explains it.

use std::fmt::Write as _;

use serde::Serialize;

use crate::classify::Classification;
use crate::rbac::PermissionUse;
use crate::stepup::StepUpChallenge;
use crate::subject::Phase;
use crate::trust::TrustBreakdown;

/// What to do with the request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Let it through.
    Allow,
    /// Refuse it (answered exactly like an unknown tool).
    Deny,
    /// Ask for a stronger, more recent authentication (HTTP 403 `insufficient_scope`).
    StepUp(StepUpChallenge),
    /// Hold it for a human approval.
    Hold {
        /// Why.
        reason: String,
    },
}

/// Which check produced the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The item belongs to another tenant.
    Tenant,
    /// No permission grants the item's resource and action.
    Rbac,
    /// The trust score is under a threshold.
    Trust,
    /// A Cedar policy forbade it, none permitted it when required, or one failed.
    Cedar,
    /// A step-up (or approval) is needed.
    StepUp,
    /// Every check passed.
    Allowed,
}

/// The full decision about one request, serialisable for the audit record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// The outcome.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The stage that decided.
    pub decided_by: Stage,
    /// Call or list.
    pub phase: Phase,
    /// Human-readable reasons, most important first.
    pub reasons: Vec<String>,
    /// Cedar policies that determined the outcome (permits when allowed, forbids when
    /// denied, failing policies when an error denied).
    pub policy_ids: Vec<String>,
    /// The RBAC permission that granted the item, if one did.
    pub permission_used: Option<PermissionUse>,
    /// The roles that applied.
    pub roles: Vec<String>,
    /// The trust score and its factors, when computed.
    pub trust: Option<TrustBreakdown>,
    /// What the item was classified as.
    pub classification: Classification,
}

impl Decision {
    pub(crate) fn new(classification: Classification, phase: Phase, roles: Vec<String>) -> Self {
        Self {
            outcome: Outcome::Allow,
            decided_by: Stage::Allowed,
            phase,
            reasons: Vec::new(),
            policy_ids: Vec::new(),
            permission_used: None,
            roles,
            trust: None,
            classification,
        }
    }

    pub(crate) fn deny(mut self, stage: Stage, reason: String) -> Self {
        self.outcome = Outcome::Deny;
        self.decided_by = stage;
        self.reasons.insert(0, reason);
        self
    }

    /// True when the request may proceed.
    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }

    /// A one-line account for logs and the guard record:
    /// `deny by rbac: no permission grants mcp.docker:execute (roles: readonly)`.
    pub fn summary(&self) -> String {
        let verb = match &self.outcome {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
            Outcome::StepUp(_) => "step_up",
            Outcome::Hold { .. } => "hold",
        };
        let stage = serde_json::to_value(self.decided_by)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let mut s = format!("{verb} by {stage}");
        if let Some(r) = self.reasons.first() {
            let _ = write!(s, ": {r}");
        }
        if !self.policy_ids.is_empty() {
            let _ = write!(s, " [cedar: {}]", self.policy_ids.join(", "));
        }
        if let Some(p) = &self.permission_used {
            let _ = write!(s, " [permission {} via {}]", p.permission, p.via);
        }
        if let Some(t) = &self.trust {
            let _ = write!(s, " [trust {:.2}]", t.score);
        }
        s
    }
}
