//! The scenario matrix: {direct, gateway} × era × method × upstream count, each at a fixed
//! rate and at saturation.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::client::{Driver, HttpClient, Target, http_client, open};
use crate::gateway::Gateway;
use crate::load::{Measured, closed_loop, open_loop};
use crate::procfs::{Memory, cpu_time, machine_busy};
use crate::upstream::spawn_fast;
use crate::wire::{Endpoint, Era, Op};

/// Which MCP server plays the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UpstreamKind {
    /// The minimal hyper server in `upstream.rs` (JSON answers, both eras).
    Fast,
    /// The rmcp-based `sallyport-demo` server (SSE for legacy sessions).
    Demo,
}

/// Everything a run needs, with `--quick` already applied.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Measured time of each phase.
    pub duration: Duration,
    /// Unmeasured closed-loop time before each phase (opens connections, warms caches).
    pub warmup: Duration,
    /// Operations per second of the fixed-rate phases.
    pub rate: u64,
    /// Workers (and so connections) of the saturation phases.
    pub concurrency: usize,
    /// Numbers of federated upstreams to run.
    pub upstreams: Vec<usize>,
    /// Client eras to run.
    pub eras: Vec<Era>,
    /// Methods to run.
    pub ops: Vec<Op>,
    /// Tools each fast upstream lists.
    pub tools: usize,
    /// Which server plays the upstream.
    pub upstream: UpstreamKind,
    /// The `sallyport` binary.
    pub gateway_bin: PathBuf,
    /// Where the gateway writes its access log.
    pub access_log: PathBuf,
    /// Extra top-level config sections for the gateway (`--limits`, `--audit`, `--authn`).
    pub extra_yaml: String,
    /// `Authorization` header for requests through the gateway (`--authn`).
    pub authorization: Option<http::HeaderValue>,
}

/// Where the load went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// Straight to the upstream(s).
    Direct,
    /// Through the gateway.
    Gateway,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Direct => "direct",
            Self::Gateway => "gateway",
        })
    }
}

/// The shape of the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Open loop at this many operations per second.
    Fixed(u64),
    /// Closed loop with this many workers.
    Saturation(usize),
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fixed(rate) => write!(f, "{rate}/s"),
            Self::Saturation(c) => write!(f, "sat c={c}"),
        }
    }
}

/// One measured phase.
#[derive(Debug, Clone)]
pub struct Row {
    /// Federated upstreams.
    pub upstreams: usize,
    /// Client era.
    pub era: Era,
    /// Method.
    pub op: Op,
    /// Direct or through the gateway.
    pub path: Path,
    /// Fixed rate or saturation.
    pub mode: Mode,
    /// What was measured.
    pub measured: Measured,
    /// The gateway's memory after the phase (gateway phases only).
    pub memory: Option<Memory>,
    /// Gateway CPU time per operation (gateway phases only).
    pub gateway_cpu_per_op: Option<Duration>,
    /// This process's CPU time (load generator and upstreams) per operation.
    pub harness_cpu_per_op: Option<Duration>,
    /// CPUs kept busy on average by other processes on the machine during the phase.
    pub others_cpus: Option<f64>,
}

/// The gateway's memory right after start-up, per group.
#[derive(Debug, Clone)]
pub struct Idle {
    /// Federated upstreams.
    pub upstreams: usize,
    /// Era spoken.
    pub era: Era,
    /// Memory before any load.
    pub memory: Option<Memory>,
}

/// Everything a run measured.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Every phase, in run order.
    pub rows: Vec<Row>,
    /// Idle gateway memory per group.
    pub idle: Vec<Idle>,
}

/// Runs the whole matrix.
pub async fn run(settings: &Settings) -> anyhow::Result<Outcome> {
    let client = http_client();
    let most = settings.upstreams.iter().copied().max().unwrap_or(1);
    let mut urls = Vec::with_capacity(most);
    for _ in 0..most {
        urls.push(match settings.upstream {
            UpstreamKind::Fast => spawn_fast(settings.tools).await?,
            UpstreamKind::Demo => sallyport_demo::spawn_http().await?,
        });
    }
    let mut outcome = Outcome::default();
    for &n in &settings.upstreams {
        for &era in &settings.eras {
            run_group(settings, &client, &urls[..n], era, &mut outcome).await?;
        }
    }
    Ok(outcome)
}

/// One gateway process (`n` upstreams, one era) and every phase that uses it.
async fn run_group(
    settings: &Settings,
    client: &HttpClient,
    urls: &[String],
    era: Era,
    outcome: &mut Outcome,
) -> anyhow::Result<()> {
    let n = urls.len();
    let gw = Gateway::start(
        &settings.gateway_bin,
        urls,
        era,
        &settings.access_log,
        client,
        &settings.extra_yaml,
    )
    .await?;
    eprintln!(
        "[{n} up, {era}] gateway pid {} at {}; upstreams {}",
        gw.pid(),
        gw.url,
        urls.join(" ")
    );
    outcome.idle.push(Idle {
        upstreams: n,
        era,
        memory: gw.memory(),
    });
    let mut direct = Vec::with_capacity(n);
    for url in urls {
        direct.push(open(client, endpoint(url, era, None)?).await?);
    }
    let through = open(
        client,
        endpoint(&gw.url, era, settings.authorization.clone())?,
    )
    .await
    .with_context(|| format!("opening a session with the gateway: {}", gw.stderr_tail()))?;
    for &op in &settings.ops {
        let drivers = drivers(client, op, &direct, &through, &gw).await?;
        // Saturation first: a closed loop cannot overload the gateway, while a fixed rate above
        // its capacity leaves abandoned work behind, which `settle` then waits out.
        for mode in [
            Mode::Saturation(settings.concurrency),
            Mode::Fixed(settings.rate),
        ] {
            for (path, driver) in &drivers {
                let _ = closed_loop(driver.clone(), settings.concurrency, settings.warmup).await;
                let row = phase(settings, &gw, driver.clone(), (n, era, op, *path, mode)).await;
                log_row(&row);
                outcome.rows.push(row);
                settle(&gw).await;
            }
        }
    }
    Ok(())
}

/// The direct and the gateway driver of `op`, each checked with one operation in full.
async fn drivers(
    client: &HttpClient,
    op: Op,
    direct: &[Endpoint],
    through: &Endpoint,
    gw: &Gateway,
) -> anyhow::Result<[(Path, Arc<Driver>); 2]> {
    let direct_targets = direct
        .iter()
        .map(|e| Target {
            endpoint: e.clone(),
            tool: "echo".into(),
        })
        .collect();
    let gateway_targets = (0..direct.len())
        .map(|i| Target {
            endpoint: through.clone(),
            tool: format!("up{i}__echo"),
        })
        .collect();
    let direct = Driver::new(client.clone(), op, direct_targets, true);
    let gateway = Driver::new(client.clone(), op, gateway_targets, false);
    let direct_count = direct.preflight().await.context("direct preflight")?;
    let gateway_count = gateway
        .preflight()
        .await
        .with_context(|| format!("gateway preflight: {}", gw.stderr_tail()))?;
    if op == Op::List && direct_count != gateway_count {
        bail!("the gateway listed {gateway_count} tools, the upstreams {direct_count}");
    }
    Ok([
        (Path::Direct, Arc::new(direct)),
        (Path::Gateway, Arc::new(gateway)),
    ])
}

async fn phase(
    settings: &Settings,
    gw: &Gateway,
    driver: Arc<Driver>,
    (upstreams, era, op, path, mode): (usize, Era, Op, Path, Mode),
) -> Row {
    let me = std::process::id();
    let before = (gw.cpu(), cpu_time(me), machine_busy());
    let measured = match mode {
        Mode::Fixed(rate) => open_loop(driver, rate, settings.duration).await,
        Mode::Saturation(c) => closed_loop(driver, c, settings.duration).await,
    };
    let after = (gw.cpu(), cpu_time(me), machine_busy());
    let used = |a: Option<Duration>, b: Option<Duration>| b?.checked_sub(a?);
    let (gw_used, me_used, all_used) = (
        used(before.0, after.0),
        used(before.1, after.1),
        used(before.2, after.2),
    );
    let per_op =
        |d: Option<Duration>| d.map(|d| d / u32::try_from(measured.ok.max(1)).unwrap_or(u32::MAX));
    let others_cpus = all_used.zip(me_used).zip(gw_used).map(|((all, me), gw)| {
        all.saturating_sub(me).saturating_sub(gw).as_secs_f64()
            / measured.elapsed.as_secs_f64().max(1e-9)
    });
    let through = path == Path::Gateway;
    Row {
        upstreams,
        era,
        op,
        path,
        mode,
        memory: through.then(|| gw.memory()).flatten(),
        gateway_cpu_per_op: if through { per_op(gw_used) } else { None },
        harness_cpu_per_op: per_op(me_used),
        others_cpus,
        measured,
    }
}

/// Waits until the gateway is idle (under 5% of a CPU over 250 ms), for at most 60 s, so one
/// phase's leftover work does not load the next; says so when that took longer than a second.
async fn settle(gw: &Gateway) {
    const WINDOW: Duration = Duration::from_millis(250);
    let start = std::time::Instant::now();
    let mut last = gw.cpu();
    while start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(WINDOW).await;
        let now = gw.cpu();
        let busy = now.zip(last).and_then(|(n, l)| n.checked_sub(l));
        last = now;
        if busy.is_none_or(|b| b < WINDOW / 20) {
            break;
        }
    }
    let waited = start.elapsed();
    if waited > Duration::from_secs(1) {
        eprintln!(
            "  the gateway stayed busy for {:.1} s after the phase (work its clients had abandoned)",
            waited.as_secs_f64()
        );
    }
}

fn endpoint(
    url: &str,
    era: Era,
    authorization: Option<http::HeaderValue>,
) -> anyhow::Result<Endpoint> {
    Ok(Endpoint {
        uri: url.parse().with_context(|| format!("bad URL {url}"))?,
        era,
        session: None,
        authorization,
    })
}

fn log_row(r: &Row) {
    let m = &r.measured;
    eprintln!(
        "[{} up, {}, {}] {:<7} {:<10} ok={} err={} {:.0} op/s p50={:.3} p99={:.3} p99.9={:.3} ms, others {:.2} CPUs{}",
        r.upstreams,
        r.era,
        r.op,
        r.path,
        r.mode.to_string(),
        m.ok,
        m.errors,
        m.throughput(),
        m.ms(50.0),
        m.ms(99.0),
        m.ms(99.9),
        r.others_cpus.unwrap_or(f64::NAN),
        m.first_error
            .as_deref()
            .map(|e| format!(" first error: {e}"))
            .unwrap_or_default(),
    );
}
