//! Per-snapshot cache of the request entities (principal, action, resource). Building them
//! and their transitive closure is most of Cedar's per-request cost, and a principal calls
//! the same few tools again and again.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use cedar_policy::{Entities, EntityUid};

/// Most entity sets cached; the cache is cleared when full.
const MAX_ENTRIES: usize = 4096;

/// The entities of one request shape.
#[derive(Debug)]
pub(crate) struct Built {
    pub(crate) principal: EntityUid,
    pub(crate) action: EntityUid,
    pub(crate) resource: EntityUid,
    pub(crate) entities: Entities,
}

/// The cache. Keys are length-prefixed, so no two different inputs share one.
#[derive(Debug, Default)]
pub(crate) struct EntityCache {
    map: Mutex<HashMap<String, Arc<Built>>>,
}

impl Clone for EntityCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl EntityCache {
    pub(crate) fn get_or_build<E>(
        &self,
        key: &str,
        build: impl FnOnce() -> Result<Built, E>,
    ) -> Result<Arc<Built>, E> {
        if let Some(b) = self
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
        {
            return Ok(b.clone());
        }
        let built = Arc::new(build()?);
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key.to_owned(), built.clone());
        Ok(built)
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
    use super::push_parts;

    #[test]
    fn keys_do_not_collide_on_separators() {
        let mut a = String::new();
        push_parts(&mut a, ["a|1:b", "c"]);
        let mut b = String::new();
        push_parts(&mut b, ["a", "b", "c"]);
        assert_ne!(a, b);
    }
}
