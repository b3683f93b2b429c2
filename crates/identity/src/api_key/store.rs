//! The key store: a JSON file of [`ApiKeyRecord`]s, written atomically with mode 0600.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::KeyStoreError;
use super::format::{self, ApiKeyPlaintext};
use super::record::{self, ApiKeyRecord, NewApiKey};
use crate::error::AuthError;
use crate::identity::{AuthMethod, Identity, IdentityAttributes};
use crate::secret::SecretBytes;

const STORE_VERSION: u32 = 1;

/// The on-disk document.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreFile {
    version: u32,
    keys: Vec<ApiKeyRecord>,
}

/// A record with its parsed hash and networks.
#[derive(Clone)]
struct StoredKey {
    record: ApiKeyRecord,
    hash: Vec<u8>,
    networks: Vec<IpNet>,
}

/// API keys, verified in constant time against keyed hashes.
pub struct KeyStore {
    path: PathBuf,
    hmac_key: hmac::Key,
    keys: RwLock<BTreeMap<String, StoredKey>>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl KeyStore {
    /// Opens the store at `path` (a missing file is an empty store), keyed by
    /// `server_secret` (at least 32 bytes).
    pub fn open(
        path: impl Into<PathBuf>,
        server_secret: &SecretBytes,
    ) -> Result<Self, KeyStoreError> {
        if server_secret.len() < 32 {
            return Err(KeyStoreError::WeakSecret);
        }
        let path = path.into();
        let keys = read_store(&path)?;
        Ok(Self {
            hmac_key: hmac::Key::new(hmac::HMAC_SHA256, server_secret.expose()),
            keys: RwLock::new(keys),
            path,
        })
    }

    /// Re-reads the file (after `sallyport keys …` changed it).
    pub fn reload(&self) -> Result<(), KeyStoreError> {
        let keys = read_store(&self.path)?;
        *self.keys.write().map_err(|_| poisoned(&self.path))? = keys;
        Ok(())
    }

    /// Creates a key. Returns the plaintext, to show once, and the stored record.
    pub fn create(
        &self,
        request: NewApiKey,
        now: SystemTime,
    ) -> Result<(ApiKeyPlaintext, ApiKeyRecord), KeyStoreError> {
        let networks = request.validate(now)?;
        self.mutate(|keys| {
            let (prefix, plaintext) = loop {
                let (prefix, plaintext) = format::generate()?;
                if !keys.contains_key(&prefix) {
                    break (prefix, plaintext);
                }
            };
            let hash = hmac::sign(&self.hmac_key, plaintext.expose().as_bytes())
                .as_ref()
                .to_vec();
            let record = ApiKeyRecord {
                prefix: prefix.clone(),
                principal_id: request
                    .principal_id
                    .clone()
                    .unwrap_or_else(|| format!("api_key:{}", request.name)),
                name: request.name.clone(),
                kind: request.kind,
                tenant: request.tenant.clone(),
                roles: request.roles.clone(),
                scopes: request.scopes.clone(),
                created_at: record::to_unix(now),
                expires_at: request.expires_at.map(record::to_unix),
                allowed_cidrs: networks.iter().map(ToString::to_string).collect(),
                revoked: false,
                revoked_at: None,
                key_hash: hex::encode(&hash),
            };
            keys.insert(
                prefix,
                StoredKey {
                    record: record.clone(),
                    hash,
                    networks: networks.clone(),
                },
            );
            Ok((plaintext, record))
        })
    }

    /// Every key's record, by prefix.
    pub fn list(&self) -> Vec<ApiKeyRecord> {
        self.keys
            .read()
            .map(|keys| keys.values().map(|k| k.record.clone()).collect())
            .unwrap_or_default()
    }

    /// Revokes the key with `prefix`. Revoking twice is not an error.
    pub fn revoke(&self, prefix: &str, now: SystemTime) -> Result<ApiKeyRecord, KeyStoreError> {
        self.mutate(|keys| {
            let stored = keys
                .get_mut(prefix)
                .ok_or_else(|| KeyStoreError::UnknownPrefix(prefix.to_owned()))?;
            if !stored.record.revoked {
                stored.record.revoked = true;
                stored.record.revoked_at = Some(record::to_unix(now));
            }
            Ok(stored.record.clone())
        })
    }

    /// Verifies a presented key from `source_ip` at `now`.
    ///
    /// The hash comparison is constant-time (`aws_lc_rs::hmac::verify`), and an unknown
    /// prefix costs the same HMAC as a known one. Revocation, expiry and the source
    /// networks are checked only once the key itself is proven.
    pub fn verify(
        &self,
        presented: &str,
        source_ip: Option<IpAddr>,
        now: SystemTime,
    ) -> Result<Identity, AuthError> {
        let prefix = format::parse_prefix(presented).ok_or(AuthError::Malformed)?;
        let keys = self.keys.read().map_err(|_| AuthError::InvalidApiKey)?;
        let Some(stored) = keys.get(prefix) else {
            // Same work as for a known prefix; the result is ignored.
            let _ = hmac::verify(&self.hmac_key, presented.as_bytes(), &[0u8; 32]);
            return Err(AuthError::InvalidApiKey);
        };
        hmac::verify(&self.hmac_key, presented.as_bytes(), &stored.hash)
            .map_err(|_| AuthError::InvalidApiKey)?;
        let record = &stored.record;
        if record.revoked {
            return Err(AuthError::ApiKeyRevoked);
        }
        if record.expiry().is_some_and(|expiry| now >= expiry) {
            return Err(AuthError::ApiKeyExpired);
        }
        if !stored.networks.is_empty() {
            let source = source_ip.map(|ip| ip.to_canonical());
            if !source.is_some_and(|ip| stored.networks.iter().any(|net| net.contains(&ip))) {
                return Err(AuthError::SourceNotAllowed);
            }
        }
        Ok(identity_for(record, source_ip, now))
    }

    /// Applies a change to a fresh copy of the file's keys, writes it, then publishes it.
    fn mutate<T>(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, StoredKey>) -> Result<T, KeyStoreError>,
    ) -> Result<T, KeyStoreError> {
        let mut current = self.keys.write().map_err(|_| poisoned(&self.path))?;
        // Re-read: another process (the CLI, another gateway) may have changed the file.
        let mut next = read_store(&self.path)?;
        let outcome = change(&mut next)?;
        write_store(&self.path, &next)?;
        *current = next;
        Ok(outcome)
    }
}

fn identity_for(record: &ApiKeyRecord, source_ip: Option<IpAddr>, now: SystemTime) -> Identity {
    let mut attributes = IdentityAttributes::new(AuthMethod::ApiKey);
    attributes.auth_time = Some(now);
    attributes.expires_at = record.expiry();
    attributes.source_ip = source_ip;
    attributes.scopes = record.scopes.clone();
    attributes.issuer = Some("api_key".to_owned());
    attributes.credential_id = Some(record.prefix.clone());
    attributes.account_created =
        UNIX_EPOCH.checked_add(std::time::Duration::from_secs(record.created_at));
    Identity {
        id: record.principal_id.clone(),
        kind: record.kind,
        tenant: record.tenant.clone(),
        roles: record.roles.clone(),
        permissions: Vec::new(),
        attributes,
    }
}

fn read_store(path: &Path) -> Result<BTreeMap<String, StoredKey>, KeyStoreError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(source) => {
            return Err(KeyStoreError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    let corrupt = |message: String| KeyStoreError::Corrupt {
        path: path.to_owned(),
        message,
    };
    let file: StoreFile = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    if file.version != STORE_VERSION {
        return Err(corrupt(format!("unsupported version {}", file.version)));
    }
    let mut keys = BTreeMap::new();
    for record in file.keys {
        if !format::is_prefix(&record.prefix) {
            return Err(corrupt(format!("invalid prefix {:?}", record.prefix)));
        }
        let hash = hex::decode(&record.key_hash)
            .ok()
            .filter(|h| h.len() == 32)
            .ok_or_else(|| corrupt(format!("key {}: invalid hash", record.prefix)))?;
        let networks = record
            .allowed_cidrs
            .iter()
            .map(|c| record::parse_cidr(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| corrupt(format!("key {}: {e}", record.prefix)))?;
        let prefix = record.prefix.clone();
        if keys
            .insert(
                prefix.clone(),
                StoredKey {
                    record,
                    hash,
                    networks,
                },
            )
            .is_some()
        {
            return Err(corrupt(format!("duplicate prefix {prefix}")));
        }
    }
    Ok(keys)
}

/// Writes to a temporary file (mode 0600) in the same directory, syncs, and renames
/// it over the store, so readers see the old or the new file, never a partial one.
fn write_store(path: &Path, keys: &BTreeMap<String, StoredKey>) -> Result<(), KeyStoreError> {
    let io = |source| KeyStoreError::Io {
        path: path.to_owned(),
        source,
    };
    let file = StoreFile {
        version: STORE_VERSION,
        keys: keys.values().map(|k| k.record.clone()).collect(),
    };
    let mut json = serde_json::to_vec_pretty(&file).map_err(|e| io(std::io::Error::other(e)))?;
    json.push(b'\n');
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut nonce = [0u8; 8];
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| KeyStoreError::Random)?;
    let temp = dir.join(format!(".{file_name}.{}.tmp", hex::encode(nonce)));
    let result = (|| {
        let mut out = create_private(&temp)?;
        out.write_all(&json)?;
        out.sync_all()?;
        std::fs::rename(&temp, path)?;
        // Persist the rename itself; not every platform can open a directory.
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(io)
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

fn poisoned(path: &Path) -> KeyStoreError {
    KeyStoreError::Corrupt {
        path: path.to_owned(),
        message: "store lock poisoned".to_owned(),
    }
}
