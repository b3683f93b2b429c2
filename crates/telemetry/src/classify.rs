//! Pure mappings from decision-record fields to bounded label values: every value returned
//! here is a `&'static str` from a fixed table, so no record can create a new series.

use sallyport_pipeline::DenyCode;

use crate::labels::OTHER;

/// Guards whose verdicts are authorization checks.
pub const AUTHORIZATION_GUARDS: [&str; 2] = ["authz", "tool_filter"];

/// Guards whose non-allow verdicts come from content detectors.
pub const DETECTOR_GUARDS: [&str; 5] = [
    "tool_arguments",
    "tool_result",
    "tool_definition",
    "tool_flow",
    "tool_pin",
];

/// MCP methods that appear as the `action` label; anything else is `other`.
const ACTIONS: [&str; 14] = [
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "resources/unsubscribe",
    "completion/complete",
    "logging/setLevel",
    "sampling/createMessage",
];

/// The identity crate's authentication failure reasons (`AuthError::reason`).
const AUTH_REASONS: [&str; 21] = [
    "missing_credentials",
    "unsupported_scheme",
    "malformed_credential",
    "method_not_enabled",
    "algorithm_not_allowed",
    "unknown_key",
    "keys_unavailable",
    "invalid_signature",
    "token_expired",
    "token_not_yet_valid",
    "invalid_issuer",
    "invalid_audience",
    "missing_claim",
    "invalid_claim",
    "token_revoked",
    "invalid_api_key",
    "api_key_revoked",
    "api_key_expired",
    "source_not_allowed",
    "invalid_client_certificate",
    "unknown_service",
];

/// Detector rule-id families (the part before the first `.`) and the class they report.
const RULE_FAMILIES: [(&str, &str); 14] = [
    ("secret", "secret"),
    ("inj", "prompt_injection"),
    ("poison", "tool_poisoning"),
    ("pii", "pii"),
    ("ssrf", "ssrf"),
    ("code", "code_injection"),
    ("cmd", "command_injection"),
    ("sql", "sql"),
    ("path", "path_traversal"),
    ("hidden", "hidden_text"),
    ("shadow", "shadowing"),
    ("exfil", "exfiltration"),
    ("obfuscation", "encoded"),
    ("schema", "schema_violation"),
];

/// The `action` label for a method.
pub fn action(method: Option<&str>) -> &'static str {
    let Some(method) = method else {
        return crate::labels::NONE;
    };
    ACTIONS
        .iter()
        .find(|a| **a == method)
        .copied()
        .unwrap_or(OTHER)
}

/// The `reason` label for an authentication failure: the identity crate's stable reason.
pub fn auth_reason(reason: Option<&str>) -> &'static str {
    reason
        .and_then(|r| AUTH_REASONS.iter().find(|a| **a == r).copied())
        .unwrap_or(OTHER)
}

/// The authentication method a failure reason belongs to (the record names no method).
pub fn auth_method_for_failure(reason: &str) -> &'static str {
    match reason {
        "invalid_api_key" | "api_key_revoked" | "api_key_expired" => "api_key",
        "invalid_client_certificate" | "unknown_service" => "mtls",
        "algorithm_not_allowed"
        | "unknown_key"
        | "keys_unavailable"
        | "invalid_signature"
        | "token_expired"
        | "token_not_yet_valid"
        | "invalid_issuer"
        | "invalid_audience"
        | "missing_claim"
        | "invalid_claim"
        | "token_revoked" => "jwt",
        _ => "unknown",
    }
}

/// Whether `code` is a rate, quota or concurrency limit.
pub fn is_rate_limit(code: DenyCode) -> bool {
    matches!(
        code,
        DenyCode::RateLimited
            | DenyCode::QuotaExceeded
            | DenyCode::ConcurrencyLimited
            | DenyCode::PerIpRateLimited
    )
}

/// Whether `code` is an authentication failure at the edge.
pub fn is_auth_failure(code: DenyCode) -> bool {
    matches!(
        code,
        DenyCode::Unauthenticated | DenyCode::AuthForbidden | DenyCode::InvalidCertificate
    )
}

/// The severity of the security event a denial raises, or `None` for denials that are not
/// security events (malformed messages, unknown methods, upstream timeouts, …).
pub fn security_severity(code: DenyCode) -> Option<&'static str> {
    let severity = match code {
        // A changed or poisoned tool is held: an operator must look now.
        DenyCode::ToolQuarantined
        // A message was refused rather than passed unaudited: the trail is failing.
        | DenyCode::AuditUnavailable => "critical",
        DenyCode::ThreatDetected
        | DenyCode::PathTraversal
        // Refused by a block the response orchestrator placed after security events.
        | DenyCode::IpBlocked
        | DenyCode::PrincipalBlocked
        // Host/Origin refusals are DNS-rebinding attempts from a browser.
        | DenyCode::OriginNotAllowed
        | DenyCode::HostNotAllowed => "high",
        DenyCode::AuthForbidden
        | DenyCode::InvalidCertificate
        | DenyCode::StepUpRequired
        | DenyCode::ToolNotAllowed
        | DenyCode::IpDenied
        | DenyCode::IpReputation
        | DenyCode::GuardFailed => "medium",
        DenyCode::Unauthenticated
        | DenyCode::RateLimited
        | DenyCode::QuotaExceeded
        | DenyCode::PerIpRateLimited
        | DenyCode::ConcurrencyLimited
        | DenyCode::CircuitOpen => "low",
        _ => return None,
    };
    Some(severity)
}

/// The detector classes named in a guard's reason (`secret.aws_key at /x; inj.ignore …`),
/// each once. A detector guard that acted without a recognisable rule id reports one
/// class of its own (`drift` for pinning, `toxic_flow` for flows, else `unclassified`).
pub fn detector_classes(guard: &str, reason: Option<&str>) -> Vec<&'static str> {
    let mut classes: Vec<&'static str> = Vec::new();
    for word in reason
        .unwrap_or("")
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
    {
        let Some((family, rest)) = word.split_once('.') else {
            continue;
        };
        if rest.is_empty() {
            continue;
        }
        if let Some((_, class)) = RULE_FAMILIES.iter().find(|(f, _)| *f == family)
            && !classes.contains(class)
        {
            classes.push(class);
        }
    }
    if classes.is_empty() {
        classes.push(match guard {
            "tool_pin" => "drift",
            "tool_flow" => "toxic_flow",
            _ => "unclassified",
        });
    }
    classes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detector_classes_come_from_rule_ids_once_each() {
        let reason = "arguments of fs/read: secret.aws_access_key at /a \"AKIA…\"; \
                      secret.github_token at /b; inj.ignore_previous(AML.T0051) at /c";
        assert_eq!(
            detector_classes("tool_arguments", Some(reason)),
            ["secret", "prompt_injection"]
        );
        assert_eq!(
            detector_classes("tool_pin", Some("held x (changed)")),
            ["drift"]
        );
        assert_eq!(detector_classes("tool_result", None), ["unclassified"]);
    }

    #[test]
    fn unknown_values_fold_into_other() {
        assert_eq!(action(Some("tools/call")), "tools/call");
        assert_eq!(action(Some("x/evil-123")), "other");
        assert_eq!(auth_reason(Some("token_expired")), "token_expired");
        assert_eq!(auth_reason(Some("a user-controlled string")), "other");
        assert_eq!(auth_method_for_failure("invalid_api_key"), "api_key");
        assert_eq!(auth_method_for_failure("missing_credentials"), "unknown");
    }
}
