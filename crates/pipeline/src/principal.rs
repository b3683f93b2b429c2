//! Who is calling.

use serde::Serialize;

/// The kind of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// The local operator (stdio, or a listener without authentication on loopback).
    Local,
    /// An unauthenticated caller on a listener that explicitly allows it.
    Anonymous,
    /// An authenticated user.
    User,
    /// An authenticated service account.
    Service,
}

/// The identity every exchange carries. Authentication fills it in at the edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// Stable identifier (subject, key id, certificate identity).
    pub id: String,
    /// What kind of caller this is.
    pub kind: PrincipalKind,
    /// How the caller authenticated (`none`, `stdio`, `jwt`, `api_key`, `mtls`).
    pub auth_method: &'static str,
    /// Tenant, when multi-tenant.
    pub tenant: Option<String>,
    /// Roles granted.
    pub roles: Vec<String>,
}

impl Principal {
    /// The local operator: stdio clients and unauthenticated loopback listeners.
    pub fn local() -> Self {
        Self {
            id: "local".into(),
            kind: PrincipalKind::Local,
            auth_method: "none",
            tenant: None,
            roles: Vec::new(),
        }
    }
}
