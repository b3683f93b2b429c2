//! Per-principal behaviour profiles: exponentially decayed counters in bounded memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use crate::time::Timestamp;

/// Most distinct tools remembered per principal; the least used is forgotten first.
const MAX_TOOLS: usize = 64;
/// Most devices, networks and countries remembered per principal.
const MAX_SEEN: usize = 16;

/// A counter that halves every half-life.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Decayed {
    value: f64,
    at_ms: i64,
}

impl Decayed {
    pub(crate) fn value_at(&self, now: Timestamp, half_life_ms: f64) -> f64 {
        if self.value == 0.0 || half_life_ms <= 0.0 {
            return self.value;
        }
        let dt = (now.0 - self.at_ms).max(0) as f64;
        self.value * (-dt / half_life_ms).exp2()
    }

    fn add(&mut self, now: Timestamp, half_life_ms: f64, x: f64) {
        self.value = self.value_at(now, half_life_ms) + x;
        self.at_ms = self.at_ms.max(now.0);
    }
}

/// Half-lives used to update a profile.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HalfLives {
    pub(crate) short_ms: f64,
    pub(crate) baseline_ms: f64,
}

/// What is remembered about one principal.
#[derive(Debug, Clone, Default)]
pub(crate) struct Profile {
    pub(crate) first_seen: i64,
    pub(crate) requests: u64,
    pub(crate) short: Decayed,
    pub(crate) baseline: Decayed,
    pub(crate) tools: Vec<(String, Decayed)>,
    pub(crate) devices: Vec<String>,
    pub(crate) networks: Vec<String>,
    pub(crate) countries: Vec<String>,
}

/// One observed request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Observation<'a> {
    pub(crate) tool: &'a str,
    pub(crate) device: Option<&'a str>,
    pub(crate) network: Option<&'a str>,
    pub(crate) country: Option<&'a str>,
}

impl Profile {
    fn new(now: Timestamp) -> Self {
        Self {
            first_seen: now.0,
            ..Self::default()
        }
    }

    fn record(&mut self, obs: &Observation<'_>, now: Timestamp, hl: HalfLives) {
        self.requests = self.requests.saturating_add(1);
        self.short.add(now, hl.short_ms, 1.0);
        self.baseline.add(now, hl.baseline_ms, 1.0);
        if let Some((_, c)) = self.tools.iter_mut().find(|(t, _)| t == obs.tool) {
            c.add(now, hl.baseline_ms, 1.0);
        } else {
            if self.tools.len() >= MAX_TOOLS {
                let weakest = self
                    .tools
                    .iter()
                    .enumerate()
                    .min_by(|a, b| {
                        let va = a.1.1.value_at(now, hl.baseline_ms);
                        let vb = b.1.1.value_at(now, hl.baseline_ms);
                        va.total_cmp(&vb)
                    })
                    .map(|(i, _)| i);
                if let Some(i) = weakest {
                    self.tools.swap_remove(i);
                }
            }
            let mut c = Decayed::default();
            c.add(now, hl.baseline_ms, 1.0);
            self.tools.push((obs.tool.to_owned(), c));
        }
        remember(&mut self.devices, obs.device);
        remember(&mut self.networks, obs.network);
        remember(&mut self.countries, obs.country);
    }

    /// The share of `tool` in the decayed tool mix, 0–1.
    pub(crate) fn tool_share(&self, tool: &str, now: Timestamp, hl: HalfLives) -> f64 {
        let mut total = 0.0;
        let mut mine = 0.0;
        for (t, c) in &self.tools {
            let v = c.value_at(now, hl.baseline_ms);
            total += v;
            if t == tool {
                mine = v;
            }
        }
        if total > 0.0 { mine / total } else { 0.0 }
    }
}

/// Keeps the most recent `MAX_SEEN` distinct values, newest last.
fn remember(list: &mut Vec<String>, value: Option<&str>) {
    let Some(v) = value else { return };
    if let Some(i) = list.iter().position(|x| x == v) {
        let item = list.remove(i);
        list.push(item);
        return;
    }
    if list.len() >= MAX_SEEN {
        list.remove(0);
    }
    list.push(v.to_owned());
}

/// A least-recently-used map with a fixed capacity.
#[derive(Debug)]
struct Lru<V> {
    map: HashMap<String, (u64, V)>,
    order: BTreeMap<u64, String>,
    tick: u64,
    capacity: usize,
}

impl<V> Lru<V> {
    fn new(capacity: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            capacity: capacity.max(1),
        }
    }

    fn get(&self, key: &str) -> Option<&V> {
        self.map.get(key).map(|(_, v)| v)
    }

    fn get_or_insert_with(&mut self, key: &str, make: impl FnOnce() -> V) -> &mut V {
        self.tick += 1;
        let tick = self.tick;
        if !self.map.contains_key(key) {
            while self.map.len() >= self.capacity {
                let Some((_, oldest)) = self.order.pop_first() else {
                    break;
                };
                self.map.remove(&oldest);
            }
        }
        let entry = self
            .map
            .entry(key.to_owned())
            .or_insert_with(|| (tick, make()));
        if entry.0 != tick {
            self.order.remove(&entry.0);
            entry.0 = tick;
        }
        self.order.insert(tick, key.to_owned());
        &mut entry.1
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

/// Every principal's profile, capped at a number of principals (least recently seen
/// forgotten first). Shared by all requests; survives policy reloads.
#[derive(Debug)]
pub struct TrustProfiles {
    inner: Mutex<Lru<Profile>>,
}

impl TrustProfiles {
    /// Room for `capacity` principals.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Lru::new(capacity)),
        }
    }

    /// Number of principals remembered.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `f` on the principal's profile as it was before this request (if any), then
    /// records the request.
    pub(crate) fn observe<R>(
        &self,
        principal: &str,
        obs: &Observation<'_>,
        now: Timestamp,
        hl: HalfLives,
        f: impl FnOnce(Option<&Profile>) -> R,
    ) -> R {
        let mut lru = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let out = f(lru.get(principal));
        lru.get_or_insert_with(principal, || Profile::new(now))
            .record(obs, now, hl);
        out
    }

    /// Runs `f` on the principal's profile without recording anything.
    pub(crate) fn peek<R>(&self, principal: &str, f: impl FnOnce(Option<&Profile>) -> R) -> R {
        let lru = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        f(lru.get(principal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HL: HalfLives = HalfLives {
        short_ms: 60_000.0,
        baseline_ms: 86_400_000.0,
    };

    fn obs(tool: &str) -> Observation<'_> {
        Observation {
            tool,
            device: Some("d"),
            network: None,
            country: None,
        }
    }

    #[test]
    fn decayed_counter_halves_per_half_life() {
        let mut d = Decayed::default();
        d.add(Timestamp(0), 1000.0, 8.0);
        assert!((d.value_at(Timestamp(1000), 1000.0) - 4.0).abs() < 1e-9);
        assert!((d.value_at(Timestamp(3000), 1000.0) - 1.0).abs() < 1e-9);
        // Time going backwards never inflates the value.
        assert!((d.value_at(Timestamp(-5000), 1000.0) - 8.0).abs() < 1e-9);
    }

    #[test]
    fn lru_caps_principals_and_evicts_least_recent() {
        let p = TrustProfiles::new(2);
        p.observe("a", &obs("t"), Timestamp(0), HL, |_| ());
        p.observe("b", &obs("t"), Timestamp(1), HL, |_| ());
        p.observe("a", &obs("t"), Timestamp(2), HL, |_| ());
        p.observe("c", &obs("t"), Timestamp(3), HL, |_| ());
        assert_eq!(p.len(), 2);
        assert!(p.peek("b", |x| x.is_none()));
        assert!(p.peek("a", |x| x.is_some_and(|x| x.requests == 2)));
    }

    #[test]
    fn tool_mix_is_bounded() {
        let p = TrustProfiles::new(1);
        for i in 0..(MAX_TOOLS + 10) {
            let tool = format!("t{i}");
            p.observe("a", &obs(&tool), Timestamp(i as i64), HL, |_| ());
        }
        p.peek("a", |x| {
            let x = x.unwrap();
            assert_eq!(x.tools.len(), MAX_TOOLS);
            assert_eq!(x.devices, ["d"]);
        });
    }
}
