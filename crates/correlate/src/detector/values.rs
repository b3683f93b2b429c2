//! The values a `distinct` rule has seen for one key: (value hash, last time seen) pairs
//! in a list, the first 8 inline (distinct counts are small: at most 256).

use crate::inline::InlineVec;

/// A value seen, by hash.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SeenValue {
    pub(crate) hash: u64,
    pub(crate) last_ms: u64,
}

/// The values of one key: 16 bytes each, the first 8 inline.
#[derive(Debug, Default)]
pub(crate) struct ValueSet {
    list: InlineVec<SeenValue>,
}

impl ValueSet {
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    pub(crate) fn clear(&mut self) {
        self.list.clear();
    }

    /// Records `hash` as seen at `now_ms`; returns whether it is new.
    #[inline]
    pub(crate) fn see(&mut self, hash: u64, now_ms: u64) -> bool {
        let list = self.list.as_mut_slice();
        if let Some(seen) = list.iter_mut().find(|seen| seen.hash == hash) {
            seen.last_ms = now_ms;
            return false;
        }
        self.list.push(SeenValue {
            hash,
            last_ms: now_ms,
        });
        true
    }

    /// Keeps the values `keep` accepts.
    pub(crate) fn retain(&mut self, keep: impl FnMut(&SeenValue) -> bool) {
        self.list.retain(keep);
    }

    /// Forgets the value seen longest ago.
    pub(crate) fn forget_stalest(&mut self) {
        let stalest = (self.list.as_slice().iter().enumerate())
            .min_by_key(|(_, seen)| seen.last_ms)
            .map(|(at, _)| at);
        if let Some(at) = stalest {
            self.list.swap_remove(at);
        }
    }

    /// The oldest last sighting, if any.
    pub(crate) fn oldest_ms(&self) -> Option<u64> {
        self.list.as_slice().iter().map(|seen| seen.last_ms).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_limits_count_each_value_once() {
        for limit in [5, 50] {
            let mut set = ValueSet::default();
            for round in 0..3 {
                for value in 0..limit as u64 {
                    let hash = value.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                    assert_eq!(set.see(hash, round * 100 + value), round == 0);
                }
            }
            assert_eq!(set.len(), limit);
            assert_eq!(set.oldest_ms(), Some(200));
            set.retain(|seen| seen.last_ms >= 200 + limit as u64 / 2);
            assert_eq!(set.len(), limit - limit / 2);
            set.forget_stalest();
            assert_eq!(set.len(), limit - limit / 2 - 1);
            set.clear();
            assert_eq!(set.len(), 0);
            assert_eq!(set.oldest_ms(), None);
        }
    }
}
