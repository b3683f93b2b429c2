//! Sallyport authentication: who is calling.
//!
//! Turns what a request carries (header values, a verified client certificate, the
//! source address) into an [`Identity`], or an [`AuthError`] that says why not, with a
//! stable [`AuthError::reason`] for audit and an [`AuthError::http_status`] (401, 403 or
//! 503) for the edge. Nothing here knows about HTTP servers: inputs and outputs are
//! plain data.
//!
//! Methods, combined per listener by an [`Authenticator`] built from [`AuthConfig`]:
//!
//! - **JWT bearer tokens** ([`jwt`]): RS256/ES256/EdDSA with keys from a JWKS file, URL
//!   or OIDC discovery (cached, refreshed on an unknown `kid` at a bounded rate);
//!   HS256 only with an explicitly configured secret. Issuer, audience (the gateway's
//!   canonical URI), `exp`/`nbf` with skew, `jti` revocation, and claim → role mapping.
//! - **API keys** ([`api_key`]): `sp_<prefix>_<secret>`, stored as HMAC-SHA-256 only,
//!   with scopes, expiry and source CIDRs.
//! - **mTLS** ([`mtls`]): SPIFFE id, DNS SAN or CN of a verified client certificate,
//!   mapped to a service account; plus the TLS 1.3 rustls server configuration.
//! - **Anonymous** access as `mcp_guest`, only where a listener allows it.
//!
//! [`oauth`] has the MCP authorization spec's resource-server pieces: Protected
//! Resource Metadata and `WWW-Authenticate` challenges.
//!
//! ```
//! use std::time::SystemTime;
//! use sallyport_identity::{AuthConfig, AuthRequest};
//!
//! let config = AuthConfig { allow_anonymous: true, ..AuthConfig::default() };
//! let authenticator = config.build().unwrap();
//! let request = AuthRequest {
//!     authorization: None,
//!     x_api_key: None,
//!     peer_certificate: None,
//!     source_ip: Some("192.0.2.7".parse().unwrap()),
//!     now: SystemTime::now(),
//! };
//! # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let identity = runtime.block_on(authenticator.authenticate(&request)).unwrap();
//! assert_eq!(identity.roles, ["mcp_guest"]);
//!
//! // A malformed header is refused, never downgraded to anonymous.
//! let bad = AuthRequest { authorization: Some("Bearer not-a-jwt"), ..request };
//! let error = runtime.block_on(authenticator.authenticate(&bad)).unwrap_err();
//! assert_eq!((error.reason(), error.http_status()), ("malformed_credential", 401));
//! ```
#![deny(missing_docs)]

pub mod api_key;
mod authenticator;
mod config;
mod credential;
mod error;
mod identity;
pub mod jwt;
pub mod mtls;
pub mod oauth;
mod role_mapping;
mod secret;

pub use api_key::{ApiKeyConfig, KeyStore};
pub use authenticator::{AuthRequest, Authenticator};
pub use config::AuthConfig;
pub use credential::{Credential, MAX_CREDENTIAL_BYTES};
pub use error::{AuthError, BuildError};
pub use identity::{AuthMethod, GUEST_ROLE, Identity, IdentityAttributes, IdentityKind};
pub use jwt::{JwtAuthenticator, JwtConfig, JwtVerifier};
pub use mtls::{MtlsAuthenticator, MtlsConfig, server_config};
pub use oauth::{ProtectedResourceMetadata, ResourceServerConfig};
pub use role_mapping::RoleMapping;
pub use secret::{SecretBytes, SecretRef};
