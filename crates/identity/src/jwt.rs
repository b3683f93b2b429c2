//! JWT bearer tokens: signature, algorithm, issuer, audience and lifetime checks, with
//! keys from a JSON Web Key Set.
//!
//! [`JwtVerifier`] is synchronous and pure: token + [`KeySet`] + clock → [`Identity`].
//! [`JwtAuthenticator`] adds the key cache: it refreshes the key set through a
//! [`JwksFetcher`] when a token names an unknown `kid` or the set is old, at most once
//! per `min_refresh_interval_secs`. Only that refresh is asynchronous.

mod cache;
mod claims;
mod config;
mod fetch;
mod keys;
mod verified;

use std::collections::HashSet;
use std::sync::RwLock;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, Validation};

pub use cache::JwtAuthenticator;
pub use config::{ClaimMapping, JwksSource, JwtAlgorithm, JwtConfig};
pub use fetch::{
    FetchFuture, FileJwks, HttpJwks, JwksFetcher, MAX_JWKS_BYTES, OidcDiscoveryJwks, http_client,
    is_allowed_fetch_url,
};
pub use keys::KeySet;

use crate::error::{AuthError, BuildError};
use crate::identity::Identity;
use claims::{ClaimRules, Claims};

/// A key set could not be obtained or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// Network or file error while fetching.
    #[error("fetching {source_name}: {message}")]
    Fetch {
        /// The URL or file fetched.
        source_name: String,
        /// What failed.
        message: String,
    },
    /// The server answered with a non-success status.
    #[error("fetching {source_name}: HTTP status {status}")]
    Status {
        /// The URL fetched.
        source_name: String,
        /// The HTTP status.
        status: u16,
    },
    /// The document is larger than [`MAX_JWKS_BYTES`].
    #[error("document larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    /// The URL is not HTTPS (plain HTTP is allowed to loopback addresses only).
    #[error("refusing to fetch keys from {url}: HTTPS required")]
    InsecureUrl {
        /// The URL refused.
        url: String,
    },
    /// The JSON could not be parsed.
    #[error("invalid document: {0}")]
    Parse(String),
    /// The key set has more entries than allowed.
    #[error("key set has {count} keys, more than the maximum of {max}")]
    TooManyKeys {
        /// Entries in the document.
        count: usize,
        /// Configured maximum.
        max: usize,
    },
    /// No key in the set is a usable signature key.
    #[error("key set has no usable signature key")]
    NoUsableKeys,
    /// The discovery document names another issuer than the one configured.
    #[error("discovery document issuer does not match the configured issuer")]
    IssuerMismatch,
}

/// Verifies JWTs against a key set: synchronous, no I/O.
pub struct JwtVerifier {
    issuers: Vec<String>,
    audience: String,
    validations: Vec<(JwtAlgorithm, Validation)>,
    hs256_key: Option<DecodingKey>,
    clock_skew: Duration,
    max_token_bytes: usize,
    revoked_jtis: RwLock<HashSet<String>>,
    claims: ClaimMapping,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let algorithms: Vec<&str> = self
            .validations
            .iter()
            .map(|(a, _)| a.jose_name())
            .collect();
        f.debug_struct("JwtVerifier")
            .field("issuers", &self.issuers)
            .field("audience", &self.audience)
            .field("algorithms", &algorithms)
            .finish_non_exhaustive()
    }
}

/// The parts of a token header used before verification.
pub(crate) struct TokenHeader {
    pub(crate) alg: JwtAlgorithm,
    pub(crate) kid: Option<String>,
}

impl JwtVerifier {
    /// Builds a verifier from configuration, reading the HS256 secret and the
    /// revocation file.
    pub fn from_config(config: &JwtConfig) -> Result<Self, BuildError> {
        validate_config(config)?;
        let hs256_key = match (
            &config.hs256_secret,
            config.algorithms.contains(&JwtAlgorithm::Hs256),
        ) {
            (Some(secret), true) => {
                let secret = secret.load()?;
                if secret.len() < 32 {
                    return Err(BuildError::invalid(
                        "jwt.hs256_secret",
                        "must be at least 32 bytes",
                    ));
                }
                Some(DecodingKey::from_secret(secret.expose()))
            }
            _ => None,
        };
        let mut revoked: HashSet<String> = config.revoked_jtis.iter().cloned().collect();
        if let Some(path) = &config.revoked_jtis_file {
            let text = std::fs::read_to_string(path).map_err(|source| BuildError::Read {
                path: path.clone(),
                source,
            })?;
            revoked.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_owned),
            );
        }
        let validations = config
            .algorithms
            .iter()
            .map(|alg| (*alg, validation_for(*alg)))
            .collect();
        Ok(Self {
            issuers: config.issuers.clone(),
            audience: config.audience.clone(),
            validations,
            hs256_key,
            clock_skew: Duration::from_secs(config.clock_skew_secs),
            max_token_bytes: config.max_token_bytes,
            revoked_jtis: RwLock::new(revoked),
            claims: config.claims.clone(),
        })
    }

    /// Verifies `token` with the keys in `keys` at time `now`.
    pub fn verify(
        &self,
        token: &str,
        keys: &KeySet,
        now: SystemTime,
    ) -> Result<Identity, AuthError> {
        let header = self.peek_header(token)?;
        let key = match header.alg {
            JwtAlgorithm::Hs256 => self
                .hs256_key
                .as_ref()
                .ok_or(AuthError::AlgorithmNotAllowed)?,
            alg => match keys.find(header.kid.as_deref(), alg) {
                Some(key) => key,
                // The kid exists for another algorithm family: an algorithm confusion attempt.
                None if header.kid.as_deref().is_some_and(|kid| keys.has_kid(kid)) => {
                    return Err(AuthError::AlgorithmNotAllowed);
                }
                None => return Err(AuthError::UnknownKey),
            },
        };
        self.verify_with_key(token, header.alg, key, now)
    }

    /// Adds a token id to the revocation list.
    pub fn revoke_jti(&self, jti: impl Into<String>) {
        if let Ok(mut revoked) = self.revoked_jtis.write() {
            revoked.insert(jti.into());
        }
    }

    /// Whether a token id is revoked.
    pub fn is_jti_revoked(&self, jti: &str) -> bool {
        // A poisoned lock fails closed: every token with a jti counts as revoked.
        self.revoked_jtis
            .read()
            .map_or(true, |revoked| revoked.contains(jti))
    }

    /// Checks size, shape and `alg` without verifying anything else.
    pub(crate) fn peek_header(&self, token: &str) -> Result<TokenHeader, AuthError> {
        if token.len() > self.max_token_bytes {
            return Err(AuthError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(_payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed);
        };
        let header = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| AuthError::Malformed)?;
        let header: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&header).map_err(|_| AuthError::Malformed)?;
        let alg = header
            .get("alg")
            .and_then(|a| a.as_str())
            .ok_or(AuthError::Malformed)?;
        let alg = JwtAlgorithm::from_jose_name(alg)
            .filter(|alg| self.validations.iter().any(|(allowed, _)| allowed == alg))
            .ok_or(AuthError::AlgorithmNotAllowed)?;
        // RFC 7515 §4.1.11: unknown critical extensions must be rejected; we know none.
        if header.contains_key("crit") || signature.is_empty() {
            return Err(AuthError::Malformed);
        }
        let kid = match header.get("kid") {
            None => None,
            Some(serde_json::Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(AuthError::Malformed),
        };
        Ok(TokenHeader { alg, kid })
    }

    fn verify_with_key(
        &self,
        token: &str,
        alg: JwtAlgorithm,
        key: &DecodingKey,
        now: SystemTime,
    ) -> Result<Identity, AuthError> {
        let validation = self
            .validations
            .iter()
            .find_map(|(allowed, v)| (*allowed == alg).then_some(v))
            .ok_or(AuthError::AlgorithmNotAllowed)?;
        let data = jsonwebtoken::decode::<Claims>(token, key, validation).map_err(map_error)?;
        let rules = ClaimRules {
            issuers: &self.issuers,
            audience: &self.audience,
            clock_skew: self.clock_skew,
        };
        let expires_at = claims::check_registered(&data.claims, &rules, now)?;
        match data.claims.get("jti") {
            None => {}
            Some(serde_json::Value::String(jti)) if self.is_jti_revoked(jti) => {
                return Err(AuthError::TokenRevoked);
            }
            Some(serde_json::Value::String(_)) => {}
            Some(_) => return Err(AuthError::InvalidClaim { claim: "jti" }),
        }
        claims::identity_from_claims(&data.claims, &self.claims, expires_at, now)
    }
}

/// jsonwebtoken checks only the signature and algorithm here; claims are ours.
fn validation_for(alg: JwtAlgorithm) -> Validation {
    let mut validation = Validation::new(alg.to_jsonwebtoken());
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation
}

fn map_error(error: jsonwebtoken::errors::Error) -> AuthError {
    match error.kind() {
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => AuthError::InvalidSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::MissingAlgorithm => AuthError::AlgorithmNotAllowed,
        _ => AuthError::Malformed,
    }
}

fn validate_config(config: &JwtConfig) -> Result<(), BuildError> {
    if config.issuers.is_empty() || config.issuers.iter().any(String::is_empty) {
        return Err(BuildError::invalid(
            "jwt.issuers",
            "at least one non-empty issuer is required",
        ));
    }
    let audience = url::Url::parse(&config.audience)
        .map_err(|e| BuildError::invalid("jwt.audience", format!("not an absolute URI: {e}")))?;
    if audience.fragment().is_some() {
        return Err(BuildError::invalid(
            "jwt.audience",
            "a canonical URI has no fragment",
        ));
    }
    if config.algorithms.is_empty() {
        return Err(BuildError::invalid(
            "jwt.algorithms",
            "at least one algorithm is required",
        ));
    }
    let hs256 = config.algorithms.contains(&JwtAlgorithm::Hs256);
    match (hs256, config.hs256_secret.is_some()) {
        (true, false) => Err(BuildError::invalid(
            "jwt.hs256_secret",
            "HS256 is allowed but no secret is set",
        )),
        (false, true) => Err(BuildError::invalid(
            "jwt.hs256_secret",
            "set, but HS256 is not in algorithms",
        )),
        _ if config.algorithms.iter().any(|a| *a != JwtAlgorithm::Hs256)
            && config.keys.is_none() =>
        {
            Err(BuildError::invalid(
                "jwt.keys",
                "public-key algorithms need a key source",
            ))
        }
        _ if config.max_keys == 0 => Err(BuildError::invalid("jwt.max_keys", "must be at least 1")),
        _ => Ok(()),
    }
}
