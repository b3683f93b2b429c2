//! `sallyport_correlation_*`, `sallyport_response_*`, `sallyport_notifications_*` and
//! `sallyport_approvals_*`: what the response orchestrator did, from snapshots of its
//! cumulative counters. Labels are rule ids, action names, statuses and sink names, all
//! bounded by the configuration (never principals or addresses).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::Metrics;

/// Two labels of a response series, e.g. `{rule, severity}` or `{action, status}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RuleLabels {
    /// The correlation rule's id.
    pub rule: String,
    /// Its severity.
    pub severity: String,
}

/// `{action, status}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ActionLabels {
    /// The action (`block_ip`, `alert`, …).
    pub action: String,
    /// `done`, `gateway`, `logged`, `none_open` or `skipped`.
    pub status: String,
}

/// `{sink, result}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct SinkLabels {
    /// The notification sink's name.
    pub sink: String,
    /// `sent`, `failed`, `retried` or `dropped`.
    pub result: String,
}

/// Cumulative counters of the response orchestrator at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseSnapshot {
    /// Alerts per `(rule, severity)`.
    pub alerts: Vec<(String, String, u64)>,
    /// Actions per `(action, status)`.
    pub actions: Vec<(String, String, u64)>,
    /// Notifications per `(sink, result)`.
    pub notifications: Vec<(String, String, u64)>,
    /// Approval requests waiting for an operator, when approvals are configured.
    pub approvals_pending: Option<u64>,
}

/// The families, and the totals last seen (to turn snapshots into increments).
#[derive(Debug)]
pub(crate) struct ResponseFamilies {
    alerts: Family<RuleLabels, Counter>,
    actions: Family<ActionLabels, Counter>,
    notifications: Family<SinkLabels, Counter>,
    approvals_pending: Gauge,
    last: Mutex<HashMap<(u8, String, String), u64>>,
}

impl ResponseFamilies {
    pub(crate) fn register(r: &mut Registry) -> Self {
        let f = Self {
            alerts: Family::default(),
            actions: Family::default(),
            notifications: Family::default(),
            approvals_pending: Gauge::default(),
            last: Mutex::default(),
        };
        r.register(
            "sallyport_correlation_alerts",
            "Correlation rules that fired, by rule and severity",
            f.alerts.clone(),
        );
        r.register(
            "sallyport_response_actions",
            "Actions of fired correlation rules, by action and status",
            f.actions.clone(),
        );
        r.register(
            "sallyport_notifications",
            "Alert notifications by sink and result",
            f.notifications.clone(),
        );
        r.register(
            "sallyport_approvals_pending",
            "Held calls waiting for an operator's approval",
            f.approvals_pending.clone(),
        );
        f
    }

    /// How much `total` grew since the last snapshot of series `(family, a, b)`.
    fn delta(&self, family: u8, a: &str, b: &str, total: u64) -> u64 {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let seen = last
            .entry((family, a.to_owned(), b.to_owned()))
            .or_insert(0);
        let grew = total.saturating_sub(*seen);
        *seen = total;
        grew
    }
}

impl Metrics {
    /// The response series from a snapshot of the orchestrator's cumulative counters.
    pub fn set_response(&self, now: &ResponseSnapshot) {
        let f = &self.response;
        for (rule, severity, total) in &now.alerts {
            let labels = RuleLabels {
                rule: rule.clone(),
                severity: severity.clone(),
            };
            f.alerts
                .get_or_create(&labels)
                .inc_by(f.delta(0, rule, severity, *total));
        }
        for (action, status, total) in &now.actions {
            let labels = ActionLabels {
                action: action.clone(),
                status: status.clone(),
            };
            f.actions
                .get_or_create(&labels)
                .inc_by(f.delta(1, action, status, *total));
        }
        for (sink, result, total) in &now.notifications {
            let labels = SinkLabels {
                sink: sink.clone(),
                result: result.clone(),
            };
            f.notifications
                .get_or_create(&labels)
                .inc_by(f.delta(2, sink, result, *total));
        }
        if let Some(pending) = now.approvals_pending {
            f.approvals_pending
                .set(i64::try_from(pending).unwrap_or(i64::MAX));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_become_counters_and_a_gauge() {
        let m = Metrics::new(Vec::<String>::new());
        let snap = |alerts: u64| ResponseSnapshot {
            alerts: vec![("brute_force".into(), "high".into(), alerts)],
            actions: vec![("block_ip".into(), "done".into(), alerts)],
            notifications: vec![("soc".into(), "sent".into(), 1)],
            approvals_pending: Some(3),
        };
        m.set_response(&snap(2));
        m.set_response(&snap(5));
        let page = m.encode();
        assert!(
            page.contains(
                "sallyport_correlation_alerts_total{rule=\"brute_force\",severity=\"high\"} 5"
            ),
            "{page}"
        );
        assert!(
            page.contains(
                "sallyport_response_actions_total{action=\"block_ip\",status=\"done\"} 5"
            )
        );
        assert!(page.contains("sallyport_notifications_total{sink=\"soc\",result=\"sent\"} 1"));
        assert!(page.contains("sallyport_approvals_pending 3"));
    }
}
