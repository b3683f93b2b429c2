//! Who a rate-limit check is about.

use sallyport_pipeline::{Principal, PrincipalKind};

/// The caller and call a rate-limit check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    /// Stable principal identifier.
    pub principal_id: &'a str,
    /// Which per-principal budget applies.
    pub kind: SubjectKind,
    /// The principal's tenant, for daily quotas.
    pub tenant: Option<&'a str>,
    /// The tool of a `tools/call`; `None` for other messages (per-tool limits skip them).
    pub tool: Option<&'a str>,
}

impl<'a> Subject<'a> {
    /// The subject of a call by `principal`, to `tool` when it is a `tools/call`.
    /// Service principals are [`SubjectKind::Service`]; every other kind is a user.
    pub fn from_principal(principal: &'a Principal, tool: Option<&'a str>) -> Self {
        let kind = match principal.kind {
            PrincipalKind::Service => SubjectKind::Service,
            PrincipalKind::Local | PrincipalKind::Anonymous | PrincipalKind::User => {
                SubjectKind::User
            }
        };
        Self {
            principal_id: &principal.id,
            kind,
            tenant: principal.tenant.as_deref(),
            tool,
        }
    }
}

/// Which per-principal budget a subject draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectKind {
    /// `per_principal`.
    User,
    /// `service_accounts` (or `per_principal` when that is not set).
    Service,
}
