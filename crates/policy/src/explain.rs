//! Offline evaluation of described requests, for `sallyport policy test`: the decision and
//! what decided it, as data.
//!
//! A document is one request or a list of them, in YAML or JSON:
//!
//! ```yaml
//! - name: readonly cannot run containers
//!   principal: { id: alice, roles: [readonly] }
//!   server: docker
//!   tool: docker_run
//!   arguments: { image: alpine }
//!   time: 2026-11-05T09:30:00Z
//!   expect: deny
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::authorizer::{AuthzPolicy, TrustInput};
use crate::classify::{TargetKind, ToolHints};
use crate::decision::{Decision, Outcome};
use crate::subject::{AuthzRequest, Phase, Subject, Target};
use crate::time::Timestamp;
use crate::trust::TrustProfiles;

/// The outcome a test case expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Allowed.
    Allow,
    /// Denied.
    Deny,
    /// Step-up required.
    StepUp,
    /// Held for approval.
    Hold,
}

impl Expect {
    fn matches(self, outcome: &Outcome) -> bool {
        matches!(
            (self, outcome),
            (Self::Allow, Outcome::Allow)
                | (Self::Deny, Outcome::Deny)
                | (Self::StepUp, Outcome::StepUp(_))
                | (Self::Hold, Outcome::Hold { .. })
        )
    }
}

/// A request described in a test file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescribedRequest {
    /// A label for the report.
    #[serde(default)]
    pub name: Option<String>,
    /// Who asks.
    pub principal: Subject,
    /// The upstream server.
    pub server: String,
    /// The tool or prompt name, or resource URI.
    pub tool: String,
    /// Tool (default), prompt or resource.
    #[serde(default)]
    pub kind: TargetKind,
    /// The call's arguments.
    #[serde(default)]
    pub arguments: Option<Value>,
    /// MCP annotations the upstream declares for the tool.
    #[serde(default)]
    pub annotations: Option<ToolHints>,
    /// Call (default) or list visibility.
    #[serde(default)]
    pub phase: Phase,
    /// When (RFC 3339); defaults to the time given to the evaluator.
    #[serde(default)]
    pub time: Option<String>,
    /// A fixed trust score; without one, trust (if configured) is scored for a principal
    /// with no history.
    #[serde(default)]
    pub trust_score: Option<f64>,
    /// The expected outcome, making the request a test case.
    #[serde(default)]
    pub expect: Option<Expect>,
}

/// The answer for one described request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The request's label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The decision, with reasons, policy ids, permission and trust.
    pub decision: Decision,
    /// The expected outcome, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Expect>,
    /// Whether the outcome matched the expectation, if one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passed: Option<bool>,
}

/// Why a document could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExplainError {
    /// Not valid YAML or JSON.
    #[error("not a valid request document: {0}")]
    Syntax(String),
    /// The `time` is not RFC 3339.
    #[error("bad time {0:?}: expected RFC 3339, e.g. 2026-11-05T09:30:00Z")]
    BadTime(String),
    /// Valid syntax, wrong shape.
    #[error("request {index}: {message}")]
    Shape {
        /// 0-based index of the request.
        index: usize,
        /// What is wrong.
        message: String,
    },
}

/// Evaluates one described request. `now` is used when the request gives no time.
pub fn explain(
    policy: &AuthzPolicy,
    req: &DescribedRequest,
    now: Timestamp,
) -> Result<Explanation, ExplainError> {
    let now = match &req.time {
        Some(t) => Timestamp::parse_rfc3339(t).ok_or_else(|| ExplainError::BadTime(t.clone()))?,
        None => now,
    };
    let authz = AuthzRequest {
        subject: &req.principal,
        target: Target {
            kind: req.kind,
            server: &req.server,
            name: &req.tool,
            hints: req.annotations.as_ref(),
        },
        arguments: req.arguments.as_ref(),
        phase: req.phase,
        now,
    };
    let fresh = TrustProfiles::new(1);
    let trust = match req.trust_score {
        Some(score) => TrustInput::Fixed(score.clamp(0.0, 1.0)),
        None => TrustInput::Peek(&fresh),
    };
    let decision = policy.decide(&authz, trust);
    let passed = req.expect.map(|e| e.matches(&decision.outcome));
    Ok(Explanation {
        name: req.name.clone(),
        decision,
        expected: req.expect,
        passed,
    })
}

/// Evaluates a YAML or JSON document holding one request or a list of them.
pub fn explain_document(
    policy: &AuthzPolicy,
    text: &str,
    now: Timestamp,
) -> Result<Vec<Explanation>, ExplainError> {
    let doc: Value =
        serde_saphyr::from_str(text).map_err(|e| ExplainError::Syntax(e.to_string()))?;
    let items = match doc {
        Value::Array(items) => items,
        single => vec![single],
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let shape = |message: String| ExplainError::Shape { index, message };
            let req: DescribedRequest =
                serde_json::from_value(item).map_err(|e| shape(e.to_string()))?;
            explain(policy, &req, now).map_err(|e| shape(e.to_string()))
        })
        .collect()
}
