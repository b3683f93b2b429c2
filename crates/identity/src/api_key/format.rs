//! Generating and parsing the `sp_<prefix>_<secret>` format.

use std::fmt;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::KeyStoreError;

/// Every API key starts with this.
pub const KEY_PREFIX: &str = "sp_";
/// Length of the visible prefix.
pub const PREFIX_LEN: usize = 8;
/// Length of the secret part: 32 bytes in unpadded base64url.
pub const SECRET_LEN: usize = 43;

const PREFIX_ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A newly created key, shown to its owner once. `Debug` and `Display` redact it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyPlaintext(String);

impl ApiKeyPlaintext {
    /// The key itself, to print once to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKeyPlaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A fresh key and its prefix.
pub(crate) fn generate() -> Result<(String, ApiKeyPlaintext), KeyStoreError> {
    let rng = SystemRandom::new();
    let mut prefix_bytes = [0u8; PREFIX_LEN];
    let mut secret = [0u8; 32];
    rng.fill(&mut prefix_bytes)
        .map_err(|_| KeyStoreError::Random)?;
    rng.fill(&mut secret).map_err(|_| KeyStoreError::Random)?;
    let prefix: String = prefix_bytes
        .iter()
        .map(|b| char::from(PREFIX_ALPHABET[usize::from(*b) % PREFIX_ALPHABET.len()]))
        .collect();
    let key = format!("{KEY_PREFIX}{prefix}_{}", URL_SAFE_NO_PAD.encode(secret));
    Ok((prefix, ApiKeyPlaintext(key)))
}

/// The prefix of a well-formed key, or `None`.
pub(crate) fn parse_prefix(presented: &str) -> Option<&str> {
    let rest = presented.strip_prefix(KEY_PREFIX)?;
    let (prefix, secret) = rest.split_once('_')?;
    let prefix_ok =
        prefix.len() == PREFIX_LEN && prefix.bytes().all(|b| PREFIX_ALPHABET.contains(&b));
    let secret_ok = secret.len() == SECRET_LEN
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (prefix_ok && secret_ok).then_some(prefix)
}

/// Whether `prefix` has the shape of a key prefix.
pub(crate) fn is_prefix(prefix: &str) -> bool {
    prefix.len() == PREFIX_LEN && prefix.bytes().all(|b| PREFIX_ALPHABET.contains(&b))
}
