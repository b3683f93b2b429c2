//! Per-client request rate (GCRA) and concurrent connection counts.
//!
//! Written here rather than with `governor` so that memory has a hard bound: the rate
//! table holds at most `max_tracked_ips` clients (a 48-byte entry plus hash-table slack,
//! at most about 100 bytes each, so 100k clients ≈ 10 MB), spread over [`SHARDS`] mutex-protected maps hashed with the randomly seeded
//! std hasher (clients choose their addresses, so the hash must resist collisions). A
//! client whose allowance is full again is indistinguishable from a new one and is
//! evicted when its shard fills. If a shard is full of clients that are all still
//! limited, new clients are refused until one recovers: under such a flood failing
//! closed is safer than forgetting the limited clients. The connection table holds only
//! clients with a connection open, so it is bounded by the number of open sockets.
//!
//! IPv6 clients are keyed by a prefix (default /64): one host usually holds a whole /64
//! and could otherwise rotate addresses to escape its limit.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::clock::Clock;

/// Lock stripes of each table.
pub(crate) const SHARDS: usize = 16;

/// The key a client is counted under.
pub(crate) fn client_key(ip: IpAddr, ipv6_prefix_len: u8) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(ipv6_prefix_len.min(128)));
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask.unwrap_or(0)))
        }
    }
}

/// Lock stripes picked by a seeded hash, so clients cannot aim at one stripe.
#[derive(Debug)]
struct Shards<T> {
    seed: RandomState,
    shards: Vec<Mutex<T>>,
}

impl<T: Default> Shards<T> {
    fn new() -> Self {
        Self {
            seed: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    /// The stripe of `key`, locked; `None` if poisoned.
    fn lock(&self, key: &IpAddr) -> Option<MutexGuard<'_, T>> {
        let index = usize::try_from(self.seed.hash_one(key) % SHARDS as u64).unwrap_or(0);
        self.shards.get(index)?.lock().ok()
    }

    fn sum(&self, f: impl Fn(&T) -> usize) -> usize {
        self.shards
            .iter()
            .filter_map(|s| s.lock().ok())
            .map(|s| f(&s))
            .sum()
    }
}

// === impl RateLimiter ===

/// Per-client GCRA limiter: `burst` requests at once, then one per `interval`.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    interval: u128,
    tolerance: u128,
    per_shard: usize,
    clock: Arc<dyn Clock>,
    shards: Shards<RateShard>,
}

#[derive(Debug, Default)]
struct RateShard {
    /// Theoretical arrival time (nanoseconds on the clock) per client.
    tat: HashMap<IpAddr, u128>,
    last_sweep: Option<u128>,
}

impl RateLimiter {
    /// `per_period` requests each `period`, bursts of `burst`, at most `max_tracked` clients.
    pub(crate) fn new(
        per_period: u32,
        period: Duration,
        burst: u32,
        max_tracked: usize,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let interval = period.as_nanos() / u128::from(per_period.max(1));
        Self {
            interval,
            tolerance: interval * u128::from(burst.max(1)),
            per_shard: max_tracked.div_ceil(SHARDS).max(1),
            clock,
            shards: Shards::new(),
        }
    }

    /// Counts one request from `key`; `Err(wait)` when it is over its rate.
    pub(crate) fn check(&self, key: IpAddr) -> Result<(), Duration> {
        let now = self.clock.now().as_nanos();
        let Some(mut shard) = self.shards.lock(&key) else {
            return Err(Duration::from_secs(1)); // poisoned: fail closed
        };
        let known = shard.tat.get(&key).copied();
        if known.is_none() && shard.tat.len() >= self.per_shard && !shard.make_room(now, self) {
            return Err(Duration::from_secs(1));
        }
        let tat = known.unwrap_or(now).max(now) + self.interval;
        if tat - now > self.tolerance {
            let wait = tat - now - self.tolerance;
            return Err(Duration::from_nanos(
                u64::try_from(wait).unwrap_or(u64::MAX),
            ));
        }
        shard.tat.insert(key, tat);
        Ok(())
    }

    /// Clients tracked now.
    pub(crate) fn tracked(&self) -> usize {
        self.shards.sum(|s| s.tat.len())
    }
}

impl RateShard {
    /// Evicts clients whose allowance is full again; at most once a second per shard,
    /// so a flood of new clients cannot make every request scan the shard.
    fn make_room(&mut self, now: u128, limiter: &RateLimiter) -> bool {
        const SECOND: u128 = 1_000_000_000;
        if self
            .last_sweep
            .is_none_or(|last| now.saturating_sub(last) >= SECOND)
        {
            self.last_sweep = Some(now);
            self.tat.retain(|_, tat| *tat > now);
        }
        self.tat.len() < limiter.per_shard
    }
}

// === impl ConnectionLimiter ===

/// Counts open connections per client.
#[derive(Debug)]
pub(crate) struct ConnectionLimiter {
    max: u32,
    shards: Shards<HashMap<IpAddr, u32>>,
}

/// An open connection, counted until dropped.
#[derive(Debug)]
pub struct ConnectionGuard {
    held: Option<(Arc<ConnectionLimiter>, IpAddr)>,
}

impl ConnectionLimiter {
    pub(crate) fn new(max: u32) -> Self {
        Self {
            max,
            shards: Shards::new(),
        }
    }

    /// Opens a connection for `key`; `None` when it already has `max` open.
    pub(crate) fn open(self: &Arc<Self>, key: IpAddr) -> Option<ConnectionGuard> {
        let mut shard = self.shards.lock(&key)?;
        let count = shard.entry(key).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(ConnectionGuard {
            held: Some((Arc::clone(self), key)),
        })
    }

    fn close(&self, key: IpAddr) {
        let Some(mut shard) = self.shards.lock(&key) else {
            return;
        };
        if let Some(count) = shard.get_mut(&key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                shard.remove(&key);
            }
        }
    }

    /// Clients with at least one connection open.
    pub(crate) fn tracked(&self) -> usize {
        self.shards.sum(HashMap::len)
    }
}

impl ConnectionGuard {
    /// A guard that counts nothing (no limit, or a trusted proxy).
    pub(crate) fn untracked() -> Self {
        Self { held: None }
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if let Some((limiter, key)) = self.held.take() {
            limiter.close(key);
        }
    }
}
