//! Key hash → slot index, open addressing with linear probing.
//!
//! Keys are already well-mixed 64-bit hashes, so the table stores them directly in 16-byte
//! entries: a lookup usually reads one cache line (a general-purpose map reads a control
//! byte line and a bucket line). Load stays at or below one half; removal shifts later
//! entries back, so there are no tombstones.

/// Marks an empty entry.
const EMPTY: u32 = u32::MAX;
/// Smallest table, in entries.
const MIN_ENTRIES: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Entry {
    hash: u64,
    slot: u32,
}

const VACANT: Entry = Entry {
    hash: 0,
    slot: EMPTY,
};

/// Key hash → slot index.
#[derive(Debug, Default)]
pub(crate) struct HashIndex {
    entries: Vec<Entry>,
    len: usize,
}

impl HashIndex {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The slot of `hash`, if present.
    #[inline]
    pub(crate) fn get(&self, hash: u64) -> Option<u32> {
        let mask = self.entries.len().checked_sub(1)?;
        let mut at = hash as usize & mask;
        loop {
            let entry = self.entries[at];
            if entry.slot == EMPTY {
                return None;
            }
            if entry.hash == hash {
                return Some(entry.slot);
            }
            at = (at + 1) & mask;
        }
    }

    /// Adds `hash` → `slot` (`hash` must not be present).
    pub(crate) fn insert(&mut self, hash: u64, slot: u32) {
        if (self.len + 1) * 2 > self.entries.len() {
            self.grow();
        }
        let mask = self.entries.len() - 1;
        let mut at = hash as usize & mask;
        while self.entries[at].slot != EMPTY {
            at = (at + 1) & mask;
        }
        self.entries[at] = Entry { hash, slot };
        self.len += 1;
    }

    /// Removes `hash`, if present.
    pub(crate) fn remove(&mut self, hash: u64) {
        let Some(mask) = self.entries.len().checked_sub(1) else {
            return;
        };
        let mut hole = hash as usize & mask;
        loop {
            let entry = self.entries[hole];
            if entry.slot == EMPTY {
                return;
            }
            if entry.hash == hash {
                break;
            }
            hole = (hole + 1) & mask;
        }
        // Shift back every later entry of the run whose home is not between the hole and
        // its position, so lookups never stop early at the hole.
        let mut next = hole;
        loop {
            next = (next + 1) & mask;
            let entry = self.entries[next];
            if entry.slot == EMPTY {
                break;
            }
            let home = entry.hash as usize & mask;
            let stays = if hole <= next {
                hole < home && home <= next
            } else {
                hole < home || home <= next
            };
            if !stays {
                self.entries[hole] = entry;
                hole = next;
            }
        }
        self.entries[hole] = VACANT;
        self.len -= 1;
    }

    fn grow(&mut self) {
        let size = (self.entries.len() * 2).max(MIN_ENTRIES);
        let old = std::mem::replace(&mut self.entries, vec![VACANT; size]);
        self.len = 0;
        for entry in old.into_iter().filter(|entry| entry.slot != EMPTY) {
            self.insert(entry.hash, entry.slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_remove_with_collisions() {
        let mut index = HashIndex::default();
        // Hashes that share their low bits, so they probe into each other.
        let hashes: Vec<u64> = (0..200).map(|i| (i << 32) | 7).collect();
        for (slot, &hash) in hashes.iter().enumerate() {
            index.insert(hash, slot as u32);
        }
        assert_eq!(index.len(), 200);
        for (slot, &hash) in hashes.iter().enumerate() {
            assert_eq!(index.get(hash), Some(slot as u32));
        }
        for &hash in hashes.iter().step_by(2) {
            index.remove(hash);
        }
        index.remove(12345);
        assert_eq!(index.len(), 100);
        for (slot, &hash) in hashes.iter().enumerate() {
            let expected = (slot % 2 == 1).then_some(slot as u32);
            assert_eq!(index.get(hash), expected, "hash {hash:#x}");
        }
    }

    #[test]
    fn random_operations_match_a_reference_map() {
        let mut index = HashIndex::default();
        let mut reference = std::collections::HashMap::new();
        let mut state = 0x1234_5678_u64;
        for step in 0..20_000u32 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Few distinct hashes with clustered low bits: many collisions and removals.
            let hash = (state % 512) * 0x1_0000 + (state % 3);
            match reference.entry(hash) {
                std::collections::hash_map::Entry::Occupied(entry) => {
                    index.remove(hash);
                    entry.remove();
                }
                std::collections::hash_map::Entry::Vacant(entry) => {
                    index.insert(hash, step);
                    entry.insert(step);
                }
            }
            assert_eq!(index.len(), reference.len());
        }
        for (&hash, &slot) in &reference {
            assert_eq!(index.get(hash), Some(slot));
        }
    }
}
