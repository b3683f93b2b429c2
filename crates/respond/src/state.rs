//! The security state the data plane reads: blocked principals and addresses.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::change::{StateChange, until_ms};

/// Default cap on blocks.
const DEFAULT_MAX_BLOCKS: usize = 100_000;

/// What is blocked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockTarget {
    /// A principal within its tenant.
    Principal {
        /// The principal's id.
        id: String,
        /// Its tenant.
        tenant: Option<String>,
    },
    /// A client address.
    Ip {
        /// The address.
        ip: IpAddr,
    },
}

/// One block, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockEntry {
    /// What is blocked.
    pub target: BlockTarget,
    /// Why (the event kind that triggered it).
    pub reason: String,
    /// Time left; `None` for a block that lasts until restart or unblock.
    pub remaining_secs: Option<u64>,
}

#[derive(Debug, Clone)]
struct Block {
    reason: String,
    until: Option<Instant>,
}

impl Block {
    fn active(&self, now: Instant) -> bool {
        self.until.is_none_or(|u| now < u)
    }
}

#[derive(Debug, Default)]
struct Blocks {
    ips: HashMap<IpAddr, Block>,
    principals: HashMap<(String, Option<String>), Block>,
}

impl Blocks {
    fn len(&self) -> usize {
        self.ips.len() + self.principals.len()
    }

    fn purge(&mut self, now: Instant) {
        self.ips.retain(|_, b| b.active(now));
        self.principals.retain(|_, b| b.active(now));
    }

    /// Lifts the block ending soonest (permanent blocks last). Linear in the number of
    /// blocks; only called when the cap is reached.
    fn evict_one(&mut self) {
        let soonest_ip = self
            .ips
            .iter()
            .min_by_key(|(_, b)| ending(b))
            .map(|(k, b)| (ending(b), *k));
        let soonest_principal = self
            .principals
            .iter()
            .min_by_key(|(_, b)| ending(b))
            .map(|(k, b)| (ending(b), k));
        match (soonest_ip, soonest_principal) {
            (Some((a, ip)), Some((b, _))) if a <= b => {
                self.ips.remove(&ip);
            }
            (_, Some((_, key))) => {
                let key = key.clone();
                self.principals.remove(&key);
            }
            (Some((_, ip)), None) => {
                self.ips.remove(&ip);
            }
            (None, None) => {}
        }
    }
}

/// Sort key for eviction: temporary blocks by end, permanent ones after all of them.
fn ending(b: &Block) -> (bool, Option<Instant>) {
    (b.until.is_none(), b.until)
}

/// Blocked principals and addresses, with expiry. Shared by the response orchestrator
/// (writes, rare) and the HTTP edge (reads, every request): a read takes a shared lock,
/// and nothing at all while nothing is blocked. Holds at most `max_blocks` entries; a new
/// block beyond that first drops expired ones, then lifts the one ending soonest.
#[derive(Debug)]
pub struct SecurityState {
    blocks: RwLock<Blocks>,
    any: AtomicBool,
    max_blocks: AtomicUsize,
    violations: crate::violations::Violations,
    held: crate::held::HeldPrincipals,
    quarantines: crate::quarantine::Quarantines,
    sink: crate::change::ChangeSink,
}

impl Default for SecurityState {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_BLOCKS)
    }
}

impl SecurityState {
    /// An empty state holding at most `max_blocks` blocks (at least one).
    pub fn new(max_blocks: usize) -> Self {
        Self {
            blocks: RwLock::default(),
            any: AtomicBool::new(false),
            max_blocks: AtomicUsize::new(max_blocks.max(1)),
            violations: crate::violations::Violations::default(),
            held: crate::held::HeldPrincipals::default(),
            quarantines: crate::quarantine::Quarantines::default(),
            sink: crate::change::ChangeSink::default(),
        }
    }

    pub(crate) fn sink(&self) -> &crate::change::ChangeSink {
        &self.sink
    }

    /// Counts a security event caused by principal `id` (of `tenant`), for the trust
    /// score's reputation factor.
    pub fn record_violation(&self, id: &str, tenant: Option<&str>, now: Instant) {
        self.violations.record(id, tenant, now);
    }

    /// Raises principal `id`'s risk by `points`: every 10 points (rounded up) count as one
    /// recent violation in the trust score's reputation factor.
    pub fn raise_risk(&self, id: &str, tenant: Option<&str>, points: u32, now: Instant) {
        for _ in 0..points.div_ceil(10).min(100) {
            self.violations.record(id, tenant, now);
        }
    }

    /// Holds principal `id`'s tool calls for human approval from `now` for `duration`
    /// (`None`: until restart or release); `reason` names the rule.
    pub fn require_approval(
        &self,
        id: &str,
        tenant: Option<&str>,
        duration: Option<Duration>,
        reason: &str,
        now: Instant,
    ) {
        self.hold_local(id, tenant, duration, reason, now);
        self.sink.emit(|| StateChange::Hold {
            id: id.to_owned(),
            tenant: tenant.map(str::to_owned),
            reason: reason.to_owned(),
            until_ms: until_ms(duration),
        });
    }

    pub(crate) fn hold_local(
        &self,
        id: &str,
        tenant: Option<&str>,
        duration: Option<Duration>,
        reason: &str,
        now: Instant,
    ) {
        self.held.hold(id, tenant, duration, reason, now);
    }

    /// Every principal whose calls are held now.
    pub fn holds(&self) -> Vec<crate::held::HeldEntry> {
        self.held.list(Instant::now())
    }

    /// Why principal `id`'s tool calls need approval at `now`, if they do.
    pub fn approval_required(
        &self,
        id: &str,
        tenant: Option<&str>,
        now: Instant,
    ) -> Option<String> {
        self.held.reason(id, tenant, now)
    }

    /// Whether any principal's calls may be held (one atomic load).
    pub fn any_hold(&self) -> bool {
        self.held.any()
    }

    /// Ends a `require_approval` hold; true if there was one.
    pub fn release_approval_hold(&self, id: &str, tenant: Option<&str>) -> bool {
        let found = self.release_hold_local(id, tenant);
        self.sink.emit(|| StateChange::ReleaseHold {
            id: id.to_owned(),
            tenant: tenant.map(str::to_owned),
        });
        found
    }

    pub(crate) fn release_hold_local(&self, id: &str, tenant: Option<&str>) -> bool {
        self.held.release(id, tenant)
    }

    /// Refuses every call to `target` from `now` for `duration` (`None`: until restart or
    /// release); `reason` names the rule or operator.
    pub fn quarantine(
        &self,
        target: crate::QuarantineTarget,
        duration: Option<Duration>,
        reason: &str,
        now: Instant,
    ) {
        self.sink.emit(|| StateChange::Quarantine {
            target: target.clone(),
            reason: reason.to_owned(),
            until_ms: until_ms(duration),
        });
        self.quarantine_local(target, duration, reason, now);
    }

    pub(crate) fn quarantine_local(
        &self,
        target: crate::QuarantineTarget,
        duration: Option<Duration>,
        reason: &str,
        now: Instant,
    ) {
        self.quarantines.add(target, duration, reason, now);
    }

    /// Whether anything may be quarantined (one atomic load).
    pub fn any_quarantine(&self) -> bool {
        self.quarantines.any()
    }

    /// The quarantine refusing calls to `server`'s `tool` at `now`, and why, if any.
    pub fn quarantined(
        &self,
        server: &str,
        tool: &str,
        now: Instant,
    ) -> Option<(crate::QuarantineTarget, String)> {
        self.quarantines.reason(server, tool, now)
    }

    /// Lifts a quarantine; true if there was one.
    pub fn release_quarantine(&self, target: &crate::QuarantineTarget) -> bool {
        let found = self.release_quarantine_local(target);
        self.sink.emit(|| StateChange::Release {
            target: target.clone(),
        });
        found
    }

    pub(crate) fn release_quarantine_local(&self, target: &crate::QuarantineTarget) -> bool {
        self.quarantines.release(target)
    }

    /// Every quarantine in force now.
    pub fn quarantines(&self) -> Vec<crate::QuarantineEntry> {
        self.quarantines.list(Instant::now())
    }

    /// Security events principal `id` (of `tenant`) caused in the last hour.
    pub fn recent_violations(&self, id: &str, tenant: Option<&str>) -> u32 {
        self.violations.recent(id, tenant, Instant::now())
    }

    /// Changes the cap on blocks (at least one); takes effect at the next block.
    pub fn set_max_blocks(&self, max_blocks: usize) {
        self.max_blocks.store(max_blocks.max(1), Ordering::Relaxed);
    }

    fn read(&self) -> RwLockReadGuard<'_, Blocks> {
        self.blocks.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Blocks> {
        self.blocks.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `ip` is blocked now.
    pub fn is_blocked_ip(&self, ip: IpAddr) -> bool {
        self.is_blocked_ip_at(ip, Instant::now())
    }

    /// Whether `ip` is blocked at `now`.
    pub fn is_blocked_ip_at(&self, ip: IpAddr, now: Instant) -> bool {
        if !self.any.load(Ordering::Acquire) {
            return false;
        }
        self.read().ips.get(&ip).is_some_and(|b| b.active(now))
    }

    /// Whether the principal `id` of `tenant` is blocked now.
    pub fn is_blocked_principal(&self, id: &str, tenant: Option<&str>) -> bool {
        self.is_blocked_principal_at(id, tenant, Instant::now())
    }

    /// Whether the principal `id` of `tenant` is blocked at `now`.
    pub fn is_blocked_principal_at(&self, id: &str, tenant: Option<&str>, now: Instant) -> bool {
        if !self.any.load(Ordering::Acquire) {
            return false;
        }
        let key = (id.to_owned(), tenant.map(str::to_owned));
        self.read()
            .principals
            .get(&key)
            .is_some_and(|b| b.active(now))
    }

    /// Blocks `ip` from `now` for `duration` (`None`: until restart or unblock). A longer
    /// existing block is kept.
    pub fn block_ip(&self, ip: IpAddr, duration: Option<Duration>, reason: &str, now: Instant) {
        let target = BlockTarget::Ip { ip };
        if self.block_local(&target, duration, reason, now) {
            self.emit_block(target, duration, reason);
        }
    }

    /// Blocks a principal from `now` for `duration` (`None`: until restart or unblock). A
    /// longer existing block is kept.
    pub fn block_principal(
        &self,
        id: &str,
        tenant: Option<&str>,
        duration: Option<Duration>,
        reason: &str,
        now: Instant,
    ) {
        let target = BlockTarget::Principal {
            id: id.to_owned(),
            tenant: tenant.map(str::to_owned),
        };
        if self.block_local(&target, duration, reason, now) {
            self.emit_block(target, duration, reason);
        }
    }

    fn emit_block(&self, target: BlockTarget, duration: Option<Duration>, reason: &str) {
        self.sink.emit(|| StateChange::Block {
            target,
            reason: reason.to_owned(),
            until_ms: until_ms(duration),
        });
    }

    /// Places the block; false when a block lasting at least as long was kept instead
    /// (then there is nothing new to store or share).
    pub(crate) fn block_local(
        &self,
        target: &BlockTarget,
        duration: Option<Duration>,
        reason: &str,
        now: Instant,
    ) -> bool {
        match target {
            BlockTarget::Ip { ip } => self.block_ip_local(*ip, duration, reason, now),
            BlockTarget::Principal { id, tenant } => {
                self.block_principal_local(id, tenant.as_deref(), duration, reason, now)
            }
        }
    }

    pub(crate) fn unblock_local(&self, target: &BlockTarget) -> bool {
        match target {
            BlockTarget::Ip { ip } => self.write().ips.remove(ip).is_some(),
            BlockTarget::Principal { id, tenant } => {
                let key = (id.clone(), tenant.clone());
                self.write().principals.remove(&key).is_some()
            }
        }
    }

    fn block_ip_local(
        &self,
        ip: IpAddr,
        duration: Option<Duration>,
        reason: &str,
        now: Instant,
    ) -> bool {
        let block = Block {
            reason: reason.to_owned(),
            // A duration past the clock's range lasts until unblock.
            until: duration.and_then(|d| now.checked_add(d)),
        };
        let mut blocks = self.make_room(now, |b| b.ips.contains_key(&ip));
        let placed = place(blocks.ips.entry(ip), block);
        self.any.store(true, Ordering::Release);
        placed
    }

    fn block_principal_local(
        &self,
        id: &str,
        tenant: Option<&str>,
        duration: Option<Duration>,
        reason: &str,
        now: Instant,
    ) -> bool {
        let block = Block {
            reason: reason.to_owned(),
            // A duration past the clock's range lasts until unblock.
            until: duration.and_then(|d| now.checked_add(d)),
        };
        let key = (id.to_owned(), tenant.map(str::to_owned));
        let mut blocks = self.make_room(now, |b| b.principals.contains_key(&key));
        let placed = place(blocks.principals.entry(key), block);
        self.any.store(true, Ordering::Release);
        placed
    }

    /// Lifts the block on `ip`; true if there was one.
    pub fn unblock_ip(&self, ip: IpAddr) -> bool {
        self.unblock(BlockTarget::Ip { ip })
    }

    /// Lifts the block on a principal; true if there was one.
    pub fn unblock_principal(&self, id: &str, tenant: Option<&str>) -> bool {
        self.unblock(BlockTarget::Principal {
            id: id.to_owned(),
            tenant: tenant.map(str::to_owned),
        })
    }

    fn unblock(&self, target: BlockTarget) -> bool {
        let found = self.unblock_local(&target);
        self.sink.emit(|| StateChange::Unblock { target });
        found
    }

    /// Every block in force now.
    pub fn list(&self) -> Vec<BlockEntry> {
        let now = Instant::now();
        let blocks = self.read();
        let entry = |target, b: &Block| BlockEntry {
            target,
            reason: b.reason.clone(),
            remaining_secs: b.until.map(|u| u.saturating_duration_since(now).as_secs()),
        };
        let ips = blocks
            .ips
            .iter()
            .filter(|(_, b)| b.active(now))
            .map(|(ip, b)| entry(BlockTarget::Ip { ip: *ip }, b));
        let principals =
            blocks
                .principals
                .iter()
                .filter(|(_, b)| b.active(now))
                .map(|((id, tenant), b)| {
                    entry(
                        BlockTarget::Principal {
                            id: id.clone(),
                            tenant: tenant.clone(),
                        },
                        b,
                    )
                });
        ips.chain(principals).collect()
    }

    /// How many blocks are stored (expired ones included until the next write).
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The write lock, with room for one more block unless `present` says the block to
    /// place replaces one.
    fn make_room(
        &self,
        now: Instant,
        present: impl Fn(&Blocks) -> bool,
    ) -> RwLockWriteGuard<'_, Blocks> {
        let max = self.max_blocks.load(Ordering::Relaxed);
        let mut blocks = self.write();
        if present(&blocks) {
            return blocks;
        }
        if blocks.len() >= max {
            blocks.purge(now);
        }
        while blocks.len() >= max {
            blocks.evict_one();
        }
        blocks
    }
}

/// Puts `block` in `entry` unless the block there ends later; true when it did.
fn place<K>(entry: std::collections::hash_map::Entry<'_, K, Block>, block: Block) -> bool {
    use std::collections::hash_map::Entry;
    match entry {
        Entry::Vacant(v) => {
            v.insert(block);
            true
        }
        Entry::Occupied(mut o) if outlasts(&block, o.get()) => {
            o.insert(block);
            true
        }
        Entry::Occupied(_) => false,
    }
}

/// Whether `new` ends later than `old` (a permanent block outlasts every other).
fn outlasts(new: &Block, old: &Block) -> bool {
    match (new.until, old.until) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(n), Some(o)) => n > o,
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn ip(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, n))
    }

    #[test]
    fn blocks_list_expire_and_lift() {
        let state = SecurityState::default();
        let now = Instant::now();
        assert!(!state.is_blocked_ip_at(ip(1), now));
        state.block_ip(ip(1), Some(MINUTE), "invalid_certificate", now);
        state.block_principal(
            "alice",
            Some("acme"),
            None,
            "privilege_escalation_attempt",
            now,
        );
        assert!(state.is_blocked_ip_at(ip(1), now));
        assert!(!state.is_blocked_ip_at(ip(2), now));
        assert!(!state.is_blocked_ip_at(ip(1), now + MINUTE));
        assert!(state.is_blocked_principal_at("alice", Some("acme"), now));
        assert!(!state.is_blocked_principal_at("alice", None, now));
        let mut list = state.list();
        list.sort_by_key(|e| e.reason.clone());
        assert_eq!(list.len(), 2);
        assert!(matches!(list[0].remaining_secs, Some(59 | 60)), "{list:?}");
        assert_eq!(list[1].remaining_secs, None);
        assert!(state.unblock_ip(ip(1)));
        assert!(!state.unblock_ip(ip(1)));
        assert!(state.unblock_principal("alice", Some("acme")));
        assert!(state.list().is_empty());
    }

    #[test]
    fn a_shorter_block_never_shortens_a_longer_one() {
        let state = SecurityState::default();
        let now = Instant::now();
        state.block_ip(ip(1), None, "a", now);
        state.block_ip(ip(1), Some(MINUTE), "b", now);
        assert!(state.is_blocked_ip_at(ip(1), now + 2 * MINUTE));
    }

    #[test]
    fn the_cap_lifts_the_block_ending_soonest() {
        let state = SecurityState::new(2);
        let now = Instant::now();
        state.block_ip(ip(1), Some(2 * MINUTE), "a", now);
        state.block_ip(ip(2), Some(MINUTE), "b", now);
        // Re-blocking a present key needs no room.
        state.block_ip(ip(1), Some(3 * MINUTE), "a", now);
        assert_eq!(state.len(), 2);
        state.block_principal("p", None, None, "c", now);
        assert_eq!(state.len(), 2);
        assert!(state.is_blocked_ip_at(ip(1), now));
        assert!(!state.is_blocked_ip_at(ip(2), now));
        assert!(state.is_blocked_principal_at("p", None, now));
    }
}
