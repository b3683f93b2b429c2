//! The `sallyport` gateway as a separate process: config, start-up, memory and CPU readings.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::client::{HttpClient, send};
use crate::wire::Era;

/// The release `sallyport` binary next to this one (`$CARGO_TARGET_DIR/release/sallyport`).
pub fn default_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the load binary")?;
    let dir = exe.parent().context("the load binary has no directory")?;
    Ok(dir.join("sallyport"))
}

/// A running `sallyport serve`, killed on drop.
#[derive(Debug)]
pub struct Gateway {
    child: Child,
    /// `http://127.0.0.1:PORT/mcp`.
    pub url: String,
    _dir: tempfile::TempDir,
    stderr: PathBuf,
}

impl Gateway {
    /// Starts `binary` in front of `upstreams` (named `up0`, `up1`, …), speaking `era` to
    /// them, and waits until `/healthz` answers.
    pub async fn start(
        binary: &Path,
        upstreams: &[String],
        era: Era,
        access_log: &Path,
        client: &HttpClient,
    ) -> anyhow::Result<Self> {
        if !binary.is_file() {
            bail!(
                "{} not found: build the gateway first with `cargo build --release -p sallyport` \
                 (same CARGO_TARGET_DIR), or pass --gateway-bin",
                binary.display()
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("sallyport.yaml");
        std::fs::write(&config, config_yaml(port, upstreams, era))?;
        let stderr = dir.path().join("stderr.log");
        let child = Command::new(binary)
            .args(["serve", "--log", "warn", "-c"])
            .arg(&config)
            .arg("--access-log")
            .arg(access_log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr)?)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut gw = Self {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
            _dir: dir,
            stderr,
        };
        gw.wait_healthy(port, client).await?;
        Ok(gw)
    }

    async fn wait_healthy(&mut self, port: u16, client: &HttpClient) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let uri: http::Uri = format!("http://127.0.0.1:{port}/healthz").parse()?;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("the gateway exited ({status}): {}", self.stderr_tail());
            }
            let req = http::Request::get(uri.clone()).body(Default::default())?;
            if send(client, req)
                .await
                .is_ok_and(|(s, _, _)| s.is_success())
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the gateway did not become healthy: {}", self.stderr_tail())
    }

    /// The last lines the gateway wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The gateway's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now and at its peak, in KiB (`VmRSS`, `VmHWM`).
    pub fn memory(&self) -> Option<Memory> {
        Memory::of(self.pid())
    }

    /// CPU time used so far (user + system).
    pub fn cpu(&self) -> Option<Duration> {
        cpu_time(self.pid())
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process's resident memory, in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss_kib: u64,
    /// `VmHWM`: the peak since the process started.
    pub hwm_kib: u64,
}

impl Memory {
    fn of(pid: u32) -> Option<Self> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        };
        Some(Self {
            rss_kib: field("VmRSS:")?,
            hwm_kib: field("VmHWM:")?,
        })
    }
}

/// Clock ticks per second in `/proc/PID/stat`: `USER_HZ`, 100 on every Linux ABI we run on.
const USER_HZ: u64 = 100;

/// User plus system CPU time of `pid` (`/proc/PID/stat` fields 14 and 15).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are space-separated.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_nanos(ticks * 1_000_000_000 / USER_HZ))
}

fn config_yaml(port: u16, upstreams: &[String], era: Era) -> String {
    let mut yaml = format!(
        "# Generated by sallyport-bench.\nlisten:\n  http: \"127.0.0.1:{port}\"\n  legacy_sse: false\nservers:\n"
    );
    for (i, url) in upstreams.iter().enumerate() {
        yaml.push_str(&format!(
            "  - name: up{i}\n    http: {{ url: \"{url}\" }}\n    era: {era}\n"
        ));
    }
    yaml
}
