//! What traffic protection refused lately: the console's view of rate limits, quotas,
//! concurrency limits, breakers and timeouts, counted from the decision bus in one-minute
//! buckets over the last hour, with the latest refusals and their reasons.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use sallyport_pipeline::{DecisionRecord, DenyCode};
use sallyport_transport::bus::DecisionBus;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa::ToSchema;

/// Minutes counted.
const WINDOW_MINUTES: u64 = 60;
/// Latest refusals kept.
const RECENT: usize = 20;

/// The deny codes of traffic protection.
fn is_traffic(code: DenyCode) -> bool {
    matches!(
        code,
        DenyCode::RateLimited
            | DenyCode::QuotaExceeded
            | DenyCode::ConcurrencyLimited
            | DenyCode::CircuitOpen
            | DenyCode::UpstreamTimeout
            | DenyCode::PerIpRateLimited
    )
}

/// One refusal by traffic protection.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct LimitRefusal {
    /// When (ms since the Unix epoch).
    pub time_unix_ms: u64,
    /// `rate_limited`, `quota_exceeded`, `concurrency_limited`, `circuit_open`,
    /// `upstream_timeout` or `per_ip_rate_limited`.
    pub code: String,
    /// Who was refused.
    pub principal: String,
    /// The upstream and tool, when known.
    pub resource: Option<String>,
    /// The rule or breaker that refused, as the decision record says.
    pub reason: Option<String>,
}

#[derive(Debug, Default)]
struct Counts {
    /// (minute since the epoch, code) → refusals.
    buckets: BTreeMap<(u64, String), u64>,
    recent: VecDeque<LimitRefusal>,
}

/// Refusals by traffic protection, fed from the bus by a task of its own.
#[derive(Debug, Default, Clone)]
pub(crate) struct TrafficWatch {
    counts: Arc<Mutex<Counts>>,
}

impl TrafficWatch {
    /// A watch reading `bus` on a new task (which ends with the bus).
    pub(crate) fn spawn(bus: &DecisionBus) -> Self {
        let watch = Self::default();
        let mut rx = bus.subscribe();
        let this = watch.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(record) => this.observe(&record),
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return,
                }
            }
        });
        watch
    }

    /// Counts `record` when traffic protection refused it.
    pub(crate) fn observe(&self, record: &DecisionRecord) {
        let Some(code) = record.deny_code.filter(|c| is_traffic(*c)) else {
            return;
        };
        let minute = record.time_unix_ms / 60_000;
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        *counts
            .buckets
            .entry((minute, code.as_str().to_owned()))
            .or_insert(0) += 1;
        let oldest = minute.saturating_sub(WINDOW_MINUTES);
        counts.buckets.retain(|(m, _), _| *m > oldest);
        counts.recent.push_front(LimitRefusal {
            time_unix_ms: record.time_unix_ms,
            code: code.as_str().to_owned(),
            principal: record.principal.clone(),
            resource: record.server.as_ref().map(|s| match &record.tool {
                Some(t) => format!("{s}/{t}"),
                None => s.clone(),
            }),
            reason: record.reason.clone(),
        });
        counts.recent.truncate(RECENT);
    }

    /// Refusals per code in the hour up to `now_ms`, and the latest ones.
    pub(crate) fn snapshot(&self, now_ms: u64) -> (BTreeMap<String, u64>, Vec<LimitRefusal>) {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let oldest = (now_ms / 60_000).saturating_sub(WINDOW_MINUTES);
        let mut per_code = BTreeMap::new();
        for ((minute, code), n) in &counts.buckets {
            if *minute > oldest {
                *per_code.entry(code.clone()).or_insert(0) += n;
            }
        }
        (per_code, counts.recent.iter().cloned().collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sallyport_pipeline::{Direction, Outcome};

    fn record(code: Option<DenyCode>, time: u64) -> DecisionRecord {
        DecisionRecord {
            exchange_id: "x".into(),
            time_unix_ms: time,
            direction: Direction::ClientToServer,
            kind: "request",
            method: Some("tools/call".into()),
            jsonrpc_id: None,
            server: Some("fs".into()),
            tool: Some("read".into()),
            principal: "alice".into(),
            auth_method: "api_key",
            tenant: None,
            source_ip: None,
            session_id: None,
            era: "modern",
            outcome: if code.is_some() {
                Outcome::Deny
            } else {
                Outcome::Allow
            },
            deny_code: code,
            origin: None,
            reason: Some("rule per_user".into()),
            guards: Vec::new(),
            duration_ns: 0,
        }
    }

    #[test]
    fn refusals_by_limits_are_counted_for_an_hour_and_others_are_not() {
        let w = TrafficWatch::default();
        let t = 100 * 60_000;
        w.observe(&record(Some(DenyCode::RateLimited), t));
        w.observe(&record(Some(DenyCode::RateLimited), t + 1));
        w.observe(&record(Some(DenyCode::CircuitOpen), t + 2));
        w.observe(&record(Some(DenyCode::AuthForbidden), t + 3));
        w.observe(&record(None, t + 4));
        let (per_code, recent) = w.snapshot(t + 5);
        assert_eq!(per_code.get("rate_limited"), Some(&2));
        assert_eq!(per_code.get("circuit_open"), Some(&1));
        assert_eq!(per_code.len(), 2);
        assert_eq!(recent.len(), 3);
        assert_eq!(recent[0].code, "circuit_open");
        assert_eq!(recent[0].resource.as_deref(), Some("fs/read"));
        let (later, _) = w.snapshot(t + 61 * 60_000);
        assert!(later.is_empty(), "an hour later nothing is counted");
    }
}
