//! API keys: `sp_<prefix>_<secret>`, stored only as HMAC-SHA-256 under a server secret.
//!
//! The prefix (8 characters, `[a-z0-9]`) is visible: it names the key in listings, logs
//! and revocation, and finds its record. The secret is 32 random bytes, base64url
//! without padding (43 characters). The store keeps `HMAC-SHA-256(server secret, full
//! key)`; the plaintext is returned once by [`KeyStore::create`] and never stored.

mod format;
mod record;
mod store;

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use format::{ApiKeyPlaintext, KEY_PREFIX, PREFIX_LEN, SECRET_LEN};
pub use record::{ApiKeyRecord, NewApiKey};
pub use store::KeyStore;

use crate::secret::SecretRef;

/// API key authentication.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ApiKeyConfig {
    /// The key store, a JSON file written by `sallyport keys create|revoke` (mode 0600).
    pub store_path: PathBuf,
    /// The server secret keying the stored hashes; at least 32 bytes. Changing it
    /// invalidates every key.
    pub hmac_secret: SecretRef,
}

/// The key store cannot be read, written or changed as asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyStoreError {
    /// Reading or writing the store file failed.
    #[error("key store {path}: {source}")]
    Io {
        /// The store file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The store file is not a valid key store.
    #[error("key store {path}: {message}")]
    Corrupt {
        /// The store file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The server secret is shorter than 32 bytes.
    #[error("the API key HMAC secret must be at least 32 bytes")]
    WeakSecret,
    /// The request to create a key is invalid.
    #[error("invalid key request: {0}")]
    InvalidRequest(String),
    /// No key has this prefix.
    #[error("no API key with prefix {0}")]
    UnknownPrefix(String),
    /// The random number generator failed.
    #[error("random number generator failed")]
    Random,
}
