//! The structured access log: one JSON line per decision record, fed from the bus.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use tokio::sync::broadcast::error::RecvError;

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

/// Subscribes to the bus and writes every record until the bus closes.
///
/// The log runs on its own OS thread, off the async workers: records are serialised into a
/// buffer and written once the bus has nothing more queued (or the buffer is full), so a burst
/// of records costs one `write` instead of one per line, and a slow disk never stalls a worker.
pub(crate) fn spawn(bus: &DecisionBus, target: Target) {
    let mut rx = bus.subscribe();
    let spawned = std::thread::Builder::new()
        .name("access-log".into())
        .spawn(move || {
            let mut out = std::io::BufWriter::with_capacity(64 * 1024, target.writer());
            loop {
                let first = rx.blocking_recv();
                if !write_one(&mut out, first) {
                    break;
                }
                while let Ok(record) = rx.try_recv() {
                    write_one(&mut out, Ok(record));
                }
                let _ = out.flush();
            }
            let _ = out.flush();
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "Could not start the access log thread; no access log.");
    }
}

/// Writes one record (or a lag marker); false once the bus has closed.
fn write_one(
    out: &mut impl Write,
    received: Result<sallyport_pipeline::DecisionRecord, RecvError>,
) -> bool {
    match received {
        Ok(record) => {
            if serde_json::to_writer(&mut *out, &record).is_ok() {
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
