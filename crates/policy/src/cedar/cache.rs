//! Per-snapshot cache of everything about a request that does not change from call to
//! call: the policies whose scope can match it (the slice) and the principal, action and
//! resource entities. Slicing, building the entities and their transitive closure are most
//! of Cedar's per-request cost outside the evaluation itself, and a principal calls the
//! same few tools again and again.
//!
//! The cache belongs to one [`super::PolicyStore`]: a reload builds a new store and so an
//! empty cache. The key holds every input the entry is built from (principal kind, id,
//! tenant and roles; the target and its classification), so a changed identity is a
//! different key.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use cedar_policy::{Entities, EntityUid};

use super::slice::Slice;

/// Most request shapes cached; the cache is cleared when full.
pub(crate) const MAX_ENTRIES: usize = 4096;

/// The entities of one request shape and the policies that apply to it.
#[derive(Debug)]
pub(crate) struct Built {
    pub(crate) slice: Arc<Slice>,
    pub(crate) principal: EntityUid,
    pub(crate) action: EntityUid,
    pub(crate) resource: EntityUid,
    pub(crate) entities: Entities,
}

/// The cache: `None` records that no policy applies to the shape. Keys are
/// length-prefixed, so no two different inputs share one.
#[derive(Debug, Default)]
pub(crate) struct EntityCache {
    map: Mutex<HashMap<String, Option<Arc<Built>>>>,
}

impl Clone for EntityCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl EntityCache {
    /// The entry for `key`, built (and remembered) on a miss. Errors are not remembered.
    pub(crate) fn get_or_build<E>(
        &self,
        key: &str,
        build: impl FnOnce() -> Result<Option<Built>, E>,
    ) -> Result<Option<Arc<Built>>, E> {
        if let Some(b) = self
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
        {
            return Ok(b.clone());
        }
        let built = build()?.map(Arc::new);
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key.to_owned(), built.clone());
        Ok(built)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// Appends `parts` to `key`, each as `<byte length>:<text>`.
pub(crate) fn push_parts<'a>(key: &mut String, parts: impl IntoIterator<Item = &'a str>) {
    for p in parts {
        let _ = write!(key, "{}:{p}", p.len());
    }
    key.push('|');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_do_not_collide_on_separators() {
        let mut a = String::new();
        push_parts(&mut a, ["a|1:b", "c"]);
        let mut b = String::new();
        push_parts(&mut b, ["a", "b", "c"]);
        assert_ne!(a, b);
    }

    #[test]
    fn builds_once_per_key_and_stays_bounded() {
        let cache = EntityCache::default();
        let mut builds = 0;
        for round in 0..2 {
            for i in 0..10 {
                let got = cache.get_or_build(&i.to_string(), || {
                    builds += 1;
                    Ok::<_, ()>(None)
                });
                assert!(got.is_ok_and(|b| b.is_none()), "round {round}");
            }
        }
        assert_eq!(builds, 10, "the second round is served from the cache");
        for i in 10..MAX_ENTRIES + 10 {
            let _ = cache.get_or_build(&i.to_string(), || Ok::<_, ()>(None));
            assert!(cache.len() <= MAX_ENTRIES);
        }
    }

    #[test]
    fn errors_are_not_remembered() {
        let cache = EntityCache::default();
        assert!(
            cache
                .get_or_build("k", || Err::<Option<Built>, _>(()))
                .is_err()
        );
        assert_eq!(cache.len(), 0);
        assert!(cache.get_or_build("k", || Ok::<_, ()>(None)).is_ok());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_clone_starts_empty() {
        let cache = EntityCache::default();
        let _ = cache.get_or_build("k", || Ok::<_, ()>(None));
        assert_eq!(cache.clone().len(), 0);
    }
}
