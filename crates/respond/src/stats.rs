//! Cumulative counts of what the response orchestrator did, for metrics.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use crate::orchestrator::Response;

/// Most distinct `(rule, severity)` pairs counted; rules come from the configuration, so
/// this is only a backstop.
const MAX_RULES: usize = 1_000;

/// Alerts per rule and actions per status, since start.
#[derive(Debug, Default)]
pub struct ResponseStats {
    alerts: Mutex<BTreeMap<(String, &'static str), u64>>,
    actions: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl ResponseStats {
    /// Counts one response: its alert and each action's final status.
    pub fn record(&self, r: &Response) {
        {
            let mut alerts = self.alerts.lock().unwrap_or_else(PoisonError::into_inner);
            let key = (r.alert.rule_id.clone(), r.alert.severity.as_str());
            if alerts.len() < MAX_RULES || alerts.contains_key(&key) {
                *alerts.entry(key).or_insert(0) += 1;
            }
        }
        let mut actions = self.actions.lock().unwrap_or_else(PoisonError::into_inner);
        for o in &r.outcomes {
            *actions.entry((o.action, o.status)).or_insert(0) += 1;
        }
    }

    /// `(rule, severity, count)` for every rule that fired.
    pub fn alerts(&self) -> Vec<(String, String, u64)> {
        let alerts = self.alerts.lock().unwrap_or_else(PoisonError::into_inner);
        alerts
            .iter()
            .map(|((rule, severity), n)| (rule.clone(), (*severity).to_owned(), *n))
            .collect()
    }

    /// `(action, status, count)` for every action performed or attempted.
    pub fn actions(&self) -> Vec<(String, String, u64)> {
        let actions = self.actions.lock().unwrap_or_else(PoisonError::into_inner);
        actions
            .iter()
            .map(|((action, status), n)| ((*action).to_owned(), (*status).to_owned(), *n))
            .collect()
    }
}
