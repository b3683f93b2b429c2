//! Security events: what a decision record means for the response orchestrator.

use std::net::IpAddr;

use sallyport_pipeline::{DecisionRecord, DenyCode, Outcome};
use serde::Serialize;

/// The principal id the HTTP edge records for requests refused before authentication.
pub(crate) const UNAUTHENTICATED: &str = "unauthenticated";

/// Guards whose non-allow verdicts are detection findings.
const DETECTOR_GUARDS: [&str; 4] = [
    "tool_arguments",
    "tool_result",
    "tool_definition",
    "tool_flow",
];

/// The kinds of security event: seed 001's six, plus the detection findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityEventKind {
    /// No valid credentials (`unauthenticated`).
    AuthenticationFailed,
    /// Authenticated but refused by policy (`auth_forbidden`, `tool_not_allowed`,
    /// `step_up_required`, a resource hidden by authorization).
    AuthorizationDenied,
    /// A rate limit, quota, per-address or concurrency limit refused the message.
    RateLimitExceeded,
    /// A threat guard refused the message (`threat_detected`), or the network layer saw a
    /// path traversal (`path_traversal`).
    SuspiciousPattern,
    /// Refused by role-based authorization for a `delete` action or an `admin` resource.
    PrivilegeEscalationAttempt,
    /// The TLS handshake failed on the client certificate (`invalid_certificate`).
    InvalidCertificate,
    /// A detector flagged the message without refusing it (redaction, approval hold).
    ThreatDetected,
    /// A call to a quarantined tool (`tool_quarantined`).
    ToolQuarantined,
}

impl SecurityEventKind {
    /// Every kind, in the order of the configuration and the docs.
    pub const ALL: [Self; 8] = [
        Self::AuthenticationFailed,
        Self::AuthorizationDenied,
        Self::RateLimitExceeded,
        Self::SuspiciousPattern,
        Self::PrivilegeEscalationAttempt,
        Self::InvalidCertificate,
        Self::ThreatDetected,
        Self::ToolQuarantined,
    ];

    /// Stable name, as in config, logs and docs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthenticationFailed => "authentication_failed",
            Self::AuthorizationDenied => "authorization_denied",
            Self::RateLimitExceeded => "rate_limit_exceeded",
            Self::SuspiciousPattern => "suspicious_pattern",
            Self::PrivilegeEscalationAttempt => "privilege_escalation_attempt",
            Self::InvalidCertificate => "invalid_certificate",
            Self::ThreatDetected => "threat_detected",
            Self::ToolQuarantined => "tool_quarantined",
        }
    }

    /// Position in [`Self::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Whether events of this kind are counted per source address rather than per
    /// principal, whatever the action.
    pub(crate) fn keyed_by_ip(self) -> bool {
        self == Self::InvalidCertificate
    }
}

pub use sallyport_correlate::Severity;

/// One security event, derived from one decision record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecurityEvent {
    /// What happened.
    pub kind: SecurityEventKind,
    /// Milliseconds since the Unix epoch (the record's time).
    pub time_unix_ms: u64,
    /// The principal's id (`unauthenticated` when refused before authentication).
    pub principal: String,
    /// How the principal authenticated (`none`, `stdio`, `jwt`, `api_key`, `mtls`).
    pub auth_method: &'static str,
    /// The principal's tenant.
    pub tenant: Option<String>,
    /// The client's address, when known.
    pub source_ip: Option<IpAddr>,
    /// The upstream server.
    pub server: Option<String>,
    /// The tool (or prompt, or resource).
    pub tool: Option<String>,
    /// The deny code, when the message was refused.
    pub deny_code: Option<DenyCode>,
    /// The record's reason (audit detail).
    pub reason: Option<String>,
}

impl SecurityEvent {
    /// An event of `kind` for `principal`, with everything else empty (tests, examples).
    pub fn new(kind: SecurityEventKind, principal: impl Into<String>) -> Self {
        Self {
            kind,
            time_unix_ms: 0,
            principal: principal.into(),
            auth_method: "api_key",
            tenant: None,
            source_ip: None,
            server: None,
            tool: None,
            deny_code: None,
            reason: None,
        }
    }

    /// True when the principal was never established (refused before authentication, or an
    /// unauthenticated listener's local operator): such events can only be pinned on an
    /// address.
    pub fn is_anonymous(&self) -> bool {
        self.principal == UNAUTHENTICATED || self.auth_method == "none"
    }
}

/// The security event a decision record raises, if any.
///
/// Refusals by the blocks themselves (`ip_blocked`, `principal_blocked`) raise none, so a
/// blocked client cannot extend its own block.
pub fn classify(record: &DecisionRecord) -> Option<SecurityEvent> {
    let kind = match (record.outcome, record.deny_code) {
        (Outcome::Deny, Some(code)) => kind_of_denial(code, record)?,
        (Outcome::Deny, None) => return None,
        (Outcome::Allow, _) => return None,
        // A rewrite or a hold by a detector is a finding without a refusal.
        (Outcome::Rewrite | Outcome::Hold, _) => {
            let flagged = record.guards.iter().any(|g| {
                DETECTOR_GUARDS.contains(&g.guard)
                    && matches!(g.outcome, Outcome::Rewrite | Outcome::Hold)
            });
            if !flagged {
                return None;
            }
            SecurityEventKind::ThreatDetected
        }
    };
    Some(SecurityEvent {
        kind,
        time_unix_ms: record.time_unix_ms,
        principal: record.principal.clone(),
        auth_method: record.auth_method,
        tenant: record.tenant.clone(),
        source_ip: record.source_ip,
        server: record.server.clone(),
        tool: record.tool.clone(),
        deny_code: record.deny_code,
        reason: record.reason.clone(),
    })
}

fn kind_of_denial(code: DenyCode, record: &DecisionRecord) -> Option<SecurityEventKind> {
    let kind = match code {
        DenyCode::Unauthenticated => SecurityEventKind::AuthenticationFailed,
        DenyCode::AuthForbidden | DenyCode::ToolNotAllowed => {
            if is_privilege_escalation(record.reason.as_deref()) {
                SecurityEventKind::PrivilegeEscalationAttempt
            } else {
                SecurityEventKind::AuthorizationDenied
            }
        }
        DenyCode::StepUpRequired => SecurityEventKind::AuthorizationDenied,
        // A resource hidden by authorization looks like a missing one; the guard tells.
        DenyCode::ResourceNotFound | DenyCode::UnknownResource
            if record
                .guards
                .iter()
                .any(|g| g.guard == "authz" && g.outcome == Outcome::Deny) =>
        {
            SecurityEventKind::AuthorizationDenied
        }
        DenyCode::RateLimited
        | DenyCode::QuotaExceeded
        | DenyCode::PerIpRateLimited
        | DenyCode::ConcurrencyLimited => SecurityEventKind::RateLimitExceeded,
        DenyCode::ThreatDetected | DenyCode::PathTraversal => SecurityEventKind::SuspiciousPattern,
        DenyCode::InvalidCertificate => SecurityEventKind::InvalidCertificate,
        DenyCode::ToolQuarantined => SecurityEventKind::ToolQuarantined,
        _ => return None,
    };
    Some(kind)
}

/// The privilege-escalation rule. A decision record does not say which permission an item
/// needs, but the authorization guard's reason does when role-based access refused it:
/// `deny by rbac: no permission of roles [reader] grants mcp.fs.delete_file:delete`. A
/// refusal is an escalation attempt when that reason asks for the `delete` action, or for a
/// resource with an `admin` segment (`mcp.admin.users:execute`, `mcp.db.admin_reset`): the
/// principal tried something its roles reserve for administrators. Refusals by tenant,
/// trust score or Cedar policy, and unknown tools, stay `authorization_denied`.
fn is_privilege_escalation(reason: Option<&str>) -> bool {
    let Some(reason) = reason else {
        return false;
    };
    let Some(rest) = reason.split_once("deny by rbac:").map(|(_, r)| r) else {
        return false;
    };
    let Some(wanted) = rest.split_once(" grants ").map(|(_, w)| w) else {
        return false;
    };
    let wanted = wanted.split_whitespace().next().unwrap_or("");
    let Some((resource, action)) = wanted.rsplit_once(':') else {
        return false;
    };
    action == "delete"
        || resource
            .split(['.', '_', '-'])
            .any(|segment| segment.eq_ignore_ascii_case("admin"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn privilege_escalation_needs_an_rbac_refusal_of_delete_or_admin() {
        let rbac =
            |wanted: &str| format!("deny by rbac: no permission of roles [reader] grants {wanted}");
        assert!(is_privilege_escalation(Some(&rbac(
            "mcp.fs.delete_file:delete"
        ))));
        assert!(is_privilege_escalation(Some(&rbac(
            "mcp.admin.users:execute"
        ))));
        assert!(is_privilege_escalation(Some(&rbac(
            "mcp.db.admin_reset:write [trust 0.40]"
        ))));
        assert!(!is_privilege_escalation(Some(&rbac(
            "mcp.fs.read_file:read"
        ))));
        assert!(!is_privilege_escalation(Some(&rbac(
            "mcp.administration:read"
        ))));
        assert!(!is_privilege_escalation(Some(
            "deny by cedar: forbidden by Cedar policy p1 grants x:delete"
        )));
        assert!(!is_privilege_escalation(Some(
            "Unknown tool: delete_everything"
        )));
        assert!(!is_privilege_escalation(None));
    }
}
