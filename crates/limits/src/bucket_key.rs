//! Bucket keys of the in-process limiter: a 128-bit SipHash-1-3 of the key's parts under a
//! random key of the limiter, so a check hashes each part once and its bucket lookups hash
//! and compare one integer instead of building, hashing and comparing strings.
//!
//! Two different keys share a bucket only if their 128-bit keyed hashes are equal: by chance
//! with probability 2⁻¹²⁸, and on purpose only for someone who knows the limiter's random key,
//! which never leaves the process.

use std::hash::{BuildHasher, Hasher};

use siphasher::sip128::{Hasher128, SipHasher13};

use crate::rule::BucketKeyKind;
use crate::subject::Subject;

/// The key of one bucket.
pub(crate) type BucketKey = u128;

/// Hashes key parts under the limiter's random key.
#[derive(Debug, Clone)]
pub(crate) struct KeyHasher {
    k0: u64,
    k1: u64,
}

impl KeyHasher {
    /// A hasher with a fresh random key.
    pub(crate) fn random() -> Self {
        Self {
            k0: rand::random(),
            k1: rand::random(),
        }
    }

    /// The key of `parts`: each is length-prefixed, so no two part lists share a text.
    fn key(&self, parts: &[&str]) -> BucketKey {
        let mut h = SipHasher13::new_with_keys(self.k0, self.k1);
        for part in parts {
            h.write_usize(part.len());
            h.write(part.as_bytes());
        }
        h.finish128().as_u128()
    }
}

/// The bucket keys of one subject, each hashed at most once per check.
pub(crate) struct LocalKeys<'s, 'a> {
    subject: &'s Subject<'a>,
    hasher: &'s KeyHasher,
    built: [Option<BucketKey>; 4],
}

impl<'s, 'a> LocalKeys<'s, 'a> {
    pub(crate) fn new(subject: &'s Subject<'a>, hasher: &'s KeyHasher) -> Self {
        Self {
            subject,
            hasher,
            built: [None; 4],
        }
    }

    /// The key of `kind` for this subject.
    pub(crate) fn get(&mut self, kind: BucketKeyKind) -> BucketKey {
        let (slot, parts): (usize, &[&str]) = match kind {
            BucketKeyKind::Global => return 0,
            BucketKeyKind::Principal => (1, &[self.subject.principal_id]),
            BucketKeyKind::Tool => (2, &[self.subject.tool.unwrap_or_default()]),
            BucketKeyKind::PrincipalAndTool => (
                3,
                &[
                    self.subject.principal_id,
                    self.subject.tool.unwrap_or_default(),
                ],
            ),
        };
        let hasher = self.hasher;
        *self.built[slot].get_or_insert_with(|| hasher.key(parts))
    }
}

/// The bucket maps' hasher: a [`BucketKey`] already is a uniform keyed hash, so its low 64
/// bits are the map hash as they are.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PassThrough;

impl BuildHasher for PassThrough {
    type Hasher = PassThroughHasher;

    fn build_hasher(&self) -> PassThroughHasher {
        PassThroughHasher(0)
    }
}

/// See [`PassThrough`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct PassThroughHasher(u64);

impl Hasher for PassThroughHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` is used for bucket keys; anything else is folded in all the same.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u128(&mut self, value: u128) {
        self.0 ^= value as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subject::SubjectKind;

    fn subject<'a>(principal: &'a str, tool: Option<&'a str>) -> Subject<'a> {
        Subject {
            principal_id: principal,
            kind: SubjectKind::User,
            tenant: None,
            tool,
        }
    }

    #[test]
    fn keys_tell_apart_what_their_texts_tell_apart() {
        let h = KeyHasher::random();
        let key = |p: &str, t: Option<&str>, kind: BucketKeyKind| {
            LocalKeys::new(&subject(p, t), &h).get(kind)
        };
        let pt = BucketKeyKind::PrincipalAndTool;
        assert_eq!(key("alice", Some("run"), pt), key("alice", Some("run"), pt));
        // Moving text across the boundary of the parts gives another key.
        assert_ne!(key("alice", Some("run"), pt), key("alicer", Some("un"), pt));
        assert_ne!(
            key("alice", None, BucketKeyKind::Principal),
            key("bob", None, BucketKeyKind::Principal)
        );
        assert_eq!(
            key("alice", None, BucketKeyKind::Global),
            key("bob", None, BucketKeyKind::Global)
        );
    }

    #[test]
    fn two_limiters_key_the_same_text_differently() {
        let s = subject("alice", None);
        let a = LocalKeys::new(&s, &KeyHasher::random()).get(BucketKeyKind::Principal);
        let b = LocalKeys::new(&s, &KeyHasher::random()).get(BucketKeyKind::Principal);
        assert_ne!(a, b);
    }
}
