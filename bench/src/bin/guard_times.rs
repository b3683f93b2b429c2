//! `guard_times`: reads a gateway access log (JSON lines, as written by `sallyport serve
//! --access-log FILE` or the load harness's `--access-log FILE`) and prints, per guard, the
//! p50 / p99 / p99.9 of its time per decision record, and per exchange (a request and its
//! answer share an `exchange_id`) the same quantiles of the time all the named guards spent
//! on it, in both directions together.
//!
//! ```text
//! cargo run --release -p sallyport-bench --bin guard_times -- FILE [--guards a,b,c] [--last-secs N]
//! ```
//!
//! `--guards` defaults to the detection guards (`tool_pin`, `tool_arguments`, `tool_result`,
//! `tool_definition`, `tool_flow`); `--last-secs N` keeps only the records of the log's last
//! N seconds (the load harness's fixed-rate phase comes last).

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use hdrhistogram::Histogram;
use sallyport_bench::load::new_hist;

const DETECTION_GUARDS: &str = "tool_pin,tool_arguments,tool_result,tool_definition,tool_flow";

/// Per-guard and per-exchange guard time from an access log.
#[derive(Debug, Parser)]
#[command(name = "guard_times")]
struct Args {
    /// The access log (JSON lines).
    log: PathBuf,
    /// Guards whose time is summed per exchange (comma-separated names).
    #[arg(long, default_value = DETECTION_GUARDS)]
    guards: String,
    /// Keep only the records written in the log's last N seconds.
    #[arg(long)]
    last_secs: Option<u64>,
}

fn quantiles(h: &Histogram<u64>) -> String {
    let us = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    format!(
        "{:>8} | {:>8.1} | {:>8.1} | {:>8.1} | {:>8.1}",
        h.len(),
        us(0.5),
        us(0.99),
        us(0.999),
        h.max() as f64 / 1000.0
    )
}

/// Every record of the log, parsed, to `each`.
fn for_each_record(
    log: &std::path::Path,
    mut each: impl FnMut(serde_json::Value) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let file = std::fs::File::open(log).with_context(|| format!("opening {}", log.display()))?;
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.context("reading the log")?;
        if !line.trim().is_empty() {
            each(serde_json::from_str(&line).with_context(|| format!("line {}", n + 1))?)?;
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let summed: Vec<&str> = args.guards.split(',').map(str::trim).collect();
    let mut since_ms = 0;
    if let Some(secs) = args.last_secs {
        let mut last = 0;
        for_each_record(&args.log, |r| {
            last = last.max(r["time_unix_ms"].as_u64().unwrap_or(0));
            Ok(())
        })?;
        since_ms = last.saturating_sub(secs * 1000);
    }
    let mut per_guard: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    let mut per_exchange: HashMap<String, u64> = HashMap::new();
    for_each_record(&args.log, |record| {
        if record["time_unix_ms"].as_u64().unwrap_or(0) < since_ms {
            return Ok(());
        }
        let exchange = record["exchange_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        for g in record["guards"].as_array().into_iter().flatten() {
            let (Some(name), Some(ns)) = (g["guard"].as_str(), g["duration_ns"].as_u64()) else {
                continue;
            };
            per_guard
                .entry(name.to_owned())
                .or_insert_with(new_hist)
                .saturating_record(ns.max(1));
            if summed.contains(&name) {
                *per_exchange.entry(exchange.clone()).or_default() += ns;
            }
        }
        Ok(())
    })?;
    println!(
        "| guard | records | p50 µs | p99 µs | p99.9 µs | max µs |\n|---|---:|---:|---:|---:|---:|"
    );
    for (name, h) in &per_guard {
        println!("| {name} | {} |", quantiles(h));
    }
    let mut sums = new_hist();
    for ns in per_exchange.values() {
        sums.saturating_record((*ns).max(1));
    }
    println!(
        "| **sum per exchange** of {} | {} |",
        summed.join(", "),
        quantiles(&sums)
    );
    Ok(())
}
