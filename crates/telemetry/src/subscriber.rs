//! The bus subscriber: a task that feeds every decision record to a [`DecisionObserver`].
//!
//! It never slows the data path: the bus is a bounded broadcast, so when this task falls
//! behind it loses the oldest records (counted in `sallyport_telemetry_records_dropped_total`)
//! instead of making publishers wait.

use std::sync::Arc;

use sallyport_pipeline::DecisionRecord;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::task::JoinHandle;

use crate::metrics::Metrics;
use crate::observer::DecisionObserver;

/// Spawns the task that updates `metrics` from `records` until the bus closes.
pub fn spawn(metrics: Arc<Metrics>, records: Receiver<Arc<DecisionRecord>>) -> JoinHandle<()> {
    tokio::spawn(run(metrics, records))
}

/// How long the subscriber waits between drains of the bus while records keep coming.
const DRAIN_EVERY: std::time::Duration = std::time::Duration::from_millis(10);

/// Updates `metrics` from `records` until the bus closes.
///
/// The first record after a quiet spell wakes it; from then on it drains the bus every
/// [`DRAIN_EVERY`] without waiting on it, so publishing a record does not wake a task per
/// record. Once a drain finds the bus empty it waits on the bus again, so an idle gateway has
/// no timer running. Metrics therefore trail the data path by up to 10 ms.
pub async fn run(metrics: Arc<Metrics>, mut records: Receiver<Arc<DecisionRecord>>) {
    let mut observer = DecisionObserver::new(metrics.clone());
    loop {
        let first = records.recv().await;
        if !take(&metrics, &mut observer, first) {
            return;
        }
        // Busy: let records gather, then take them all; idle again once a drain finds none.
        loop {
            tokio::time::sleep(DRAIN_EVERY).await;
            match drain(&metrics, &mut observer, &mut records) {
                None => return,
                Some(0) => break,
                Some(_) => {}
            }
        }
    }
}

/// Observes every record queued now: how many, or `None` once the bus has closed.
fn drain(
    metrics: &Metrics,
    observer: &mut DecisionObserver,
    records: &mut Receiver<Arc<DecisionRecord>>,
) -> Option<usize> {
    let mut drained = 0;
    loop {
        let next = match records.try_recv() {
            Ok(record) => Ok(record),
            Err(TryRecvError::Lagged(missed)) => Err(RecvError::Lagged(missed)),
            Err(TryRecvError::Closed) => Err(RecvError::Closed),
            Err(TryRecvError::Empty) => return Some(drained),
        };
        if !take(metrics, observer, next) {
            return None;
        }
        drained += 1;
    }
}

/// Observes one received record; false once the bus has closed.
fn take(
    metrics: &Metrics,
    observer: &mut DecisionObserver,
    received: Result<Arc<DecisionRecord>, RecvError>,
) -> bool {
    match received {
        Ok(record) => observer.observe(&record),
        Err(RecvError::Lagged(missed)) => {
            metrics.gateway.records_dropped.inc_by(missed);
            tracing::debug!(missed, "Metrics subscriber fell behind the decision bus.");
        }
        Err(RecvError::Closed) => return false,
    }
    true
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
