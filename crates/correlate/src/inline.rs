//! Small collections that keep up to [`INLINE`] items inside the per-key state and spill
//! to the heap only beyond: most rules count a handful of events, and a key's state then
//! sits in one or two cache lines instead of behind a pointer.

use std::marker::PhantomData;

/// Items kept inline.
pub(crate) const INLINE: usize = 8;

/// Where a ring keeps its items: inline (at most [`INLINE`]) or on the heap.
pub(crate) trait RingStorage<T>: Default {
    /// Makes room for `capacity` items (inline storage is capped at [`INLINE`]).
    fn resize(&mut self, capacity: usize) -> usize;
    fn slots(&self) -> &[T];
    fn slots_mut(&mut self) -> &mut [T];
}

/// Inline storage.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InlineSlots<T>([T; INLINE]);

impl<T: Copy + Default> Default for InlineSlots<T> {
    fn default() -> Self {
        Self([T::default(); INLINE])
    }
}

impl<T: Copy + Default> RingStorage<T> for InlineSlots<T> {
    fn resize(&mut self, capacity: usize) -> usize {
        capacity.min(INLINE)
    }

    fn slots(&self) -> &[T] {
        &self.0
    }

    fn slots_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

impl<T: Copy + Default> RingStorage<T> for Vec<T> {
    fn resize(&mut self, capacity: usize) -> usize {
        if self.len() != capacity {
            self.clear();
            self.resize(capacity, T::default());
        }
        capacity
    }

    fn slots(&self) -> &[T] {
        self
    }

    fn slots_mut(&mut self) -> &mut [T] {
        self
    }
}

/// A ring of fixed capacity (set with [`ensure_capacity`](Self::ensure_capacity));
/// pushing onto a full ring drops the oldest item.
#[derive(Debug, Default)]
pub(crate) struct Ring<T, S> {
    storage: S,
    head: u32,
    len: u32,
    capacity: u32,
    items: PhantomData<T>,
}

/// A ring of at most [`INLINE`] items, stored inline.
pub(crate) type SmallRing<T> = Ring<T, InlineSlots<T>>;
/// A ring stored on the heap.
pub(crate) type HeapRing<T> = Ring<T, Vec<T>>;

impl<T: Copy + Default, S: RingStorage<T>> Ring<T, S> {
    /// Sets the capacity (at least 1), emptying the ring, unless it already is
    /// `capacity`. Heap storage is kept for reuse.
    #[inline]
    pub(crate) fn ensure_capacity(&mut self, capacity: usize) {
        let capacity = capacity.max(1);
        if self.capacity as usize != capacity {
            self.capacity = self.storage.resize(capacity) as u32;
            self.clear();
        }
    }

    /// Empties the ring, keeping its capacity.
    pub(crate) fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// The oldest item.
    #[inline]
    pub(crate) fn front(&self) -> Option<T> {
        match self.len {
            0 => None,
            _ => self.storage.slots().get(self.head as usize).copied(),
        }
    }

    /// Drops the oldest item.
    #[inline]
    pub(crate) fn pop_front(&mut self) {
        if self.len > 0 {
            self.head = wrap(self.head + 1, self.capacity);
            self.len -= 1;
        }
    }

    /// Adds an item, dropping the oldest if full.
    #[inline]
    pub(crate) fn push(&mut self, item: T) {
        if self.capacity == 0 {
            self.ensure_capacity(1);
        }
        if self.len == self.capacity {
            self.pop_front();
        }
        let at = wrap(self.head + self.len, self.capacity) as usize;
        if let Some(slot) = self.storage.slots_mut().get_mut(at) {
            *slot = item;
        }
        self.len += 1;
    }

    /// The items, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = T> + '_ {
        let slots = self.storage.slots();
        (0..self.len).filter_map(move |i| {
            slots
                .get(wrap(self.head + i, self.capacity) as usize)
                .copied()
        })
    }
}

/// `index` (below twice `capacity`) wrapped into `0..capacity`, without a division.
#[inline]
fn wrap(index: u32, capacity: u32) -> u32 {
    if index >= capacity {
        index - capacity
    } else {
        index
    }
}

/// A vector whose first [`INLINE`] items are stored inline.
#[derive(Debug)]
pub(crate) struct InlineVec<T> {
    inline: [T; INLINE],
    /// All items once there are more than [`INLINE`] (then `inline` is unused).
    heap: Vec<T>,
    len: usize,
}

impl<T: Copy + Default> Default for InlineVec<T> {
    fn default() -> Self {
        Self {
            inline: [T::default(); INLINE],
            heap: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Copy + Default> InlineVec<T> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn as_slice(&self) -> &[T] {
        match self.len {
            0..=INLINE => &self.inline[..self.len],
            _ => &self.heap,
        }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        match self.len {
            0..=INLINE => &mut self.inline[..self.len],
            _ => &mut self.heap,
        }
    }

    pub(crate) fn push(&mut self, item: T) {
        match self.len {
            0..INLINE => self.inline[self.len] = item,
            INLINE => {
                self.heap.clear();
                self.heap.extend_from_slice(&self.inline);
                self.heap.push(item);
            }
            _ => self.heap.push(item),
        }
        self.len += 1;
    }

    /// Removes the item at `at`, moving the last one into its place.
    pub(crate) fn swap_remove(&mut self, at: usize) {
        let last = self.len.saturating_sub(1);
        if at > last || self.len == 0 {
            return;
        }
        let slice = self.as_mut_slice();
        slice.swap(at, last);
        self.truncate(last);
    }

    /// Keeps the items `keep` accepts (order not kept).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let mut at = 0;
        while at < self.len {
            match self.as_slice().get(at) {
                Some(item) if !keep(item) => self.swap_remove(at),
                _ => at += 1,
            }
        }
    }

    pub(crate) fn clear(&mut self) {
        self.truncate(0);
    }

    fn truncate(&mut self, len: usize) {
        if self.len > INLINE && len <= INLINE {
            self.inline[..len].copy_from_slice(&self.heap[..len]);
            self.heap.clear();
        } else if len > INLINE {
            self.heap.truncate(len);
        }
        self.len = self.len.min(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_ring<S: RingStorage<u64>>(mut ring: Ring<u64, S>, capacity: usize) {
        ring.ensure_capacity(capacity);
        for i in 0..50 {
            ring.push(i);
        }
        let items: Vec<u64> = ring.iter().collect();
        let expected: Vec<u64> = (50 - capacity as u64..50).collect();
        assert_eq!(items, expected);
        assert_eq!(ring.front(), Some(50 - capacity as u64));
        ring.pop_front();
        assert_eq!(ring.len(), capacity - 1);
        ring.clear();
        assert_eq!(ring.front(), None);
    }

    #[test]
    fn ring_drops_the_oldest_inline_and_on_the_heap() {
        check_ring(SmallRing::default(), 3);
        check_ring(SmallRing::default(), INLINE);
        check_ring(HeapRing::default(), 20);
    }

    #[test]
    fn small_ring_capacity_is_capped() {
        let mut ring = SmallRing::<u64>::default();
        ring.ensure_capacity(100);
        for i in 0..100 {
            ring.push(i);
        }
        assert_eq!(ring.len(), INLINE);
    }

    #[test]
    fn inline_vec_spills_and_comes_back() {
        let mut vec = InlineVec::<u32>::default();
        for i in 0..20 {
            vec.push(i);
        }
        assert_eq!(vec.len(), 20);
        vec.retain(|&i| i % 2 == 0);
        let mut items = vec.as_slice().to_vec();
        items.sort_unstable();
        assert_eq!(items, (0..20).step_by(2).collect::<Vec<_>>());
        vec.retain(|&i| i < 6);
        let mut items = vec.as_slice().to_vec();
        items.sort_unstable();
        assert_eq!(items, [0, 2, 4]);
        vec.push(99);
        assert_eq!(vec.len(), 4);
        vec.clear();
        assert!(vec.as_slice().is_empty());
    }
}
