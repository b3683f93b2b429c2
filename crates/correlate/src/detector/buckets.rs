//! Counting for thresholds above [`EXACT_MAX`]: events per time bucket, [`BUCKETS`] buckets
//! per window, so a key costs the same 150 bytes whatever the count.
//!
//! The count at time `t` covers every bucket that overlaps `(t - window, t]`: an event is
//! never forgotten early, and may be counted for up to one bucket (window / 32) longer.

/// Largest threshold counted exactly (one timestamp per event).
pub(crate) const EXACT_MAX: usize = 64;
/// Buckets per window.
const BUCKETS: u64 = 32;
/// Slots in the ring: the buckets of one window plus the partly covered oldest one.
const SLOTS: usize = BUCKETS as usize + 1;

/// Event counts per time bucket for one key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BucketCounter {
    counts: [u32; SLOTS],
    /// Absolute index (time / width) of the newest bucket, if any event was counted.
    newest: Option<u64>,
    total: u32,
}

impl Default for BucketCounter {
    fn default() -> Self {
        Self {
            counts: [0; SLOTS],
            newest: None,
            total: 0,
        }
    }
}

impl BucketCounter {
    /// The width of one bucket for `window_ms`, in ms (at least 1).
    pub(crate) fn width_ms(window_ms: u64) -> u64 {
        window_ms.div_ceil(BUCKETS).max(1)
    }

    /// Counts an event at `now_ms` (never earlier than the previous one); returns the
    /// events now within the window.
    pub(crate) fn add(&mut self, now_ms: u64, width_ms: u64) -> u32 {
        let bucket = now_ms / width_ms;
        match self.newest {
            Some(newest) if bucket > newest => {
                let gap = bucket - newest;
                if gap >= SLOTS as u64 {
                    self.clear();
                } else {
                    for index in newest + 1..=bucket {
                        let slot = &mut self.counts[(index % SLOTS as u64) as usize];
                        self.total -= *slot;
                        *slot = 0;
                    }
                }
            }
            _ => {}
        }
        // A late event (bucket below the newest) counts in the newest bucket.
        let bucket = self.newest.map_or(bucket, |newest| newest.max(bucket));
        self.newest = Some(bucket);
        self.counts[(bucket % SLOTS as u64) as usize] += 1;
        self.total += 1;
        self.total
    }

    /// Start of the oldest bucket holding a counted event.
    pub(crate) fn first_ms(&self, width_ms: u64) -> Option<u64> {
        let newest = self.newest?;
        let oldest = newest.saturating_sub(SLOTS as u64 - 1);
        (oldest..=newest)
            .find(|index| self.counts[(index % SLOTS as u64) as usize] > 0)
            .map(|index| index * width_ms)
    }

    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_slide_with_the_window() {
        let width = BucketCounter::width_ms(32_000);
        assert_eq!(width, 1_000);
        let mut counter = BucketCounter::default();
        for second in 0..32 {
            assert_eq!(counter.add(second * 1_000, width), second as u32 + 1);
        }
        // At 32.5 s the bucket of t = 0 still overlaps the window (0.5 s, 32.5 s].
        assert_eq!(counter.add(32_500, width), 33);
        assert_eq!(counter.first_ms(width), Some(0));
        // At 33 s it no longer does.
        assert_eq!(counter.add(33_000, width), 33);
        assert_eq!(counter.first_ms(width), Some(1_000));
        assert_eq!(
            counter.add(1_000_000, width),
            1,
            "a long gap forgets everything"
        );
    }
}
