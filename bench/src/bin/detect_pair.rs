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
    let mut added_p99 = Vec::with_capacity(args.rounds);
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
        added_p99.push((m[1].ms(99.0) - m[0].ms(99.0)) * 1000.0);
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
    if let Some(s) = RoundSpread::of(&added_p99) {
        println!(
            "\nAdded p99 over the {} rounds: median {:+.0} µs (95 % CI {:+.0} … {:+.0}), \
             mean {:+.0} µs (95 % CI {:+.0} … {:+.0}), standard deviation {:.0} µs.",
            added_p99.len(),
            s.median,
            s.median_ci.0,
            s.median_ci.1,
            s.mean,
            s.mean_ci.0,
            s.mean_ci.1,
            s.sd
        );
    }
    Ok(())
}

/// How one per-round figure spreads over the rounds, with 95 % confidence intervals: for the
/// mean from the normal approximation, for the median from order statistics (no assumption
/// about the distribution, which on a VM has a long tail).
#[derive(Debug, PartialEq)]
struct RoundSpread {
    median: f64,
    median_ci: (f64, f64),
    mean: f64,
    mean_ci: (f64, f64),
    sd: f64,
}

impl RoundSpread {
    /// `None` with fewer than 6 rounds, too few for either interval.
    fn of(values: &[f64]) -> Option<Self> {
        let n = values.len();
        if n < 6 {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            f64::midpoint(sorted[n / 2 - 1], sorted[n / 2])
        };
        // Ranks (1-based) n/2 ∓ 0.98·√n bound the median with about 95 % confidence.
        let half_width = 0.98 * (n as f64).sqrt();
        let lower = ((n as f64 / 2.0 - half_width).floor() as usize).max(1);
        let upper = ((n as f64 / 2.0 + 1.0 + half_width).ceil() as usize).min(n);
        let mean = values.iter().sum::<f64>() / n as f64;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let sd = variance.sqrt();
        let margin = 1.96 * sd / (n as f64).sqrt();
        Some(Self {
            median,
            median_ci: (sorted[lower - 1], sorted[upper - 1]),
            mean,
            mean_ci: (mean - margin, mean + margin),
            sd,
        })
    }
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

#[cfg(test)]
mod tests {
    use super::RoundSpread;

    #[test]
    fn the_spread_of_rounds_has_its_median_mean_and_intervals() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = RoundSpread::of(&values).expect("enough rounds");
        assert!((s.median - 50.5).abs() < 1e-9);
        assert!((s.mean - 50.5).abs() < 1e-9);
        // Ranks 40 and 61 for n = 100 (50 ∓ 9.8 and 51 + 9.8, rounded outwards).
        assert_eq!(s.median_ci, (40.0, 61.0));
        let margin = 1.96 * s.sd / 10.0;
        assert!((s.mean_ci.1 - s.mean - margin).abs() < 1e-9);
        assert!(s.mean_ci.0 < s.mean && s.mean < s.mean_ci.1);
    }

    #[test]
    fn too_few_rounds_have_no_spread() {
        assert_eq!(RoundSpread::of(&[1.0, 2.0, 3.0]), None);
    }
}
