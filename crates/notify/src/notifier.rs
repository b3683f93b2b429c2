//! The notifier: one queue and one task per sink, fed without ever blocking the caller.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::config::SinkKind;
use crate::delivery::{WarnLimiter, deliver};
use crate::notification::{Notification, Severity};
use crate::sink::Sink;
use crate::stats::{SinkCounters, SinkStats};

/// Sends notifications to every configured sink in the background.
///
/// [`Notifier::notify`] never waits: it filters by each sink's `min_severity` and puts the
/// notification on that sink's bounded queue, or drops and counts it when the queue is full.
/// One Tokio task per sink takes notifications off its queue in order and delivers them with
/// retries. Dropping the notifier lets each task finish its queue and stop; call
/// [`Notifier::shutdown`] to bound how long that takes.
#[derive(Debug)]
pub struct Notifier {
    sinks: Vec<SinkHandle>,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// The caller's side of one sink.
#[derive(Debug)]
struct SinkHandle {
    name: String,
    kind: SinkKind,
    min_severity: Severity,
    queue: mpsc::Sender<Arc<Notification>>,
    counters: Arc<SinkCounters>,
}

impl Notifier {
    /// Starts one delivery task per sink, sending with `client`. Must be called within a
    /// Tokio runtime.
    ///
    /// Give it a client that does not follow redirects
    /// (`reqwest::redirect::Policy::none()`): a receiver could otherwise bounce signed alerts
    /// to an address the configuration never allowed. Each attempt has the sink's own
    /// timeout, whatever the client's.
    pub fn start(sinks: Vec<Sink>, client: reqwest::Client) -> Self {
        let (shutdown, shutdown_signal) = watch::channel(false);
        let mut handles = Vec::with_capacity(sinks.len());
        let mut tasks = Vec::with_capacity(sinks.len());
        for sink in sinks {
            let (queue, receiver) = mpsc::channel(sink.queue_capacity.max(1));
            let counters = Arc::new(SinkCounters::default());
            let span = tracing::info_span!("notify_sink", sink = %sink.name, kind = %sink.kind());
            handles.push(SinkHandle {
                name: sink.name.clone(),
                kind: sink.kind(),
                min_severity: sink.min_severity,
                queue,
                counters: Arc::clone(&counters),
            });
            let worker = SinkWorker {
                sink,
                client: client.clone(),
                counters,
            };
            let task = worker
                .run(receiver, shutdown_signal.clone())
                .instrument(span);
            tasks.push(tokio::spawn(task));
        }
        Self {
            sinks: handles,
            shutdown,
            tasks: Mutex::new(tasks),
        }
    }

    /// Queues `notification` for every sink whose `min_severity` it meets, and returns how
    /// many sinks took it. Never blocks: a sink whose queue is full (or that is shutting
    /// down) drops it and counts it in [`SinkStats::dropped`].
    pub fn notify(&self, notification: &Notification) -> usize {
        let mut shared: Option<Arc<Notification>> = None;
        let mut queued = 0;
        for sink in &self.sinks {
            if notification.severity < sink.min_severity {
                continue;
            }
            let item = Arc::clone(shared.get_or_insert_with(|| Arc::new(notification.clone())));
            // Count before sending: the task may take it and count it down at once.
            SinkCounters::add(&sink.counters.queued, 1);
            if sink.queue.try_send(item).is_ok() {
                queued += 1;
            } else {
                sink.counters.dequeued();
                SinkCounters::add(&sink.counters.dropped, 1);
                tracing::debug!(
                    sink = %sink.name,
                    event_id = %notification.id,
                    "Notification dropped: queue full or closed."
                );
            }
        }
        queued
    }

    /// Counters of every sink, in configuration order.
    pub fn stats(&self) -> Vec<SinkStats> {
        self.sinks
            .iter()
            .map(|sink| sink.counters.snapshot(&sink.name, sink.kind))
            .collect()
    }

    /// Stops taking notifications and lets every sink deliver what it has queued, for at
    /// most `deadline`. Returns `true` when every queue was drained in time; otherwise the
    /// remaining tasks are stopped and their undelivered notifications counted as dropped.
    /// Later calls return `true` at once.
    pub async fn shutdown(&self, deadline: Duration) -> bool {
        self.shutdown.send_replace(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        let until = tokio::time::Instant::now() + deadline;
        let mut drained = true;
        for mut task in tasks {
            if tokio::time::timeout_at(until, &mut task).await.is_err() {
                task.abort();
                // Wait for the abort, so the task touches no counter after the tally below.
                let _ = task.await;
                drained = false;
            }
        }
        if !drained {
            for sink in &self.sinks {
                let abandoned = sink.counters.queued.swap(0, Ordering::Relaxed);
                SinkCounters::add(&sink.counters.dropped, abandoned);
            }
            tracing::warn!("Notifier shutdown deadline passed; undelivered notifications dropped.");
        }
        drained
    }
}

/// The task side of one sink.
struct SinkWorker {
    sink: Sink,
    client: reqwest::Client,
    counters: Arc<SinkCounters>,
}

impl SinkWorker {
    async fn run(
        self,
        mut queue: mpsc::Receiver<Arc<Notification>>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut warnings = WarnLimiter::default();
        let mut draining = false;
        loop {
            let next = if draining {
                queue.recv().await
            } else {
                tokio::select! {
                    biased;
                    // A shutdown (or the notifier dropped): refuse new items, finish the queue.
                    _ = shutdown.changed() => {
                        draining = true;
                        queue.close();
                        continue;
                    }
                    next = queue.recv() => next,
                }
            };
            let Some(notification) = next else {
                break;
            };
            deliver(
                &self.sink,
                &self.client,
                &notification,
                &self.counters,
                &mut warnings,
            )
            .await;
            self.counters.dequeued();
        }
        tracing::debug!("Notification sink stopped.");
    }
}
