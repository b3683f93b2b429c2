//! Ed25519 checkpoint signing: the key file, the public key for verifiers, and checkpoints.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::canonical::{Hash, sha256};

/// Domain-separation prefix of the signed checkpoint message.
const CHECKPOINT_DOMAIN: &[u8] = b"sallyport-audit-checkpoint-v1\0";
/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410) before the 32 key bytes.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Why a key could not be loaded, created or parsed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Reading or writing the key file failed.
    #[error("audit signing key {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not an Ed25519 PKCS#8 key.
    #[error("audit signing key {path}: not an Ed25519 PKCS#8 key: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// The private key file is readable by group or others.
    #[error("audit signing key {path}: mode {mode:o} is too open; use 0600")]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Key generation failed.
    #[error("generating an Ed25519 key failed")]
    Generate,
    /// A public key was not 32 bytes of hex or an Ed25519 SPKI PEM.
    #[error("not an Ed25519 public key (expected PEM SubjectPublicKeyInfo or 64 hex characters)")]
    BadPublicKey,
}

/// The private checkpoint-signing key.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    public: VerifyingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &self.public.key_id())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Load the PKCS#8 key at `path`, creating it (mode 0600) if the file does not exist.
    /// An existing file readable by group or others is refused.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) => {
                let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(KeyError::TooOpen {
                        path: path.to_owned(),
                        mode,
                    });
                }
                Self::from_pkcs8(&bytes).map_err(|reason| KeyError::Invalid {
                    path: path.to_owned(),
                    reason,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                    .map_err(|_| KeyError::Generate)?;
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(io)?;
                file.write_all(doc.as_ref()).map_err(io)?;
                file.sync_all().map_err(io)?;
                Self::from_pkcs8(doc.as_ref()).map_err(|reason| KeyError::Invalid {
                    path: path.to_owned(),
                    reason,
                })
            }
            Err(e) => Err(io(e)),
        }
    }

    /// A fresh in-memory key (tests, ephemeral logs).
    pub fn generate() -> Result<Self, KeyError> {
        let doc =
            Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| KeyError::Generate)?;
        Self::from_pkcs8(doc.as_ref()).map_err(|_| KeyError::Generate)
    }

    fn from_pkcs8(bytes: &[u8]) -> Result<Self, String> {
        let pair = Ed25519KeyPair::from_pkcs8(bytes).map_err(|e| e.to_string())?;
        let mut public = [0u8; 32];
        public.copy_from_slice(pair.public_key().as_ref());
        Ok(Self {
            pair,
            public: VerifyingKey { bytes: public },
        })
    }

    /// The public half, for verifiers.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }

    /// A detached Ed25519 signature over `message` under the domain `context` (so a signed
    /// report can never pass for a checkpoint): signs `sallyport-<context>-v1\n` + message.
    pub fn sign_detached(&self, context: &str, message: &[u8]) -> Vec<u8> {
        self.pair
            .sign(&detached_message(context, message))
            .as_ref()
            .to_vec()
    }

    /// Sign the checkpoint for `(seq, hash)` at `time_unix_ms`.
    pub fn checkpoint(&self, seq: u64, hash: Hash, time_unix_ms: u64) -> Checkpoint {
        let message = checkpoint_message(seq, &hash, time_unix_ms);
        let signature = self.pair.sign(&message).as_ref().to_vec();
        Checkpoint {
            seq,
            hash,
            time_unix_ms,
            signature,
            key_id: self.public.key_id(),
        }
    }
}

/// The public checkpoint-verification key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey {
    bytes: [u8; 32],
}

impl VerifyingKey {
    /// From the 32 raw key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self { bytes }
    }

    /// The 32 raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// Key id: the first 16 hex characters of SHA-256 over the raw key.
    pub fn key_id(&self) -> String {
        hex::encode(&sha256(&self.bytes)[..8])
    }

    /// PEM SubjectPublicKeyInfo (`openssl pkey -pubin` reads it).
    pub fn to_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.bytes);
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(der)
        )
    }

    /// Parse PEM SubjectPublicKeyInfo or 64 hex characters.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let raw = if text.starts_with("-----BEGIN PUBLIC KEY-----") {
            let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
            let der = STANDARD
                .decode(b64.trim())
                .map_err(|_| KeyError::BadPublicKey)?;
            match der.strip_prefix(&SPKI_PREFIX[..]) {
                Some(rest) => rest.to_vec(),
                None => return Err(KeyError::BadPublicKey),
            }
        } else {
            hex::decode(text).map_err(|_| KeyError::BadPublicKey)?
        };
        let bytes: [u8; 32] = raw.try_into().map_err(|_| KeyError::BadPublicKey)?;
        Ok(Self { bytes })
    }

    /// Write the PEM public key to `path` (mode 0644).
    pub fn write_pem(&self, path: &Path) -> Result<(), KeyError> {
        std::fs::write(path, self.to_pem()).map_err(|source| KeyError::Io {
            path: path.to_owned(),
            source,
        })
    }

    /// Check a signature made by [`SigningKey::sign_detached`] with the same `context`.
    pub fn verify_detached(&self, context: &str, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.bytes)
            .verify(&detached_message(context, message), signature)
            .is_ok()
    }

    /// Check a checkpoint's signature.
    pub fn verify_checkpoint(&self, cp: &Checkpoint) -> bool {
        let message = checkpoint_message(cp.seq, &cp.hash, cp.time_unix_ms);
        cp.key_id == self.key_id()
            && UnparsedPublicKey::new(&ED25519, &self.bytes)
                .verify(&message, &cp.signature)
                .is_ok()
    }
}

/// A signed statement "the chain had head `hash` at `seq`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Sequence number of the head.
    pub seq: u64,
    /// Hash of the head.
    pub hash: Hash,
    /// When it was signed, ms since the epoch.
    pub time_unix_ms: u64,
    /// Ed25519 signature over [`checkpoint_message`].
    pub signature: Vec<u8>,
    /// Id of the signing key ([`VerifyingKey::key_id`]).
    pub key_id: String,
}

/// The signed bytes: `"sallyport-audit-checkpoint-v1\0" ‖ u64_be(seq) ‖ hash ‖ u64_be(time_unix_ms)`.
pub fn checkpoint_message(seq: u64, hash: &Hash, time_unix_ms: u64) -> Vec<u8> {
    let mut m = Vec::with_capacity(CHECKPOINT_DOMAIN.len() + 48);
    m.extend_from_slice(CHECKPOINT_DOMAIN);
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(hash);
    m.extend_from_slice(&time_unix_ms.to_be_bytes());
    m
}

fn detached_message(context: &str, message: &[u8]) -> Vec<u8> {
    let mut out = format!("sallyport-{context}-v1\n").into_bytes();
    out.extend_from_slice(message);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn detached_signatures_verify_only_in_their_context_and_unchanged() {
        let key = SigningKey::generate().unwrap();
        let sig = key.sign_detached("compliance-report", b"{\"a\":1}");
        let public = key.verifying_key();
        assert!(public.verify_detached("compliance-report", b"{\"a\":1}", &sig));
        assert!(!public.verify_detached("compliance-report", b"{\"a\":2}", &sig));
        assert!(!public.verify_detached("checkpoint", b"{\"a\":1}", &sig));
    }

    #[test]
    fn key_file_is_created_0600_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pk8");
        let a = SigningKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let b = SigningKey::load_or_create(&path).unwrap();
        assert_eq!(a.verifying_key(), b.verifying_key());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            SigningKey::load_or_create(&path),
            Err(KeyError::TooOpen { .. })
        ));
    }

    #[test]
    fn checkpoint_signature_round_trips_and_pem_parses() {
        let key = SigningKey::generate().unwrap();
        let cp = key.checkpoint(7, [9; 32], 1000);
        let public = VerifyingKey::parse(&key.verifying_key().to_pem()).unwrap();
        assert!(public.verify_checkpoint(&cp));
        let mut forged = cp.clone();
        forged.seq = 8;
        assert!(!public.verify_checkpoint(&forged));
        let hex = hex::encode(public.as_bytes());
        assert_eq!(VerifyingKey::parse(&hex).unwrap(), public);
    }
}
