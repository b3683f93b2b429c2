//! `authn-authz-latency`: p50/p99/p99.9 of authentication and authorization per call, the
//! percentiles criterion does not report. Times each call of every case on its own with
//! `Instant` into a histogram and prints a Markdown table. The cases take turns in rounds,
//! so that load from other processes on a shared machine falls on all of them alike.
//!
//! ```text
//! cargo run --release -p sallyport-bench --bin authn-authz-latency -- [--iterations N]
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use clap::Parser;
use hdrhistogram::Histogram;
use sallyport_bench::authn_authz::{Case, Fixture};
use sallyport_bench::report::{Machine, load_average};

/// The allocator the gateway binary runs with (`crates/sallyport/src/main.rs`), so the
/// figures are those of the gateway's own authentication and authorization code.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The target for authentication plus authorization, at p99, with a warm JWKS cache.
const TARGET_P99: Duration = Duration::from_micros(20);

/// Per-call latency of authentication and authorization.
#[derive(Debug, Parser)]
#[command(name = "authn-authz-latency")]
struct Args {
    /// Calls timed per case.
    #[arg(long, default_value_t = 100_000)]
    iterations: u64,
    /// Untimed calls per case before timing.
    #[arg(long, default_value_t = 10_000)]
    warmup: u64,
    /// Rounds the timed calls are spread over (each case runs `iterations / rounds` calls
    /// per round).
    #[arg(long, default_value_t = 10)]
    rounds: u64,
    /// Only the cases whose label (`authn/jwt_es256`) contains this text.
    #[arg(long)]
    only: Option<String>,
}

/// One case's figures, in nanoseconds.
struct Row {
    label: String,
    mean: f64,
    p50: u64,
    p99: u64,
    p999: u64,
    max: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let machine = Machine::read();
    let fixture = Fixture::new().context("building the fixture")?;
    let mut rows = vec![timer_overhead(args.iterations)?];
    let wanted = |case: &Case| args.only.as_ref().is_none_or(|o| case.label().contains(o));
    let cases: Vec<Case> = Case::ALL.into_iter().filter(wanted).collect();
    let mut hists = Vec::with_capacity(cases.len());
    for case in &cases {
        timed(&fixture, *case, args.warmup, None)?;
        hists.push(histogram()?);
    }
    let rounds = args.rounds.max(1);
    for _ in 0..rounds {
        for (case, hist) in cases.iter().zip(&mut hists) {
            timed(&fixture, *case, args.iterations / rounds, Some(hist))?;
        }
    }
    rows.extend(cases.iter().zip(&hists).map(|(c, h)| row(c.label(), h)));
    fixture.check()?;
    ensure!(fixture.jwks_fetches() == 0, "the JWKS was fetched");

    println!(
        "{} CPUs ({}), load average before: {}, after: {}; {} calls per case in {rounds} rounds after {} warm-up calls; JWKS fetches during the run: 0\n",
        machine.cpus,
        machine.model,
        machine.load,
        load_average(),
        rounds * (args.iterations / rounds),
        args.warmup,
    );
    println!("| case | mean | p50 | p99 | p99.9 | max |");
    println!("|---|---:|---:|---:|---:|---:|");
    for row in &rows {
        println!(
            "| {} | {:.2} µs | {} | {} | {} | {} |",
            row.label,
            row.mean / 1000.0,
            us(row.p50),
            us(row.p99),
            us(row.p999),
            us(row.max)
        );
    }
    let (met, missed): (Vec<&Row>, Vec<&Row>) = rows
        .iter()
        .filter(|r| r.label.starts_with("authn_authz/"))
        .partition(|r| u128::from(r.p99) <= TARGET_P99.as_nanos());
    let names = |rows: &[&Row]| {
        let names: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    };
    println!(
        "\nTarget authn + authz ≤ {} µs at p99. Met: {}. Not met: {}.",
        TARGET_P99.as_micros(),
        names(&met),
        names(&missed)
    );
    Ok(())
}

/// Runs `case` `calls` times, recording each call's time in `hist` when given.
fn timed(
    fixture: &Fixture,
    case: Case,
    calls: u64,
    mut hist: Option<&mut Histogram<u64>>,
) -> anyhow::Result<()> {
    let mut failures = 0u64;
    for _ in 0..calls {
        let start = Instant::now();
        let ok = fixture.run(black_box(case));
        let elapsed = start.elapsed();
        failures += u64::from(!black_box(ok));
        if let Some(hist) = hist.as_deref_mut() {
            hist.saturating_record(nanos(elapsed));
        }
    }
    ensure!(failures == 0, "{}: {failures} calls failed", case.label());
    Ok(())
}

/// What timing costs: two `Instant::now` calls around nothing.
fn timer_overhead(iterations: u64) -> anyhow::Result<Row> {
    let mut hist = histogram()?;
    for _ in 0..iterations {
        let start = Instant::now();
        hist.saturating_record(nanos(black_box(start).elapsed()));
    }
    Ok(row("(timer overhead)".into(), &hist))
}

fn histogram() -> anyhow::Result<Histogram<u64>> {
    // 1 ns to 1 s at 3 significant digits.
    Ok(Histogram::new_with_bounds(1, 1_000_000_000, 3)?)
}

fn row(label: String, hist: &Histogram<u64>) -> Row {
    Row {
        label,
        mean: hist.mean(),
        p50: hist.value_at_quantile(0.50),
        p99: hist.value_at_quantile(0.99),
        p999: hist.value_at_quantile(0.999),
        max: hist.max(),
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn us(nanos: u64) -> String {
    format!("{:.2} µs", nanos as f64 / 1000.0)
}
