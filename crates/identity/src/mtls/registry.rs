//! The service registry: which certificate names are which service account.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::peer::PeerName;
use crate::error::BuildError;

/// The role of service accounts that configure none (seed 001's "Service Account"
/// column).
pub const SERVICE_ACCOUNT_ROLE: &str = "mcp_service_account";

/// A service account and the certificate names that identify it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ServiceAccount {
    /// Service name; the principal id (`docker-server`).
    pub name: String,
    /// SPIFFE ids (`spiffe://example.org/ns/prod/sa/docker`) that are this service.
    #[serde(default)]
    pub spiffe_ids: Vec<String>,
    /// DNS SANs (`docker-server.mcp.local`) that are this service, case-insensitive.
    #[serde(default)]
    pub dns_names: Vec<String>,
    /// Subject common names that are this service; only consulted for certificates
    /// without any SAN.
    #[serde(default)]
    pub common_names: Vec<String>,
    /// Gateway roles; `mcp_service_account` when empty.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Permission strings granted directly (`mcp.docker:*`, `infrastructure:execute`).
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Tenant of the service, if any.
    #[serde(default)]
    pub tenant: Option<String>,
}

impl ServiceAccount {
    /// The configured roles, or `mcp_service_account` when none are.
    pub fn effective_roles(&self) -> Vec<String> {
        if self.roles.is_empty() {
            vec![SERVICE_ACCOUNT_ROLE.to_owned()]
        } else {
            self.roles.clone()
        }
    }
}

/// Service accounts indexed by each kind of certificate name. A name of one kind never
/// matches an entry of another kind (a CN spelled like a SPIFFE id is still a CN).
#[derive(Debug, Clone, Default)]
pub struct ServiceRegistry {
    services: Vec<ServiceAccount>,
    by_spiffe_id: HashMap<String, usize>,
    by_dns_name: HashMap<String, usize>,
    by_common_name: HashMap<String, usize>,
}

impl ServiceRegistry {
    /// Indexes `services`; a name claimed by two services is an error.
    pub fn new(services: Vec<ServiceAccount>) -> Result<Self, BuildError> {
        let mut registry = Self::default();
        for (index, service) in services.iter().enumerate() {
            if service.name.is_empty() {
                return Err(BuildError::invalid(
                    "mtls.services.name",
                    "must not be empty",
                ));
            }
            for id in &service.spiffe_ids {
                insert_unique(
                    &mut registry.by_spiffe_id,
                    id.clone(),
                    index,
                    "mtls.services.spiffe_ids",
                )?;
            }
            for dns in &service.dns_names {
                insert_unique(
                    &mut registry.by_dns_name,
                    dns.to_ascii_lowercase(),
                    index,
                    "mtls.services.dns_names",
                )?;
            }
            for cn in &service.common_names {
                insert_unique(
                    &mut registry.by_common_name,
                    cn.clone(),
                    index,
                    "mtls.services.common_names",
                )?;
            }
        }
        registry.services = services;
        Ok(registry)
    }

    /// The service a certificate name belongs to. For DNS names, the first SAN (in
    /// certificate order) that is registered decides.
    pub fn resolve(&self, name: &PeerName) -> Option<&ServiceAccount> {
        let index = match name {
            PeerName::Spiffe { id, .. } => self.by_spiffe_id.get(id),
            PeerName::Dns(names) => names.iter().find_map(|n| self.by_dns_name.get(n)),
            PeerName::CommonName(cn) => self.by_common_name.get(cn),
        }?;
        self.services.get(*index)
    }

    /// The registered services.
    pub fn services(&self) -> &[ServiceAccount] {
        &self.services
    }
}

fn insert_unique(
    index: &mut HashMap<String, usize>,
    name: String,
    service: usize,
    field: &'static str,
) -> Result<(), BuildError> {
    match index.insert(name.clone(), service) {
        Some(previous) if previous != service => Err(BuildError::invalid(
            field,
            format!("{name} is claimed by two services"),
        )),
        _ => Ok(()),
    }
}
