//! The structured access log: one JSON line per decision record, fed from the bus.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use sallyport_transport::bus::DecisionBus;

/// Where access log lines go.
pub(crate) enum Target {
    Stderr,
    Stdout,
    File(std::fs::File),
}

impl Target {
    /// `None` → stderr, `-` → stdout, otherwise a file opened for appending.
    pub(crate) fn open(path: Option<&Path>) -> anyhow::Result<Self> {
        match path {
            None => Ok(Self::Stderr),
            Some(p) if p.as_os_str() == "-" => Ok(Self::Stdout),
            Some(p) => {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .with_context(|| format!("opening access log {}", p.display()))?;
                Ok(Self::File(f))
            }
        }
    }

    fn writer(self) -> Box<dyn Write + Send> {
        match self {
            Self::Stderr => Box::new(std::io::stderr()),
            Self::Stdout => Box::new(std::io::stdout()),
            Self::File(f) => Box::new(f),
        }
    }
}

/// How long the log thread sleeps once it has drained the bus while records keep coming.
/// Lines reach the log at most this much later; with the bus holding 4,096 records, the log
/// keeps up with 400k a second.
const DRAIN_EVERY: Duration = Duration::from_millis(10);
/// The longest sleep: each drain that finds nothing doubles the sleep up to this, so an idle
/// gateway's log thread wakes four times a second; the first line after a quiet spell may
/// reach the log this much later.
const IDLE_DRAIN_EVERY: Duration = Duration::from_millis(250);

/// The running access log. Dropping it drains the bus one last time, flushes and waits for
/// the log thread to end, so that no record published before shutdown is lost, whichever
/// way the command ends.
pub(crate) struct AccessLog {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// Subscribes to the bus and writes every record until the bus closes or the returned
/// [`AccessLog`] is dropped.
///
/// The log runs on its own OS thread, off the async workers. It drains the bus, writes what
/// it found in one `write`, and sleeps for [`DRAIN_EVERY`] (longer when idle): it never waits
/// on the bus, so publishing a record never has to wake it (a wake-up per record cost the
/// workers a futex call each, and the thread a context switch, about a fifth of the gateway's
/// CPU).
pub(crate) fn spawn(bus: &DecisionBus, target: Target) -> AccessLog {
    let mut rx = bus.subscribe();
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    let spawned = std::thread::Builder::new()
        .name("access-log".into())
        .spawn(move || {
            let mut out = std::io::BufWriter::with_capacity(64 * 1024, target.writer());
            let mut sleep = DRAIN_EVERY;
            let mut drained = false;
            loop {
                let open = match rx.try_recv() {
                    Ok(record) => write_one(&mut out, Ok(record)),
                    Err(TryRecvError::Lagged(n)) => write_one(&mut out, Err(RecvError::Lagged(n))),
                    Err(TryRecvError::Empty) => {
                        let _ = out.flush();
                        if stopping.load(Ordering::Acquire) {
                            break;
                        }
                        sleep = if drained {
                            DRAIN_EVERY
                        } else {
                            (sleep * 2).min(IDLE_DRAIN_EVERY)
                        };
                        std::thread::park_timeout(sleep);
                        drained = false;
                        continue;
                    }
                    Err(TryRecvError::Closed) => false,
                };
                if !open {
                    break;
                }
                drained = true;
            }
            let _ = out.flush();
        });
    let thread = match spawned {
        Ok(thread) => Some(thread),
        Err(e) => {
            tracing::error!(error = %e, "Could not start the access log thread; no access log.");
            None
        }
    };
    AccessLog { stop, thread }
}

/// Writes one record (or a lag marker); false once the bus has closed.
fn write_one(
    out: &mut impl Write,
    received: Result<std::sync::Arc<sallyport_pipeline::DecisionRecord>, RecvError>,
) -> bool {
    match received {
        Ok(record) => {
            if serde_json::to_writer(&mut *out, &*record).is_ok() {
                let _ = out.write_all(b"\n");
            }
            true
        }
        Err(RecvError::Lagged(n)) => {
            let _ = writeln!(out, "{{\"access_log_lagged\":{n}}}");
            true
        }
        Err(RecvError::Closed) => false,
    }
}
