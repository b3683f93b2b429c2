//! The in-process decision bus: a bounded broadcast of decision records.

use std::sync::Arc;

use sallyport_pipeline::{DecisionRecord, DecisionSink};
use tokio::sync::broadcast;

/// Fans decision records out to subscribers (access log, later audit, metrics, correlation).
///
/// Bounded: a subscriber that falls more than `capacity` records behind loses the oldest ones
/// and is told how many (`RecvError::Lagged`); the data path never waits. Records travel
/// shared: each subscriber receives the same record, not a copy of its own.
#[derive(Debug, Clone)]
pub struct DecisionBus {
    tx: broadcast::Sender<Arc<DecisionRecord>>,
}

impl DecisionBus {
    /// A bus keeping up to `capacity` records per lagging subscriber.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(16));
        Self { tx }
    }

    /// A new subscription, receiving every record published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<DecisionRecord>> {
        self.tx.subscribe()
    }
}

impl DecisionSink for DecisionBus {
    fn publish(&self, record: DecisionRecord) {
        // No subscriber is not an error: nothing is listening yet.
        let _ = self.tx.send(Arc::new(record));
    }
}
