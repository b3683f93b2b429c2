//! `detect_pair`: what the threat-detection guards add to a `tools/call` end to end. Two
//! gateways run side by side in front of the same fast upstream, one without and one with
//! `detect:` (its defaults, pins in memory), and one open loop drives both at `--rate` calls/s
//! each with their starts interleaved, so both see the same machine at the same moments. A
//! stall of the VM then lands in both histograms instead of in one run and not the other,
//! which is what hides a 50 µs difference between separate runs here.
//!
//! ```text
//! cargo build --release -p sallyport
//! cargo run --release -p sallyport-bench --bin detect_pair -- [--rounds 3] [--duration-secs 20]
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use sallyport_bench::client::{Driver, HttpClient, Target, http_client, open};
use sallyport_bench::gateway::{DETECT_ON_YAML, Gateway, default_binary};
use sallyport_bench::load::{Measured, closed_loop, open_loop_interleaved};
use sallyport_bench::upstream::spawn_fast;
use sallyport_bench::wire::{Endpoint, Era, Op};

/// Detection on against off, end to end, on two gateways driven together.
#[derive(Debug, Parser)]
#[command(name = "detect_pair")]
struct Args {
    /// The `sallyport` binary [default: next to this one].
    #[arg(long)]
    gateway_bin: Option<PathBuf>,
    /// Calls per second to each gateway.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Measured seconds per round.
    #[arg(long, default_value_t = 20)]
    duration_secs: u64,
    /// Closed-loop seconds on each gateway before the rounds.
    #[arg(long, default_value_t = 2)]
    warmup_secs: u64,
    /// Rounds (the order of the two gateways in the interleaving alternates).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// The era the client speaks.
    #[arg(long, value_enum, default_value = "modern")]
    era: Era,
}

/// A gateway with its `tools/call` driver.
struct Side {
    _gateway: Gateway,
    driver: Arc<Driver>,
}

async fn side(
    args: &Args,
    client: &HttpClient,
    upstream: &str,
    yaml: &str,
) -> anyhow::Result<Side> {
    let bin = match &args.gateway_bin {
        Some(b) => b.clone(),
        None => default_binary()?,
    };
    let gw = Gateway::start(
        &bin,
        &[upstream.to_owned()],
        args.era,
        Path::new("/dev/null"),
        client,
        yaml,
    )
    .await?;
    let endpoint = Endpoint {
        uri: gw.url.parse().context("gateway URL")?,
        era: args.era,
        session: None,
        authorization: None,
    };
    let through = open(client, endpoint)
        .await
        .with_context(|| gw.stderr_tail())?;
    let target = Target {
        endpoint: through,
        tool: "up0__echo".into(),
    };
    let driver = Arc::new(Driver::new(client.clone(), Op::Call, vec![target], false));
    driver.preflight().await.with_context(|| gw.stderr_tail())?;
    Ok(Side {
        _gateway: gw,
        driver,
    })
}

fn cells(m: &Measured) -> String {
    format!(
        "{:.3} / {:.3} / {:.3}{}",
        m.ms(50.0),
        m.ms(99.0),
        m.ms(99.9),
        if m.errors > 0 {
            format!(" ({} errors)", m.errors)
        } else {
            String::new()
        }
    )
}

/// A table row: off, on, and what on adds at p50 / p99 / p99.9.
fn row(label: &str, m: &[Measured]) -> String {
    let added = |q: f64| (m[1].ms(q) - m[0].ms(q)) * 1000.0;
    format!(
        "| {label} | {} | {} | {:+.0} / {:+.0} / {:+.0} |",
        cells(&m[0]),
        cells(&m[1]),
        added(50.0),
        added(99.0),
        added(99.9)
    )
}

async fn measure(args: &Args) -> anyhow::Result<()> {
    let client = http_client();
    let upstream = spawn_fast(8).await?;
    let off = side(args, &client, &upstream, "").await?;
    let on = side(args, &client, &upstream, DETECT_ON_YAML).await?;
    let warmup = Duration::from_secs(args.warmup_secs);
    for s in [&off, &on] {
        let _ = closed_loop(s.driver.clone(), 8, warmup).await;
    }
    println!(
        "{} calls/s to each gateway, {} s per round, {} era.\n",
        args.rate, args.duration_secs, args.era
    );
    println!(
        "| round | detect off p50 / p99 / p99.9 ms | detect on p50 / p99 / p99.9 ms | added p50 / p99 / p99.9 µs |"
    );
    println!("|---:|---:|---:|---:|");
    let duration = Duration::from_secs(args.duration_secs);
    let mut pooled: Option<Vec<Measured>> = None;
    for round in 1..=args.rounds {
        let order = if round % 2 == 1 {
            [&off, &on]
        } else {
            [&on, &off]
        };
        let drivers = [order[0].driver.clone(), order[1].driver.clone()];
        let mut m = open_loop_interleaved(&drivers, args.rate, duration).await;
        if round % 2 == 0 {
            m.reverse();
        }
        println!("{}", row(&round.to_string(), &m));
        match &mut pooled {
            None => pooled = Some(m),
            Some(all) => {
                for (a, b) in all.iter_mut().zip(&m) {
                    let _ = a.hist.add(&b.hist);
                    a.errors += b.errors;
                }
            }
        }
    }
    if let Some(all) = pooled.filter(|_| args.rounds > 1) {
        println!("{}", row("**all**", &all));
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; numbers mean little without --release");
    }
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")
        .and_then(|rt| rt.block_on(measure(&args)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
