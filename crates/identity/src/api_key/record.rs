//! What the store keeps about each key.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::KeyStoreError;
use crate::identity::IdentityKind;

/// A stored API key: everything but the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ApiKeyRecord {
    /// The visible prefix (`sp_<prefix>_…`), unique in the store.
    pub prefix: String,
    /// A human name for the key ("ci-deploy").
    pub name: String,
    /// The principal the key authenticates as.
    pub principal_id: String,
    /// Whether the principal is a user or a service account.
    pub kind: IdentityKind,
    /// Tenant of the principal, if any.
    pub tenant: Option<String>,
    /// Gateway roles granted.
    pub roles: Vec<String>,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// Creation time, seconds since the Unix epoch.
    pub created_at: u64,
    /// Expiry, seconds since the Unix epoch; `None` never expires.
    pub expires_at: Option<u64>,
    /// Source networks allowed to use the key (`10.0.0.0/8`, `2001:db8::/32`); empty
    /// allows any source.
    pub allowed_cidrs: Vec<String>,
    /// Whether the key was revoked.
    pub revoked: bool,
    /// When it was revoked, seconds since the Unix epoch.
    pub revoked_at: Option<u64>,
    /// Hex HMAC-SHA-256 of the full key under the server secret.
    pub key_hash: String,
}

impl ApiKeyRecord {
    /// The expiry as a time.
    pub fn expiry(&self) -> Option<SystemTime> {
        self.expires_at.map(from_unix)
    }
}

/// What to create: the inputs of `sallyport keys create`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// A human name for the key.
    pub name: String,
    /// The principal the key authenticates as; defaults to `api_key:<name>`.
    pub principal_id: Option<String>,
    /// User or service account (scripts are usually service accounts).
    pub kind: IdentityKind,
    /// Tenant of the principal.
    pub tenant: Option<String>,
    /// Gateway roles granted.
    pub roles: Vec<String>,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// When the key stops working; `None` never expires.
    pub expires_at: Option<SystemTime>,
    /// Source networks allowed (CIDR or single address); empty allows any.
    pub allowed_cidrs: Vec<String>,
}

impl NewApiKey {
    /// A service-account key named `name` with no roles, scopes, expiry or CIDRs.
    pub fn service(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            principal_id: None,
            kind: IdentityKind::Service,
            tenant: None,
            roles: Vec::new(),
            scopes: Vec::new(),
            expires_at: None,
            allowed_cidrs: Vec::new(),
        }
    }

    /// Checks the request; returns the normalised CIDRs.
    pub(crate) fn validate(&self, now: SystemTime) -> Result<Vec<IpNet>, KeyStoreError> {
        let invalid = |m: &str| Err(KeyStoreError::InvalidRequest(m.to_owned()));
        if self.name.is_empty() || self.name.len() > 128 || self.name.chars().any(char::is_control)
        {
            return invalid("name must be 1-128 printable characters");
        }
        if self.kind == IdentityKind::Anonymous {
            return invalid("an API key cannot be anonymous");
        }
        if self.expires_at.is_some_and(|at| at <= now) {
            return invalid("expiry is in the past");
        }
        self.allowed_cidrs.iter().map(|c| parse_cidr(c)).collect()
    }
}

/// A CIDR, or a single address as a host network.
pub(crate) fn parse_cidr(text: &str) -> Result<IpNet, KeyStoreError> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map(|net| net.trunc())
        .map_err(|_| KeyStoreError::InvalidRequest(format!("not a CIDR: {text}")))
}

pub(crate) fn to_unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

pub(crate) fn from_unix(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}
