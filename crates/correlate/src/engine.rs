//! The engine: routes each event to the rules that name its kind, warms their key tables,
//! then runs them.

use serde::Serialize;

use crate::alert::Alert;
use crate::compile::RuleSet;
use crate::detector::{Detector, Observed, Output, RuleCx};
use crate::event::CorrelationEvent;
use crate::glob::GlobMemo;
use crate::key::KeyHashes;
use crate::names::NameTable;
use crate::route::Routes;
use crate::selector::EventGlobs;

/// Runs compiled rules over the event stream. Pure: no I/O, no clock, no threads; time
/// comes with each event and with [`tick`](Self::tick).
///
/// ```
/// use sallyport_correlate::{CorrelationConfig, CorrelationEvent, Engine, KeyField};
///
/// let rules = CorrelationConfig::default().compile().expect("shipped rules compile");
/// let mut engine = Engine::new(rules);
/// let mut alerts = Vec::new();
/// for second in 0..10 {
///     let event = CorrelationEvent::new("authentication_failed", 1_000 * second)
///         .with_source_ip("203.0.113.7");
///     alerts.extend(engine.observe(&event));
/// }
/// assert_eq!(alerts.len(), 1);
/// assert_eq!(alerts[0].rule_id, "brute_force");
/// assert_eq!(alerts[0].key_value(KeyField::SourceIp), Some("203.0.113.7"));
/// ```
#[derive(Debug)]
pub struct Engine {
    rules: Vec<RuleRuntime>,
    routes: Routes,
    keys: KeyHashes,
    names: NameTable,
    /// Tool and server name patterns of every rule.
    tool_globs: GlobMemo,
    server_globs: GlobMemo,
    /// The rules the current event visits, with their selector masks (reused).
    candidates: Vec<(u32, u32)>,
    counters: Counters,
}

#[derive(Debug)]
struct RuleRuntime {
    cx: RuleCx,
    detector: Detector,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    events: u64,
    out_of_order: u64,
    alerts: u64,
    suppressed: u64,
    latest_ms: u64,
}

impl Counters {
    fn count_event(&mut self, time_ms: u64) {
        self.events += 1;
        if time_ms < self.latest_ms {
            self.out_of_order += 1;
        } else {
            self.latest_ms = time_ms;
        }
    }
}

/// Reads the key-table entries the candidate rules will need before any of them runs, so
/// the cache misses overlap instead of coming one rule at a time (see
/// [`KeyTable::warm`](crate::table::KeyTable::warm)).
fn warm(
    rules: &[RuleRuntime],
    keys: &mut KeyHashes,
    candidates: &[(u32, u32)],
    event: &CorrelationEvent<'_>,
) {
    let mut read = 0;
    for &(rule, _) in candidates {
        if let Some(rule) = rules.get(rule as usize)
            && let Some(hash) = keys.hash(rule.cx.key_spec, event)
        {
            read ^= rule.detector.warm(hash);
        }
    }
    std::hint::black_box(read);
}

/// What the engine has done, and what it holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EngineStats {
    /// Rules loaded.
    pub rules: usize,
    /// Events observed.
    pub events_observed: u64,
    /// Events older than the newest one observed before them (they are counted at their
    /// key's newest time; see docs/correlation.md).
    pub events_out_of_order: u64,
    /// Alerts raised.
    pub alerts_raised: u64,
    /// Times a rule's condition held again for a key during its cooldown.
    pub alerts_suppressed: u64,
    /// Keys tracked now, all rules together.
    pub tracked_keys: usize,
    /// Keys tracked now by the rule that tracks the most (never above the cap).
    pub max_tracked_keys_per_rule: usize,
    /// Keys still in use dropped because their rule's table was full.
    pub evicted_keys: u64,
    /// Idle keys dropped.
    pub expired_keys: u64,
}

impl Engine {
    /// An engine running `rules`, with empty state.
    pub fn new(rules: RuleSet) -> Self {
        let mut keys = KeyHashes::default();
        let mut routes = Routes::default();
        let (mut tool_globs, mut server_globs) = (GlobMemo::default(), GlobMemo::default());
        let mut runtimes = Vec::with_capacity(rules.rules.len());
        for (index, mut rule) in rules.rules.into_iter().enumerate() {
            let selectors = Detector::selectors_mut(&mut rule.condition);
            for (bit, selector) in selectors.into_iter().enumerate() {
                selector.bind(&mut tool_globs, &mut server_globs);
                routes.add(index as u32, 1 << bit, selector);
            }
            let key_spec = keys.intern(&rule.meta.group_by);
            let detector = Detector::new(rule.condition, rules.max_keys_per_rule, &mut keys);
            let cx = RuleCx {
                meta: rule.meta,
                key_spec,
            };
            runtimes.push(RuleRuntime { cx, detector });
        }
        Self {
            rules: runtimes,
            routes,
            keys,
            names: NameTable::default(),
            tool_globs,
            server_globs,
            candidates: Vec::new(),
            counters: Counters::default(),
        }
    }

    /// Observes one event; returns the alerts it raised (no allocation when none).
    pub fn observe(&mut self, event: &CorrelationEvent<'_>) -> Vec<Alert> {
        let mut alerts = Vec::new();
        self.observe_into(event, &mut alerts);
        alerts
    }

    /// Observes one event, appending the alerts it raised to `alerts`.
    pub fn observe_into(&mut self, event: &CorrelationEvent<'_>, alerts: &mut Vec<Alert>) {
        self.counters.count_event(event.time_ms);
        let Some(entry) = self.routes.get(event.kind) else {
            return;
        };
        self.keys.next_event();
        self.names.next_event();
        let globs = EventGlobs {
            tool: (event.tool)
                .filter(|_| entry.tool_globs)
                .map(|tool| self.tool_globs.matches(tool)),
            server: (event.server)
                .filter(|_| entry.server_globs)
                .map(|server| self.server_globs.matches(server)),
        };
        let candidates = &mut self.candidates;
        candidates.clear();
        entry.for_each_candidate(&globs, !event.labels.is_empty(), |rule, mask| {
            candidates.push((rule, mask));
        });
        warm(&self.rules, &mut self.keys, candidates, event);
        let observed = Observed {
            event,
            kind: entry.kind,
            globs,
        };
        let before = alerts.len();
        let mut out = Output {
            alerts,
            suppressed: &mut self.counters.suppressed,
            kinds: self.routes.kind_names(),
            names: &mut self.names,
        };
        for &(rule, mask) in candidates.iter() {
            if let Some(rule) = self.rules.get_mut(rule as usize) {
                let keys = &mut self.keys;
                rule.detector
                    .observe(&rule.cx, observed, mask, keys, &mut out);
            }
        }
        self.counters.alerts += (out.alerts.len() - before) as u64;
    }

    /// Advances time to `now_ms`: fires absence rules whose wait is over, and drops idle
    /// keys. Call it regularly (every second, say); returns the alerts raised.
    pub fn tick(&mut self, now_ms: u64) -> Vec<Alert> {
        let mut alerts = Vec::new();
        self.tick_into(now_ms, &mut alerts);
        alerts
    }

    /// As [`tick`](Self::tick), appending to `alerts`.
    pub fn tick_into(&mut self, now_ms: u64, alerts: &mut Vec<Alert>) {
        let before = alerts.len();
        let mut out = Output {
            alerts,
            suppressed: &mut self.counters.suppressed,
            kinds: self.routes.kind_names(),
            names: &mut self.names,
        };
        for rule in &mut self.rules {
            rule.detector.tick(&rule.cx, now_ms, &mut out);
        }
        self.counters.alerts += (out.alerts.len() - before) as u64;
    }

    /// Counters and current sizes.
    pub fn stats(&self) -> EngineStats {
        let mut stats = EngineStats {
            rules: self.rules.len(),
            events_observed: self.counters.events,
            events_out_of_order: self.counters.out_of_order,
            alerts_raised: self.counters.alerts,
            alerts_suppressed: self.counters.suppressed,
            ..EngineStats::default()
        };
        for rule in &self.rules {
            let (tracked, evicted, expired) = rule.detector.key_counts();
            stats.tracked_keys += tracked;
            stats.max_tracked_keys_per_rule = stats.max_tracked_keys_per_rule.max(tracked);
            stats.evicted_keys += evicted;
            stats.expired_keys += expired;
        }
        stats
    }

    /// Keys the rule `rule_id` tracks now, if it is loaded.
    pub fn tracked_keys(&self, rule_id: &str) -> Option<usize> {
        self.rules
            .iter()
            .find(|rule| rule.cx.meta.id == rule_id)
            .map(|rule| rule.detector.key_counts().0)
    }

    /// The loaded rules' ids, in evaluation order.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|rule| rule.cx.meta.id.as_str())
    }
}
