//! Mutual TLS: service identities from verified client certificates, and the rustls
//! server configuration that verifies them.
//!
//! The TLS handshake (rustls `WebPkiClientVerifier`) proves the chain against the
//! configured CA. This module then names the peer: the SPIFFE id in its URI SAN, else a
//! DNS SAN, else (only with no SANs at all) the subject CN, and maps that name to a
//! service account of the registry (seed 001's service registry). Unregistered names
//! are refused.

mod peer;
mod registry;
mod tls;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::SystemTime;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use peer::{PeerCertificate, PeerName};
pub use registry::{SERVICE_ACCOUNT_ROLE, ServiceAccount, ServiceRegistry};
pub use tls::server_config;

use crate::error::{AuthError, BuildError};
use crate::identity::{AuthMethod, Identity, IdentityAttributes, IdentityKind};

/// Client-certificate authentication of service accounts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct MtlsConfig {
    /// PEM file of the CA certificate(s) client certificates must chain to.
    pub client_ca_path: PathBuf,
    /// Whether a connection without a client certificate is refused during the
    /// handshake (`true`), or accepted and authenticated by other means (`false`).
    #[serde(default = "default_true")]
    pub require_client_cert: bool,
    /// The service accounts, each with the certificate names that identify it.
    #[serde(default)]
    pub services: Vec<ServiceAccount>,
}

fn default_true() -> bool {
    true
}

/// Turns verified client certificates into service identities.
#[derive(Debug, Clone)]
pub struct MtlsAuthenticator {
    registry: ServiceRegistry,
}

impl MtlsAuthenticator {
    /// Builds the registry of `config`.
    pub fn from_config(config: &MtlsConfig) -> Result<Self, BuildError> {
        Ok(Self::new(ServiceRegistry::new(config.services.clone())?))
    }

    /// An authenticator over `registry`.
    pub fn new(registry: ServiceRegistry) -> Self {
        Self { registry }
    }

    /// The registry.
    pub fn registry(&self) -> &ServiceRegistry {
        &self.registry
    }

    /// The identity of the peer whose **already verified** chain is `chain` (DER,
    /// end-entity certificate first, as rustls' `peer_certificates()` returns it).
    pub fn authenticate<C: AsRef<[u8]>>(
        &self,
        chain: &[C],
        source_ip: Option<IpAddr>,
        now: SystemTime,
    ) -> Result<Identity, AuthError> {
        let leaf = chain.first().ok_or(AuthError::MissingCredentials)?;
        let peer = PeerCertificate::from_der(leaf.as_ref())?;
        if now < peer.not_before || now > peer.not_after {
            return Err(AuthError::InvalidClientCertificate);
        }
        let service = self
            .registry
            .resolve(&peer.name)
            .ok_or(AuthError::UnknownService)?;
        let mut attributes = IdentityAttributes::new(AuthMethod::Mtls);
        attributes.auth_time = Some(now);
        attributes.expires_at = Some(peer.not_after);
        attributes.source_ip = source_ip;
        attributes.issuer = Some(match &peer.name {
            PeerName::Spiffe { trust_domain, .. } => format!("spiffe://{trust_domain}"),
            PeerName::Dns(_) | PeerName::CommonName(_) => peer.issuer.clone(),
        });
        attributes.credential_id = Some(peer.serial_hex.clone());
        Ok(Identity {
            id: service.name.clone(),
            kind: IdentityKind::Service,
            tenant: service.tenant.clone(),
            roles: service.effective_roles(),
            permissions: service.permissions.clone(),
            attributes,
        })
    }
}
