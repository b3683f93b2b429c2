//! Configuration of JWT bearer-token authentication.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::role_mapping::RoleMapping;
use crate::secret::SecretRef;

/// JWT bearer tokens from one or more identity providers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct JwtConfig {
    /// Accepted `iss` values, compared exactly. At least one.
    #[schemars(length(min = 1))]
    pub issuers: Vec<String>,
    /// The audience tokens must name in `aud`: this gateway's canonical URI
    /// (`https://mcp.example.com/mcp`). Tokens issued for anyone else are rejected.
    pub audience: String,
    /// Signature algorithms accepted. `HS256` additionally needs `hs256_secret`.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<JwtAlgorithm>,
    /// Shared secret for `HS256` tokens; only used when `HS256` is in `algorithms`.
    #[serde(default)]
    pub hs256_secret: Option<SecretRef>,
    /// Where the verification keys come from. Required unless only `HS256` is allowed.
    #[serde(default)]
    pub keys: Option<JwksSource>,
    /// Allowed clock difference, in seconds, when checking `exp` and `nbf`.
    #[serde(default = "default_clock_skew_secs")]
    pub clock_skew_secs: u64,
    /// Minimum seconds between two refreshes of the key set (refreshes happen on an
    /// unknown `kid` and when the cached set is older than `max_key_age_secs`).
    #[serde(default = "default_min_refresh_interval_secs")]
    pub min_refresh_interval_secs: u64,
    /// Age in seconds after which the cached key set is refreshed on the next request.
    #[serde(default = "default_max_key_age_secs")]
    pub max_key_age_secs: u64,
    /// Most keys accepted from one key set; larger sets are refused.
    #[serde(default = "default_max_keys")]
    pub max_keys: usize,
    /// Longest token accepted, in bytes.
    #[serde(default = "default_max_token_bytes")]
    pub max_token_bytes: usize,
    /// Token ids (`jti`) that are revoked.
    #[serde(default)]
    pub revoked_jtis: Vec<String>,
    /// A file of revoked token ids, one per line (`#` starts a comment).
    #[serde(default)]
    pub revoked_jtis_file: Option<PathBuf>,
    /// Which claims carry the caller's roles, tenant and device.
    #[serde(default)]
    pub claims: ClaimMapping,
}

/// Where a JSON Web Key Set is obtained.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", deny_unknown_fields, rename_all = "snake_case")]
pub enum JwksSource {
    /// A JWKS document on disk; re-read on an unknown `kid` (rate-bounded).
    File {
        /// Path of the JWKS JSON document.
        path: PathBuf,
    },
    /// A JWKS document fetched over HTTPS (plain HTTP only to loopback addresses).
    Url {
        /// URL of the JWKS document.
        url: String,
    },
    /// OpenID Connect discovery: `<issuer>/.well-known/openid-configuration` gives the
    /// `jwks_uri`; the document's `issuer` must equal `issuer` exactly.
    OidcDiscovery {
        /// The issuer URL (also add it to `issuers`).
        issuer: String,
    },
}

/// Signature algorithms a token may use. `none` does not exist here on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
pub enum JwtAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    #[serde(rename = "RS256")]
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    #[serde(rename = "RS384")]
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    #[serde(rename = "RS512")]
    Rs512,
    /// RSASSA-PSS with SHA-256.
    #[serde(rename = "PS256")]
    Ps256,
    /// ECDSA on P-256 with SHA-256.
    #[serde(rename = "ES256")]
    Es256,
    /// ECDSA on P-384 with SHA-384.
    #[serde(rename = "ES384")]
    Es384,
    /// Ed25519.
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// HMAC with SHA-256 and a shared secret; only with `hs256_secret`.
    #[serde(rename = "HS256")]
    Hs256,
}

impl JwtAlgorithm {
    /// The JOSE name (`RS256`).
    pub fn jose_name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
            Self::Hs256 => "HS256",
        }
    }

    /// Parses a JOSE `alg` value exactly (case-sensitive, as RFC 7515 requires).
    pub fn from_jose_name(name: &str) -> Option<Self> {
        [
            Self::Rs256,
            Self::Rs384,
            Self::Rs512,
            Self::Ps256,
            Self::Es256,
            Self::Es384,
            Self::EdDsa,
            Self::Hs256,
        ]
        .into_iter()
        .find(|alg| alg.jose_name() == name)
    }

    pub(crate) fn to_jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        use jsonwebtoken::Algorithm;
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Rs384 => Algorithm::RS384,
            Self::Rs512 => Algorithm::RS512,
            Self::Ps256 => Algorithm::PS256,
            Self::Es256 => Algorithm::ES256,
            Self::Es384 => Algorithm::ES384,
            Self::EdDsa => Algorithm::EdDSA,
            Self::Hs256 => Algorithm::HS256,
        }
    }
}

/// Which claims carry what.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct ClaimMapping {
    /// Dot-separated path of the claim holding the caller's roles (a string array or a
    /// space-separated string), e.g. `roles` or `realm_access.roles`.
    pub roles_claim: String,
    /// How asserted roles become gateway roles.
    pub role_mapping: RoleMapping,
    /// Dot-separated path of the claim holding the tenant, if any (e.g. `tid`).
    pub tenant_claim: Option<String>,
    /// Dot-separated path of the claim holding a device identifier, if any.
    pub device_id_claim: Option<String>,
    /// Dot-separated path of the claim holding when the account was created (seconds since
    /// the epoch, e.g. `created_at`), for the trust score's account-age bonus. Absent: the
    /// token says nothing about account age.
    pub account_created_claim: Option<String>,
    /// Whether a token with no `sub` is refused (otherwise `client_id`/`azp` is used).
    pub require_subject: bool,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            roles_claim: "roles".to_owned(),
            role_mapping: RoleMapping::default(),
            tenant_claim: None,
            device_id_claim: None,
            account_created_claim: None,
            require_subject: true,
        }
    }
}

fn default_algorithms() -> Vec<JwtAlgorithm> {
    vec![
        JwtAlgorithm::Rs256,
        JwtAlgorithm::Es256,
        JwtAlgorithm::EdDsa,
    ]
}

fn default_clock_skew_secs() -> u64 {
    60
}

fn default_min_refresh_interval_secs() -> u64 {
    60
}

fn default_max_key_age_secs() -> u64 {
    3600
}

fn default_max_keys() -> usize {
    32
}

fn default_max_token_bytes() -> usize {
    8 * 1024
}
