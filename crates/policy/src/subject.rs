//! The input of a decision: who asks ([`Subject`]), for what ([`Target`]), with which
//! arguments, when.

use std::net::IpAddr;

use sallyport_pipeline::{Principal, PrincipalKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::classify::{TargetKind, ToolHints};
use crate::permission::Permission;
use crate::time::Timestamp;

/// The kind of caller.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// The local operator (stdio, or an unauthenticated loopback listener).
    Local,
    /// An unauthenticated caller on a listener that allows it.
    Anonymous,
    /// An authenticated user.
    #[default]
    User,
    /// An authenticated service account.
    Service,
}

impl SubjectKind {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Anonymous => "anonymous",
            Self::User => "user",
            Self::Service => "service",
        }
    }
}

impl From<PrincipalKind> for SubjectKind {
    fn from(k: PrincipalKind) -> Self {
        match k {
            PrincipalKind::Local => Self::Local,
            PrincipalKind::Anonymous => Self::Anonymous,
            PrincipalKind::User => Self::User,
            PrincipalKind::Service => Self::Service,
        }
    }
}

/// Facts about the caller and its connection, beyond roles. All optional: a missing fact
/// is treated as unknown (never as favourable).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Attributes {
    /// The client's address, as seen by the gateway.
    pub source_ip: Option<IpAddr>,
    /// ISO country code of `source_ip`, from a GeoIP lookup done by the caller.
    pub country: Option<String>,
    /// A device identifier (token claim, certificate, header the operator trusts).
    pub device_id: Option<String>,
    /// How the caller authenticated (`jwt`, `api_key`, `mtls`, `stdio`, `none`).
    pub auth_method: Option<String>,
    /// When the caller last authenticated interactively (`auth_time`), Unix seconds.
    pub auth_time: Option<i64>,
    /// Authentication context class (`acr`).
    pub acr: Option<String>,
    /// Authentication methods (`amr`).
    pub amr: Vec<String>,
    /// OAuth scopes or API-key scopes.
    pub scopes: Vec<String>,
    /// When the account was created, Unix seconds.
    pub account_created: Option<i64>,
    /// Violations recorded against the principal recently (from the event stream).
    pub recent_violations: u32,
    /// Device ids known for this principal (from the identity store), in addition to
    /// those in the trust configuration.
    pub known_devices: Vec<String>,
}

/// Who is asking: the identity crate's principal, mapped by the caller.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Subject {
    /// Stable identifier.
    pub id: String,
    /// Kind of caller.
    pub kind: SubjectKind,
    /// Tenant, when multi-tenant.
    pub tenant: Option<String>,
    /// Role names (or aliases such as `mcp_admin`). Empty means the kind's default roles.
    pub roles: Vec<String>,
    /// Permissions granted directly (service registry, API key), added to the roles'.
    pub permissions: Vec<Permission>,
    /// Everything else.
    pub attributes: Attributes,
}

impl Subject {
    /// The subject a pipeline principal names: its id, kind, tenant and roles, and what
    /// its credential said (source address, device, `auth_time`, `acr`/`amr`, scopes,
    /// direct permissions). Unparsable permission strings grant nothing.
    pub fn from_principal(p: &Principal) -> Self {
        let mut attributes = Attributes {
            auth_method: Some(p.auth_method.to_owned()),
            ..Attributes::default()
        };
        let mut permissions = Vec::new();
        if let Some(d) = &p.details {
            attributes.source_ip = d.source_ip;
            attributes.device_id.clone_from(&d.device_id);
            attributes.auth_time = d.auth_time;
            attributes.acr.clone_from(&d.acr);
            attributes.amr.clone_from(&d.amr);
            attributes.scopes.clone_from(&d.scopes);
            attributes.recent_violations = d.recent_violations;
            attributes.account_created = d.account_created;
            permissions = d
                .permissions
                .iter()
                .filter_map(|text| Permission::parse(text).ok())
                .collect();
        }
        Self {
            id: p.id.clone(),
            kind: p.kind.into(),
            tenant: p.tenant.clone(),
            roles: p.roles.clone(),
            permissions,
            attributes,
        }
    }
}

/// Whether a decision is for a call or for showing an item in a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// A call (`tools/call`, `prompts/get`, `resources/read`): every check applies.
    #[default]
    Call,
    /// Whether the item appears in a list: RBAC, tenant and Cedar (without arguments;
    /// Cedar errors ignored) apply; trust and step-up do not.
    List,
}

impl Phase {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::List => "list",
        }
    }
}

/// The item asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target<'a> {
    /// Tool, prompt or resource.
    pub kind: TargetKind,
    /// The upstream server's configured name.
    pub server: &'a str,
    /// The upstream-local tool or prompt name, or resource URI.
    pub name: &'a str,
    /// The upstream's annotations, if known (untrusted; stricter only).
    pub hints: Option<&'a ToolHints>,
}

/// One authorization question.
#[derive(Debug, Clone, Copy)]
pub struct AuthzRequest<'a> {
    /// Who asks.
    pub subject: &'a Subject,
    /// For what.
    pub target: Target<'a>,
    /// The call's arguments (`params.arguments`), if any.
    pub arguments: Option<&'a Value>,
    /// Call or list.
    pub phase: Phase,
    /// When.
    pub now: Timestamp,
}

impl<'a> AuthzRequest<'a> {
    /// A call to a tool.
    pub fn call(
        subject: &'a Subject,
        server: &'a str,
        tool: &'a str,
        arguments: Option<&'a Value>,
        now: Timestamp,
    ) -> Self {
        Self {
            subject,
            target: Target {
                kind: TargetKind::Tool,
                server,
                name: tool,
                hints: None,
            },
            arguments,
            phase: Phase::Call,
            now,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use sallyport_pipeline::{Principal, PrincipalDetails};

    use super::Subject;

    #[test]
    fn a_principal_s_credential_facts_reach_the_subject() {
        let principal = Principal {
            details: Some(Arc::new(PrincipalDetails {
                account_created: Some(1_600_000_000),
                recent_violations: 2,
                device_id: Some("laptop-42".into()),
                ..PrincipalDetails::default()
            })),
            ..Principal::local()
        };
        let s = Subject::from_principal(&principal);
        assert_eq!(s.attributes.account_created, Some(1_600_000_000));
        assert_eq!(s.attributes.recent_violations, 2);
        assert_eq!(s.attributes.device_id.as_deref(), Some("laptop-42"));
    }
}
