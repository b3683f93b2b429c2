//! A bounded map from key hash to per-key state, least recently seen first out.
//!
//! Slots live in one `Vec` linked into a recency list by index. A full table reuses its
//! least recently seen slot (an eviction, or an expiry when that key was idle anyway); a
//! reused slot keeps its buffers, so steady-state tracking does not allocate.
//!
//! A key moves to the front of the list at most once per [`PROMOTE_EVERY_MS`] of event
//! time (moving touches two other slots, and a busy key is seen thousands of times a
//! second), so "least recently seen" is exact to within that.

use crate::index::HashIndex;

/// No slot.
const NIL: u32 = u32::MAX;
/// A key seen again within this long of its last move to the front stays where it is.
pub(crate) const PROMOTE_EVERY_MS: u64 = 1_000;

/// Per-key state kept in a [`KeyTable`].
pub(crate) trait KeyState: Default {
    /// Forgets everything, keeping allocated capacity for the next key.
    fn clear(&mut self);

    /// Reads the part of the state every event uses (see [`KeyTable::warm`]).
    fn warm(&self) -> u64 {
        0
    }
}

/// One tracked key.
#[derive(Debug, Default)]
pub(crate) struct Slot<S> {
    /// The key's hash.
    hash: u64,
    /// Neighbours in the recency list (towards the most and least recent).
    newer: u32,
    older: u32,
    /// Bumped every time the slot is given to another key.
    pub(crate) generation: u32,
    /// Event time of the last move to the front.
    promoted_ms: u64,
    /// Latest event time seen for the key (time never runs backwards per key).
    pub(crate) newest_ms: u64,
    /// Until when the state matters; after it the key may be dropped as idle.
    pub(crate) retain_until_ms: u64,
    /// The rule's state for this key.
    pub(crate) state: S,
}

impl<S> Slot<S> {
    /// `time_ms`, moved forward to the newest time seen for this key; records it.
    #[inline]
    pub(crate) fn advance(&mut self, time_ms: u64) -> u64 {
        self.newest_ms = self.newest_ms.max(time_ms);
        self.newest_ms
    }
}

/// Bounded key → state map.
#[derive(Debug)]
pub(crate) struct KeyTable<S> {
    index: HashIndex,
    slots: Vec<Slot<S>>,
    free: Vec<u32>,
    newest: u32,
    oldest: u32,
    capacity: usize,
    evicted: u64,
    expired: u64,
}

impl<S: KeyState> KeyTable<S> {
    /// A table holding at most `capacity` keys (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            index: HashIndex::default(),
            slots: Vec::new(),
            free: Vec::new(),
            newest: NIL,
            oldest: NIL,
            capacity: capacity.max(1),
            evicted: 0,
            expired: 0,
        }
    }

    /// Keys tracked now.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// Live keys dropped to make room.
    pub(crate) fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Idle keys dropped.
    pub(crate) fn expired(&self) -> u64 {
        self.expired
    }

    /// The slot for `hash`, created (possibly by dropping the least recently seen key) if
    /// absent, and marked most recently seen. Also returns the slot's index.
    pub(crate) fn entry(&mut self, hash: u64, now_ms: u64) -> (u32, &mut Slot<S>) {
        if let Some(at) = self.index.get(hash) {
            self.promote(at, now_ms);
            return (at, &mut self.slots[at as usize]);
        }
        let at = self.allocate(now_ms);
        self.index.insert(hash, at);
        self.push_newest(at);
        let slot = &mut self.slots[at as usize];
        slot.hash = hash;
        slot.newest_ms = 0;
        slot.retain_until_ms = 0;
        slot.promoted_ms = now_ms;
        (at, slot)
    }

    /// Reads the index entry and slot header of `hash`, so that they are in cache when the
    /// rule runs: the engine does this for every rule an event visits before running any,
    /// letting the memory reads overlap instead of waiting for each in turn.
    #[inline]
    pub(crate) fn warm(&self, hash: u64) -> u64 {
        self.index
            .get(hash)
            .and_then(|at| self.slots.get(at as usize))
            .map_or(0, |slot| slot.newest_ms ^ slot.state.warm())
    }

    /// The slot for `hash` if tracked, marked most recently seen.
    pub(crate) fn get(&mut self, hash: u64, now_ms: u64) -> Option<&mut Slot<S>> {
        let at = self.index.get(hash)?;
        self.promote(at, now_ms);
        self.slots.get_mut(at as usize)
    }

    /// Moves the slot to the front, unless it moved there less than a promotion interval
    /// ago.
    #[inline]
    fn promote(&mut self, at: u32, now_ms: u64) {
        let slot = &mut self.slots[at as usize];
        if now_ms < slot.promoted_ms.saturating_add(PROMOTE_EVERY_MS) || self.newest == at {
            return;
        }
        slot.promoted_ms = now_ms;
        self.unlink(at);
        self.push_newest(at);
    }

    /// The slot at `at` if it still belongs to the same key (`generation`).
    pub(crate) fn slot(&mut self, at: u32, generation: u32) -> Option<&mut Slot<S>> {
        self.slots
            .get_mut(at as usize)
            .filter(|slot| slot.generation == generation && slot.older != at)
    }

    /// Drops idle keys from the least recently seen end, stopping at the first key still
    /// in use (so the work is proportional to what is dropped).
    pub(crate) fn sweep_idle(&mut self, now_ms: u64) {
        while self.oldest != NIL {
            let at = self.oldest;
            if self.slots[at as usize].retain_until_ms > now_ms {
                break;
            }
            self.release(at);
            self.free.push(at);
            self.expired += 1;
        }
    }

    /// A slot for a new key: a free one, a new one, or the least recently seen one.
    fn allocate(&mut self, now_ms: u64) -> u32 {
        if let Some(at) = self.free.pop() {
            return at;
        }
        if self.slots.len() < self.capacity {
            self.slots.push(Slot::default());
            return (self.slots.len() - 1) as u32;
        }
        let at = self.oldest;
        if self.slots[at as usize].retain_until_ms <= now_ms {
            self.expired += 1;
        } else {
            self.evicted += 1;
        }
        self.release(at);
        at
    }

    /// Removes the slot's key and clears its state (the slot is then unlinked and free).
    fn release(&mut self, at: u32) {
        self.unlink(at);
        let slot = &mut self.slots[at as usize];
        self.index.remove(slot.hash);
        slot.state.clear();
        slot.generation = slot.generation.wrapping_add(1);
        // An unlinked slot points at itself, which `slot()` reads as "not tracked".
        slot.older = at;
        slot.newer = at;
    }

    fn unlink(&mut self, at: u32) {
        let (newer, older) = {
            let slot = &self.slots[at as usize];
            (slot.newer, slot.older)
        };
        if newer == at {
            return;
        }
        match newer {
            NIL => self.newest = older,
            _ => self.slots[newer as usize].older = older,
        }
        match older {
            NIL => self.oldest = newer,
            _ => self.slots[older as usize].newer = newer,
        }
        let slot = &mut self.slots[at as usize];
        slot.newer = at;
        slot.older = at;
    }

    fn push_newest(&mut self, at: u32) {
        let previous = self.newest;
        {
            let slot = &mut self.slots[at as usize];
            slot.newer = NIL;
            slot.older = previous;
        }
        match previous {
            NIL => self.oldest = at,
            _ => self.slots[previous as usize].newer = at,
        }
        self.newest = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default)]
    struct Count(u32);

    impl KeyState for Count {
        fn clear(&mut self) {
            self.0 = 0;
        }
    }

    #[test]
    fn least_recently_seen_is_evicted() {
        let mut table = KeyTable::<Count>::new(2);
        table.entry(1, 0).1.retain_until_ms = 10_000;
        table.entry(2, 0).1.retain_until_ms = 10_000;
        // Seen again a promotion interval later: key 1 moves to the front.
        table.entry(1, PROMOTE_EVERY_MS).1.state.0 = 7;
        table.entry(3, PROMOTE_EVERY_MS).1.retain_until_ms = 2_000;
        assert_eq!(table.len(), 2);
        assert_eq!(table.evicted(), 1);
        assert!(table.get(2, 0).is_none());
        assert_eq!(table.get(1, 0).map(|slot| slot.state.0), Some(7));
    }

    #[test]
    fn idle_keys_expire_and_slots_are_reused() {
        let mut table = KeyTable::<Count>::new(4);
        for key in 0..4 {
            let (_, slot) = table.entry(key, 0);
            slot.retain_until_ms = 10 + key;
            slot.state.0 = 1;
        }
        table.sweep_idle(11);
        assert_eq!(table.len(), 2);
        assert_eq!(table.expired(), 2);
        let (_, slot) = table.entry(99, 20);
        assert_eq!(slot.state.0, 0, "a reused slot starts clear");
        assert_eq!(table.evicted(), 0);
    }

    #[test]
    fn generation_detects_reuse() {
        let mut table = KeyTable::<Count>::new(1);
        let (at, slot) = table.entry(1, 0);
        let generation = slot.generation;
        assert!(table.slot(at, generation).is_some());
        table.entry(2, 0);
        assert!(table.slot(at, generation).is_none());
    }
}
