//! Who is calling.

use std::net::IpAddr;
use std::sync::Arc;

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
    /// What the credential said beyond the above (source address, device, `auth_time`,
    /// `acr`/`amr`, scopes, direct permissions), for authorization and audit. Shared, so
    /// cloning a principal stays cheap; `None` for the local operator.
    #[serde(skip)]
    pub details: Option<Arc<PrincipalDetails>>,
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
            details: None,
        }
    }
}

/// Facts about a principal's credential and connection, filled in by authentication.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PrincipalDetails {
    /// Permission strings granted directly (service registry, API key), added to the roles'.
    pub permissions: Vec<String>,
    /// The client's address as the network layer resolved it.
    pub source_ip: Option<IpAddr>,
    /// A device identifier asserted by the credential.
    pub device_id: Option<String>,
    /// When the caller last authenticated strongly, Unix seconds.
    pub auth_time: Option<i64>,
    /// Authentication context class (`acr`).
    pub acr: Option<String>,
    /// Authentication methods (`amr`).
    pub amr: Vec<String>,
    /// OAuth or API-key scopes.
    pub scopes: Vec<String>,
    /// Who vouched for the identity (token issuer, `api_key`, certificate issuer).
    pub issuer: Option<String>,
    /// The credential's own id (`jti`, key prefix, certificate serial), for audit.
    pub credential_id: Option<String>,
    /// When the account was created, Unix seconds (account-age bonus of the trust score).
    pub account_created: Option<i64>,
    /// Security events this principal caused recently (the edge fills it in from the
    /// response orchestrator's state), for the trust score's reputation factor.
    pub recent_violations: u32,
}

impl Principal {
    /// The client's address, when authentication recorded one.
    pub fn source_ip(&self) -> Option<IpAddr> {
        self.details.as_ref().and_then(|d| d.source_ip)
    }
}
