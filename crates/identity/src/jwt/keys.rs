//! Verification keys from a JSON Web Key Set.

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};

use super::JwksError;
use super::config::JwtAlgorithm;

/// The key families a JWKS may provide. Symmetric (`oct`) keys are never taken from a
/// key set: an HMAC secret published next to public keys is a confusion attack waiting
/// to happen, so `HS256` only ever uses the configured secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyFamily {
    Rsa,
    EcP256,
    EcP384,
    Ed25519,
}

/// One usable public key.
struct VerificationKey {
    kid: Option<String>,
    family: KeyFamily,
    alg: Option<JwtAlgorithm>,
    key: DecodingKey,
}

impl VerificationKey {
    fn fits(&self, alg: JwtAlgorithm) -> bool {
        let family_fits = match alg {
            JwtAlgorithm::Rs256
            | JwtAlgorithm::Rs384
            | JwtAlgorithm::Rs512
            | JwtAlgorithm::Ps256 => self.family == KeyFamily::Rsa,
            JwtAlgorithm::Es256 => self.family == KeyFamily::EcP256,
            JwtAlgorithm::Es384 => self.family == KeyFamily::EcP384,
            JwtAlgorithm::EdDsa => self.family == KeyFamily::Ed25519,
            JwtAlgorithm::Hs256 => false,
        };
        family_fits && self.alg.is_none_or(|key_alg| key_alg == alg)
    }
}

/// The public keys of an identity provider, looked up by `kid` and algorithm.
#[derive(Default)]
pub struct KeySet {
    keys: Vec<VerificationKey>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().filter_map(|k| k.kid.as_deref()).collect();
        f.debug_struct("KeySet").field("kids", &kids).finish()
    }
}

impl KeySet {
    /// Parses a JWKS document (`{"keys": […]}`), keeping the signature keys this crate
    /// can use and skipping the others (encryption keys, `oct` keys, unknown types).
    /// A document with more than `max_keys` entries, or with no usable key, is refused.
    pub fn from_jwks_json(document: &[u8], max_keys: usize) -> Result<Self, JwksError> {
        #[derive(serde::Deserialize)]
        struct RawSet {
            keys: Vec<serde_json::Value>,
        }
        let raw: RawSet =
            serde_json::from_slice(document).map_err(|e| JwksError::Parse(e.to_string()))?;
        if raw.keys.len() > max_keys {
            return Err(JwksError::TooManyKeys {
                count: raw.keys.len(),
                max: max_keys,
            });
        }
        let keys: Vec<VerificationKey> = raw.keys.into_iter().filter_map(usable_key).collect();
        if keys.is_empty() {
            return Err(JwksError::NoUsableKeys);
        }
        Ok(Self { keys })
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key for a token signed with `alg`: the key with that `kid` that fits the
    /// algorithm, or, for a token without `kid`, the only key that fits.
    pub(crate) fn find(&self, kid: Option<&str>, alg: JwtAlgorithm) -> Option<&DecodingKey> {
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid) && k.fits(alg))
                .map(|k| &k.key),
            None => {
                let mut fitting = self.keys.iter().filter(|k| k.fits(alg));
                match (fitting.next(), fitting.next()) {
                    (Some(only), None) => Some(&only.key),
                    _ => None,
                }
            }
        }
    }

    /// Whether any key carries this `kid` (whatever its algorithm).
    pub(crate) fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }
}

fn usable_key(value: serde_json::Value) -> Option<VerificationKey> {
    let jwk: Jwk = serde_json::from_value(value).ok()?;
    let common = &jwk.common;
    if matches!(&common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    if let Some(ops) = &common.key_operations
        && !ops.iter().any(|op| matches!(op, KeyOperations::Verify))
    {
        return None;
    }
    let alg = match &common.key_algorithm {
        Some(key_alg) => Some(JwtAlgorithm::from_jose_name(&key_alg.to_string())?),
        None => None,
    };
    let family = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => KeyFamily::Rsa,
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => KeyFamily::EcP256,
            EllipticCurve::P384 => KeyFamily::EcP384,
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            KeyFamily::Ed25519
        }
        _ => return None,
    };
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some(VerificationKey {
        kid: common.key_id.clone(),
        family,
        alg,
        key,
    })
}
