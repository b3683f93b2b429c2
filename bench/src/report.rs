//! The Markdown report: machine, settings, every phase, and the targets.

use std::fmt::Write as _;
use std::time::Duration;

use crate::run::{Mode, Outcome, Path, Row, Settings};

/// The added p99 allowed at the fixed rate, in milliseconds.
const TARGET_ADDED_P99_MS: f64 = 0.3;
/// The saturation throughput through the gateway, as a share of direct, that is the target.
const TARGET_SATURATION_RATIO: f64 = 0.5;

/// What the machine is, read from `/proc`.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Logical CPUs available.
    pub cpus: usize,
    /// `model name` of the first CPU.
    pub model: String,
    /// `MemTotal`.
    pub memory: String,
    /// Kernel release.
    pub kernel: String,
    /// `/proc/loadavg` when read.
    pub load: String,
}

impl Machine {
    /// Reads the machine description now.
    pub fn read() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let after_colon = |text: &str, key: &str| {
            text.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_else(|| "unknown".into())
        };
        Self {
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            model: after_colon(&cpuinfo, "model name"),
            memory: after_colon(&meminfo, "MemTotal"),
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
            load: load_average(),
        }
    }
}

/// The 1/5/15-minute load averages.
pub fn load_average() -> String {
    read_trimmed("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

/// Renders the whole report.
pub fn render(
    command: &str,
    settings: &Settings,
    machine: &Machine,
    load_after: &str,
    outcome: &Outcome,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Command: `{command}`\n");
    let _ = writeln!(
        out,
        "Machine: {} CPUs ({}), {} memory, Linux {}; load average {} before, {} after.\n",
        machine.cpus, machine.model, machine.memory, machine.kernel, machine.load, load_after
    );
    let _ = writeln!(
        out,
        "Settings: {:.1} s per phase after {:.1} s warm-up; fixed rate {}/s (open loop); \
         saturation {} workers (closed loop); {:?} upstream with {} tools; access log to `{}`.\n",
        settings.duration.as_secs_f64(),
        settings.warmup.as_secs_f64(),
        settings.rate,
        settings.concurrency,
        settings.upstream,
        settings.tools,
        settings.access_log.display(),
    );
    phases_table(&mut out, outcome);
    idle_table(&mut out, outcome);
    targets_table(&mut out, outcome);
    out
}

fn phases_table(out: &mut String, outcome: &Outcome) {
    out.push_str(
        "| up | era | method | path | load | ok | err | op/s | p50 ms | p99 ms | p99.9 ms | max ms | harness CPU µs/op | gateway CPU µs/op | other procs CPUs | gateway RSS / peak MiB |\n\
         |---:|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in &outcome.rows {
        let m = &r.measured;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {:.0} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {} | {} | {} |",
            r.upstreams,
            r.era,
            r.op,
            r.path,
            r.mode,
            m.ok,
            m.errors,
            m.throughput(),
            m.ms(50.0),
            m.ms(99.0),
            m.ms(99.9),
            m.hist.max() as f64 / 1e6,
            micros(r.harness_cpu_per_op),
            micros(r.gateway_cpu_per_op),
            r.others_cpus
                .map_or_else(|| "—".into(), |c| format!("{c:.2}")),
            r.memory.map_or_else(
                || "—".into(),
                |mem| format!("{} / {}", mib(mem.rss_kib), mib(mem.hwm_kib))
            ),
        );
    }
    out.push('\n');
}

fn idle_table(out: &mut String, outcome: &Outcome) {
    out.push_str("Gateway RSS right after start-up (before any load):\n\n| up | era | RSS MiB |\n|---:|---|---:|\n");
    for i in &outcome.idle {
        let rss = i.memory.map_or_else(|| "—".into(), |m| mib(m.rss_kib));
        let _ = writeln!(out, "| {} | {} | {} |", i.upstreams, i.era, rss);
    }
    out.push('\n');
}

fn targets_table(out: &mut String, outcome: &Outcome) {
    let _ = writeln!(
        out,
        "Targets: added p99 (gateway p99 − direct p99, fixed rate) ≤ {TARGET_ADDED_P99_MS} ms; \
         saturation throughput through the gateway ≥ {:.0}% of direct.\n",
        TARGET_SATURATION_RATIO * 100.0
    );
    out.push_str(
        "| up | era | method | added p50 ms | added p99 ms | p99 target | direct op/s | gateway op/s | ratio | ratio target |\n\
         |---:|---|---|---:|---:|---|---:|---:|---:|---|\n",
    );
    let find = |r: &Row, path: Path, fixed: bool| {
        outcome.rows.iter().find(|o| {
            o.upstreams == r.upstreams
                && o.era == r.era
                && o.op == r.op
                && o.path == path
                && matches!(o.mode, Mode::Fixed(_)) == fixed
        })
    };
    for r in outcome
        .rows
        .iter()
        .filter(|r| r.path == Path::Gateway && matches!(r.mode, Mode::Fixed(_)))
    {
        let (Some(df), Some(ds), Some(gs)) = (
            find(r, Path::Direct, true),
            find(r, Path::Direct, false),
            find(r, Path::Gateway, false),
        ) else {
            continue;
        };
        let added50 = r.measured.ms(50.0) - df.measured.ms(50.0);
        let added99 = r.measured.ms(99.0) - df.measured.ms(99.0);
        let ratio = gs.measured.throughput() / ds.measured.throughput().max(1e-9);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.3} | {:.3} | {} | {:.0} | {:.0} | {:.0}% | {} |",
            r.upstreams,
            r.era,
            r.op,
            added50,
            added99,
            verdict(added99 <= TARGET_ADDED_P99_MS),
            ds.measured.throughput(),
            gs.measured.throughput(),
            ratio * 100.0,
            verdict(ratio >= TARGET_SATURATION_RATIO),
        );
    }
    out.push('\n');
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**missed**" }
}

fn micros(d: Option<Duration>) -> String {
    d.map_or_else(|| "—".into(), |d| format!("{:.1}", d.as_secs_f64() * 1e6))
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}
