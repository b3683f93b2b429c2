//! The `auth:` section of a listener, and building an [`Authenticator`] from it.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api_key::{ApiKeyConfig, KeyStore};
use crate::authenticator::Authenticator;
use crate::error::BuildError;
use crate::jwt::{JwtAuthenticator, JwtConfig};
use crate::mtls::{MtlsAuthenticator, MtlsConfig};
use crate::oauth::ResourceServerConfig;

/// How callers of one listener authenticate. Several methods may be enabled at once.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct AuthConfig {
    /// JWT bearer tokens (OAuth 2.1 access tokens from an identity provider).
    #[serde(default)]
    pub jwt: Option<JwtConfig>,
    /// API keys (`X-API-Key` or `Authorization: Bearer sp_…`).
    #[serde(default)]
    pub api_keys: Option<ApiKeyConfig>,
    /// Client certificates (needs a TLS listener).
    #[serde(default)]
    pub mtls: Option<MtlsConfig>,
    /// Let callers without credentials in, as the anonymous `mcp_guest` principal.
    #[serde(default)]
    pub allow_anonymous: bool,
    /// OAuth Protected Resource Metadata (MCP authorization): served at the well-known
    /// paths and referenced from `WWW-Authenticate` challenges.
    #[serde(default)]
    pub resource: Option<ResourceServerConfig>,
}

impl AuthConfig {
    /// Checks the section and builds the authenticator: reads secrets, the key store,
    /// a `file` key set and the service registry. Remote key sets are fetched on first
    /// use; call `authenticator.jwt().map(|j| j.refresh(now))` to warm up at start.
    pub fn build(&self) -> Result<Authenticator, BuildError> {
        if self.jwt.is_none()
            && self.api_keys.is_none()
            && self.mtls.is_none()
            && !self.allow_anonymous
        {
            return Err(BuildError::invalid(
                "auth",
                "no authentication method is enabled and anonymous access is not allowed",
            ));
        }
        let resource = self
            .resource
            .as_ref()
            .map(ResourceServerConfig::metadata)
            .transpose()?;
        if let (Some(jwt), Some(resource)) = (&self.jwt, &resource)
            && jwt.audience != resource.resource
        {
            return Err(BuildError::invalid(
                "auth.jwt.audience",
                "must equal auth.resource.resource (the canonical URI tokens are issued for)",
            ));
        }
        let mut authenticator = Authenticator::new().allow_anonymous(self.allow_anonymous);
        if let Some(jwt) = &self.jwt {
            authenticator = authenticator.with_jwt(JwtAuthenticator::from_config(jwt)?);
        }
        if let Some(api_keys) = &self.api_keys {
            let secret = api_keys.hmac_secret.load()?;
            let store = KeyStore::open(&api_keys.store_path, &secret)?;
            authenticator = authenticator.with_api_keys(Arc::new(store));
        }
        if let Some(mtls) = &self.mtls {
            authenticator = authenticator.with_mtls(MtlsAuthenticator::from_config(mtls)?);
        }
        if let Some(resource) = resource {
            authenticator = authenticator.with_resource(resource);
        }
        Ok(authenticator)
    }
}
