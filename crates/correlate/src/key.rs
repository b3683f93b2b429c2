//! Group keys as 64-bit hashes, so tracking a key never copies its strings.
//!
//! The hash is FxHash-style (a multiply–rotate over 8-byte words) finished with the
//! MurmurHash3 64-bit mixer. It is fast and not keyed: two different keys share a hash with
//! a chance of about 2⁻⁶⁴ per pair, and then count as one key. An attacker who could choose
//! colliding values would only merge their own counters, never split anyone else's.

use std::hash::{BuildHasherDefault, Hasher};

use crate::event::{CorrelationEvent, KeyField};

/// FxHash's multiplier.
const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
/// Written after each field value: a byte that never occurs in UTF-8.
const FIELD_END: u8 = 0xff;

/// A fast hasher for short strings (kinds, key values).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(word);
            self.add(u64::from_le_bytes(buf));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            // The last byte is free (at most 7 are used): it carries the length, so "ab"
            // and "ab\0" differ.
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            buf[7] = rest.len() as u8;
            self.add(u64::from_le_bytes(buf));
        }
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    #[inline]
    fn write_u64(&mut self, word: u64) {
        self.add(word);
    }

    #[inline]
    fn finish(&self) -> u64 {
        mix(self.hash)
    }
}

/// MurmurHash3's 64-bit finaliser: every input bit affects every output bit.
#[inline]
fn mix(mut hash: u64) -> u64 {
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

/// `HashMap` hasher state for string-keyed maps.
pub(crate) type FxBuildHasher = BuildHasherDefault<FxHasher>;

/// The hash of the values of `fields` in `event`, or `None` if one is missing.
pub(crate) fn key_hash(event: &CorrelationEvent<'_>, fields: &[KeyField]) -> Option<u64> {
    let mut hasher = FxHasher::default();
    for &field in fields {
        hasher.write(event.field(field)?.as_bytes());
        hasher.write_u8(FIELD_END);
    }
    Some(hasher.finish())
}

/// Index of a list of key fields interned by [`KeyHashes::intern`].
pub(crate) type KeySpec = usize;

/// Per-event cache of key hashes: rules that group by the same fields hash them once.
#[derive(Debug, Default)]
pub(crate) struct KeyHashes {
    specs: Vec<Box<[KeyField]>>,
    cached: Vec<CachedHash>,
    epoch: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct CachedHash {
    epoch: u64,
    hash: Option<u64>,
}

impl KeyHashes {
    /// The spec for `fields`, added if new.
    pub(crate) fn intern(&mut self, fields: &[KeyField]) -> KeySpec {
        if let Some(at) = self.specs.iter().position(|spec| **spec == *fields) {
            return at;
        }
        self.specs.push(fields.into());
        self.cached.push(CachedHash::default());
        self.specs.len() - 1
    }

    /// Forgets the previous event's hashes.
    #[inline]
    pub(crate) fn next_event(&mut self) {
        self.epoch += 1;
    }

    /// The hash of `spec`'s fields in `event` (the event since the last `next_event`).
    #[inline]
    pub(crate) fn hash(&mut self, spec: KeySpec, event: &CorrelationEvent<'_>) -> Option<u64> {
        let (Some(cached), Some(fields)) = (self.cached.get_mut(spec), self.specs.get(spec)) else {
            return key_hash(event, &[]);
        };
        if cached.epoch != self.epoch {
            *cached = CachedHash {
                epoch: self.epoch,
                hash: key_hash(event, fields),
            };
        }
        cached.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_boundaries_and_padding_change_the_hash() {
        let both = [KeyField::Principal, KeyField::Tool];
        let a = CorrelationEvent::new("k", 0)
            .with_principal("ab")
            .with_tool("c");
        let b = CorrelationEvent::new("k", 0)
            .with_principal("a")
            .with_tool("bc");
        assert_ne!(key_hash(&a, &both), key_hash(&b, &both));
        let c = CorrelationEvent::new("k", 0).with_principal("ab\0");
        let d = CorrelationEvent::new("k", 0).with_principal("ab");
        let principal = [KeyField::Principal];
        assert_ne!(key_hash(&c, &principal), key_hash(&d, &principal));
    }

    #[test]
    fn missing_field_means_no_key() {
        let event = CorrelationEvent::new("k", 0).with_principal("alice");
        assert!(key_hash(&event, &[KeyField::SourceIp]).is_none());
        assert!(key_hash(&event, &[]).is_some());
    }

    #[test]
    fn cache_follows_events() {
        let mut hashes = KeyHashes::default();
        let spec = hashes.intern(&[KeyField::Principal]);
        assert_eq!(spec, hashes.intern(&[KeyField::Principal]));
        let alice = CorrelationEvent::new("k", 0).with_principal("alice");
        let bob = CorrelationEvent::new("k", 0).with_principal("bob");
        hashes.next_event();
        let first = hashes.hash(spec, &alice);
        hashes.next_event();
        let second = hashes.hash(spec, &bob);
        assert_ne!(first, second);
    }
}
