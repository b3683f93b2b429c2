//! A child process speaking newline-delimited JSON-RPC on stdin/stdout.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use sallyport_mcp::framing::LineDecoder;
use sallyport_mcp::{Limits, Message, parse_message};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{Mutex, mpsc};
use tracing::{debug, info, warn};

use super::{Incoming, LinkError, StdioSpec};

/// The writing half of a running child; reading happens in a task feeding `Incoming`.
#[derive(Debug)]
pub(crate) struct StdioWire {
    server: Arc<str>,
    stdin: Mutex<Option<ChildStdin>>,
    child: Mutex<Option<Child>>,
    grace: Duration,
}

impl StdioWire {
    /// Spawns the child (no shell, explicit argv, cleared environment) and starts its readers.
    pub(crate) fn spawn(
        server: Arc<str>,
        spec: &StdioSpec,
        limits: Limits,
        incoming: mpsc::Sender<Incoming>,
    ) -> Result<Self, LinkError> {
        let mut cmd = Command::new(&spec.command);
        cmd.args(&spec.args)
            .env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own process group: a Ctrl-C at the gateway's terminal does not hit the child.
            .process_group(0);
        if let Some(dir) = &spec.cwd {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().map_err(|e| LinkError::Spawn {
            server: server.to_string(),
            command: spec.command.clone(),
            reason: e.to_string(),
        })?;
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let (Some(stdin), Some(stdout), Some(stderr)) = (stdin, stdout, stderr) else {
            return Err(LinkError::Spawn {
                server: server.to_string(),
                command: spec.command.clone(),
                reason: "child pipes unavailable".into(),
            });
        };
        info!(server = %server, command = %spec.command, pid = child.id(), "Started upstream process.");
        tokio::spawn(read_stdout(server.clone(), stdout, limits, incoming));
        tokio::spawn(read_stderr(server.clone(), stderr));
        Ok(Self {
            server,
            stdin: Mutex::new(Some(stdin)),
            child: Mutex::new(Some(child)),
            grace: spec.shutdown_grace,
        })
    }

    /// True once the process has exited (or was shut down), whether or not its stdout's end
    /// has been read yet.
    pub(crate) async fn has_exited(&self) -> bool {
        match self.child.lock().await.as_mut() {
            Some(child) => !matches!(child.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// Writes one message as one line.
    pub(crate) async fn send(&self, msg: &Message) -> Result<(), LinkError> {
        let line = sallyport_mcp::framing::encode_line(msg);
        let mut guard = self.stdin.lock().await;
        let Some(stdin) = guard.as_mut() else {
            return Err(self.closed());
        };
        if stdin.write_all(&line).await.is_err() || stdin.flush().await.is_err() {
            *guard = None;
            return Err(self.closed());
        }
        Ok(())
    }

    fn closed(&self) -> LinkError {
        LinkError::Closed {
            server: self.server.to_string(),
        }
    }

    /// Clean shutdown per spec: close stdin, wait; SIGTERM, wait; SIGKILL.
    pub(crate) async fn shutdown(&self) {
        self.stdin.lock().await.take();
        let Some(mut child) = self.child.lock().await.take() else {
            return;
        };
        if wait_for(&mut child, self.grace).await {
            return;
        }
        if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        if wait_for(&mut child, self.grace).await {
            return;
        }
        warn!(server = %self.server, "Upstream process ignored SIGTERM; killing it.");
        let _ = child.kill().await;
    }
}

async fn wait_for(child: &mut Child, grace: Duration) -> bool {
    tokio::time::timeout(grace, child.wait()).await.is_ok()
}

async fn read_stdout(
    server: Arc<str>,
    mut stdout: ChildStdout,
    limits: Limits,
    incoming: mpsc::Sender<Incoming>,
) {
    let mut decoder = LineDecoder::new(limits.max_bytes);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match stdout.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for line in decoder.feed(&buf[..n]) {
            let parsed = line
                .map_err(|e| e.to_string())
                .and_then(|l| parse_message(&l, &limits).map_err(|e| e.to_string()));
            match parsed {
                Ok(msg) => {
                    if incoming
                        .send(Incoming::Message { msg, related: None })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Err(error) => {
                    warn!(server = %server, %error, "Upstream wrote an invalid line; skipped.")
                }
            }
        }
    }
    debug!(server = %server, "Upstream stdout closed.");
    let _ = incoming
        .send(Incoming::Closed {
            reason: "process exited".into(),
        })
        .await;
}

async fn read_stderr(server: Arc<str>, stderr: tokio::process::ChildStderr) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let line: String = line.chars().take(2048).collect();
        info!(target: "sallyport::upstream_stderr", server = %server, "{line}");
    }
}
