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

    fn write_line(&mut self, line: &[u8]) {
        let _ = match self {
            Self::Stderr => std::io::stderr().lock().write_all(line),
            Self::Stdout => std::io::stdout().lock().write_all(line),
            Self::File(f) => f.write_all(line),
        };
    }
}

/// Subscribes to the bus and writes every record until the bus closes.
pub(crate) fn spawn(bus: &DecisionBus, mut target: Target) {
    let mut rx = bus.subscribe();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(record) => {
                    let mut line = serde_json::to_vec(&record).unwrap_or_default();
                    line.push(b'\n');
                    target.write_line(&line);
                }
                Err(RecvError::Lagged(n)) => {
                    let line = format!("{{\"access_log_lagged\":{n}}}\n");
                    target.write_line(line.as_bytes());
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
}
