//! The bus subscriber: a task that feeds every decision record to a [`DecisionObserver`].
//!
//! It never slows the data path: the bus is a bounded broadcast, so when this task falls
//! behind it loses the oldest records (counted in `sallyport_telemetry_records_dropped_total`)
//! instead of making publishers wait.

use std::sync::Arc;

use sallyport_pipeline::DecisionRecord;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use crate::metrics::Metrics;
use crate::observer::DecisionObserver;

/// Spawns the task that updates `metrics` from `records` until the bus closes.
pub fn spawn(metrics: Arc<Metrics>, records: Receiver<DecisionRecord>) -> JoinHandle<()> {
    tokio::spawn(run(metrics, records))
}

/// Updates `metrics` from `records` until the bus closes.
pub async fn run(metrics: Arc<Metrics>, mut records: Receiver<DecisionRecord>) {
    let mut observer = DecisionObserver::new(metrics.clone());
    loop {
        match records.recv().await {
            Ok(record) => observer.observe(&record),
            Err(RecvError::Lagged(missed)) => {
                metrics.gateway.records_dropped.inc_by(missed);
                tracing::debug!(missed, "Metrics subscriber fell behind the decision bus.");
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// Spawns a task that calls `poll` every `interval`, for gauges read from elsewhere (session
/// counts, breaker states, audit queue). `poll` must be quick: it runs on the runtime.
pub fn spawn_poller(
    interval: std::time::Duration,
    mut poll: impl FnMut() + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            poll();
        }
    })
}
