//! The hash chain: how an event becomes a stored, linked entry.
//!
//! `hash(n) = SHA-256( body(n) ‖ u64_be(seq(n)) ‖ prev_hash(n) )`, where `body(n)` is the
//! canonical JSON of the event (crate::canonical), `prev_hash(n) = hash(n-1)` and
//! `prev_hash(1)` is 32 zero bytes ([`GENESIS_HASH`]).

use crate::canonical::Hash;
use crate::event::AuditEvent;
use aws_lc_rs::digest;

/// `prev_hash` of the first event.
pub const GENESIS_HASH: Hash = [0u8; 32];

/// One stored event: its place in the chain, its hashes and its canonical body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEntry {
    /// Sequence number, from 1, gapless except where a retention purge recorded a gap.
    pub seq: u64,
    /// Hash of the previous entry.
    pub prev_hash: Hash,
    /// This entry's hash.
    pub hash: Hash,
    /// The event, in canonical JSON. Hashes are computed over these exact bytes.
    pub body: String,
    /// Copied from the event for indexing: its id.
    pub event_id: String,
    /// Copied from the event for indexing: its time.
    pub time_unix_ms: u64,
    /// Copied from the event for indexing: its type.
    pub event_type: String,
    /// Copied from the event for indexing: its retention class.
    pub retention_class: String,
}

/// An event encoded canonically but not yet placed in the chain.
#[derive(Debug, Clone)]
pub struct EncodedEvent {
    pub(crate) body: String,
    pub(crate) event_id: String,
    pub(crate) time_unix_ms: u64,
    pub(crate) event_type: String,
    pub(crate) retention_class: String,
}

impl EncodedEvent {
    /// Encode an event canonically.
    pub fn new(event: &AuditEvent) -> Result<Self, serde_json::Error> {
        Ok(Self {
            // Field order makes this canonical (see AuditEvent); the generic canonicaliser
            // is the reference and a test keeps the two equal.
            body: serde_json::to_string(event)?,
            event_id: event.id.clone(),
            time_unix_ms: event.time_unix_ms,
            event_type: event.event_type.clone(),
            retention_class: event.retention_class.clone(),
        })
    }

    /// Place the event at `seq` after `prev_hash`.
    pub fn seal(self, seq: u64, prev_hash: Hash) -> ChainEntry {
        let hash = entry_hash(self.body.as_bytes(), seq, &prev_hash);
        ChainEntry {
            seq,
            prev_hash,
            hash,
            body: self.body,
            event_id: self.event_id,
            time_unix_ms: self.time_unix_ms,
            event_type: self.event_type,
            retention_class: self.retention_class,
        }
    }
}

impl ChainEntry {
    /// Parse the stored body.
    pub fn event(&self) -> Result<AuditEvent, serde_json::Error> {
        serde_json::from_str(&self.body)
    }

    /// The hash recomputed from the stored body, seq and prev_hash.
    pub fn computed_hash(&self) -> Hash {
        entry_hash(self.body.as_bytes(), self.seq, &self.prev_hash)
    }

    /// The entry as one JSON Lines record: `{"seq","prev_hash","hash","event"}`.
    pub fn to_json_line(&self) -> String {
        format!(
            r#"{{"seq":{},"prev_hash":"{}","hash":"{}","event":{}}}"#,
            self.seq,
            hex::encode(self.prev_hash),
            hex::encode(self.hash),
            self.body
        )
    }
}

/// `SHA-256(body ‖ u64_be(seq) ‖ prev_hash)`.
pub fn entry_hash(body: &[u8], seq: u64, prev_hash: &Hash) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(body);
    ctx.update(&seq.to_be_bytes());
    ctx.update(prev_hash);
    let d = ctx.finish();
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The last entry of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Its sequence number (0 for an empty chain).
    pub seq: u64,
    /// Its hash ([`GENESIS_HASH`] for an empty chain).
    pub hash: Hash,
}

impl Head {
    /// The head of an empty chain.
    pub const EMPTY: Self = Self {
        seq: 0,
        hash: GENESIS_HASH,
    };
}

/// Parse a 64-character hex hash.
pub fn parse_hash(text: &str) -> Option<Hash> {
    let bytes = hex::decode(text).ok()?;
    bytes.try_into().ok()
}
