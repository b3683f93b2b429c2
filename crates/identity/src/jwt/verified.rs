//! A bounded cache of tokens whose signature and claims were verified: the same bearer token
//! on its next request skips the signature check (tens of microseconds for RS256, ES256 and
//! EdDSA) but not the checks that can change while it is cached.
//!
//! An entry is keyed by the SHA-256 of the whole token and remembers the key set it was
//! verified with. A hit is used only if that key set is still the current one (a refresh
//! that drops or rotates keys empties the cache in effect), the token has not expired (with
//! the configured skew), and its `jti` is not revoked; anything else falls through to the full
//! verification, which also produces the precise error. Only successes are cached, so an
//! attacker's invalid tokens cost a full check every time and cannot evict anything but
//! expired entries first.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::{Duration, SystemTime};

use aws_lc_rs::digest::{SHA256, digest};

use super::KeySet;
use crate::identity::Identity;

/// Most tokens remembered; past this, expired entries go first, then all.
pub(crate) const MAX_VERIFIED_TOKENS: usize = 10_000;

type TokenDigest = [u8; 32];

struct Entry {
    identity: Identity,
    /// The key set the token was verified with; a different current set is a miss.
    keys: Weak<KeySet>,
}

/// Verified tokens, bounded.
#[derive(Default)]
pub(crate) struct VerifiedTokens {
    entries: RwLock<HashMap<TokenDigest, Entry>>,
}

impl VerifiedTokens {
    /// The digest a token is remembered by.
    pub(crate) fn digest(token: &str) -> TokenDigest {
        let mut out = [0u8; 32];
        out.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
        out
    }

    /// The identity of a token verified earlier with `keys`, if it is still usable at
    /// `now`: not expired (allowing `skew`) and its `jti` not revoked.
    pub(crate) fn get(
        &self,
        token: &TokenDigest,
        keys: &Arc<KeySet>,
        now: SystemTime,
        skew: Duration,
        revoked: impl Fn(&str) -> bool,
    ) -> Option<Identity> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get(token)?;
        if !std::ptr::eq(entry.keys.as_ptr(), Arc::as_ptr(keys)) {
            return None;
        }
        let attributes = &entry.identity.attributes;
        let live = attributes.expires_at.is_some_and(|exp| now <= exp + skew);
        let jti_revoked = attributes.credential_id.as_deref().is_some_and(&revoked);
        (live && !jti_revoked).then(|| entry.identity.clone())
    }

    /// Remembers a token verified with `keys`.
    pub(crate) fn insert(
        &self,
        token: TokenDigest,
        keys: &Arc<KeySet>,
        identity: &Identity,
        now: SystemTime,
    ) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_VERIFIED_TOKENS {
            entries.retain(|_, e| {
                e.identity
                    .attributes
                    .expires_at
                    .is_some_and(|exp| now <= exp)
            });
            if entries.len() >= MAX_VERIFIED_TOKENS {
                entries.clear();
            }
        }
        entries.insert(
            token,
            Entry {
                identity: identity.clone(),
                keys: Arc::downgrade(keys),
            },
        );
    }

    /// How many tokens are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{AuthMethod, IdentityAttributes, IdentityKind};

    fn identity(expires_at: SystemTime) -> Identity {
        let mut attributes = IdentityAttributes::new(AuthMethod::Jwt);
        attributes.expires_at = Some(expires_at);
        Identity {
            id: "alice".into(),
            kind: IdentityKind::User,
            tenant: None,
            roles: Vec::new(),
            permissions: Vec::new(),
            attributes,
        }
    }

    #[test]
    fn the_cache_stays_bounded_and_drops_expired_tokens_first() {
        let cache = VerifiedTokens::default();
        let keys = Arc::new(KeySet::default());
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let past = now - Duration::from_secs(10);
        let future = now + Duration::from_secs(3600);
        for i in 0..MAX_VERIFIED_TOKENS {
            let exp = if i % 2 == 0 { past } else { future };
            cache.insert(
                VerifiedTokens::digest(&format!("t{i}")),
                &keys,
                &identity(exp),
                now,
            );
        }
        assert_eq!(cache.len(), MAX_VERIFIED_TOKENS);
        let fresh = VerifiedTokens::digest("fresh");
        cache.insert(fresh, &keys, &identity(future), now);
        assert_eq!(
            cache.len(),
            MAX_VERIFIED_TOKENS / 2 + 1,
            "expired ones went first"
        );
        let hit = cache.get(&fresh, &keys, now, Duration::ZERO, |_| false);
        assert!(hit.is_some());
        // Another key set: a miss, even for the same token.
        let other = Arc::new(KeySet::default());
        assert!(
            cache
                .get(&fresh, &other, now, Duration::ZERO, |_| false)
                .is_none()
        );
    }
}
