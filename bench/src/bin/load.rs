//! `load`: runs the Sallyport load benchmark and prints a Markdown report.
//!
//! ```text
//! cargo build --release -p sallyport
//! cargo run --release -p sallyport-bench --bin load -- [--quick] [options]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use sallyport_bench::gateway::DETECT_ON_YAML;
use sallyport_bench::report::{Machine, load_average, render};
use sallyport_bench::run::{Settings, UpstreamKind, run};
use sallyport_bench::wire::{Era, Op};

/// Load harness: tools/call and tools/list, direct and through sallyport, both eras.
#[derive(Debug, Parser)]
#[command(name = "load")]
struct Args {
    /// CI smoke mode: short phases at low load (defaults 1 s, 0.2 s warm-up, 200/s, 8
    /// workers). Asserts no performance target; exits non-zero if any request fails.
    #[arg(long)]
    quick: bool,
    /// Seconds each measured phase lasts [default: 10, quick 1].
    #[arg(long)]
    duration_secs: Option<f64>,
    /// Seconds of unmeasured closed-loop load before each phase [default: 1, quick 0.2].
    #[arg(long)]
    warmup_secs: Option<f64>,
    /// Operations per second of the fixed-rate (open-loop) phases [default: 1000, quick 200].
    #[arg(long)]
    rate: Option<u64>,
    /// Workers, and so connections, of the saturation (closed-loop) phases [default: 32,
    /// quick 8].
    #[arg(long)]
    concurrency: Option<usize>,
    /// Numbers of federated upstreams to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    upstreams: Vec<usize>,
    /// Client eras to run, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "legacy,modern"
    )]
    eras: Vec<Era>,
    /// Methods to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "call,list")]
    methods: Vec<Op>,
    /// Tools each fast upstream lists.
    #[arg(long, default_value_t = 8)]
    tools: usize,
    /// Which server plays the upstream.
    #[arg(long, value_enum, default_value = "fast")]
    upstream: UpstreamKind,
    /// The sallyport binary [default: `sallyport` next to this binary].
    #[arg(long)]
    gateway_bin: Option<PathBuf>,
    /// Where the gateway writes its access log (one JSON line per decision).
    #[arg(long, default_value = "/dev/null")]
    access_log: PathBuf,
    /// Worker threads of this process's runtime (load generator and upstreams)
    /// [default: number of CPUs].
    #[arg(long)]
    threads: Option<usize>,
    /// Also write the report to this file.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Run the gateway with traffic protection on, with limits generous enough never to
    /// refuse, to measure their cost: `local` counters, or `redis` on 127.0.0.1:6379.
    #[arg(long, value_enum, default_value = "off")]
    limits: LimitsMode,
    /// Run the gateway with the audit trail on (a SQLite store in a temp dir): `sync` answers
    /// only after the durable append of each record, `async` after queueing it.
    #[arg(long, value_enum, default_value = "off")]
    audit: AuditMode,
    /// Run the gateway with authentication and authorization on: `jwt-cedar` is a JWT
    /// (ES256, file key set) on every request plus the shipped RBAC policy and 100 Cedar
    /// policies.
    #[arg(long, value_enum, default_value = "off")]
    authn: AuthnMode,
    /// Run the gateway with the threat-detection guards on (`detect:` with default settings:
    /// injection rules, tier-2 classifier, secrets, PII, pinning with an in-memory store).
    #[arg(long, value_enum, default_value = "off")]
    detect: DetectMode,
}

/// Whether the gateway runs the threat-detection guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DetectMode {
    /// No detection (the default).
    Off,
    /// `detect:` with its defaults and `pinning.store: memory`.
    On,
}

impl DetectMode {
    fn yaml(self) -> &'static str {
        match self {
            Self::Off => "",
            Self::On => DETECT_ON_YAML,
        }
    }
}

/// Whether the gateway authenticates and authorizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum AuthnMode {
    /// Neither (the default): every caller is the local operator.
    Off,
    /// JWT + RBAC + 100 Cedar policies.
    JwtCedar,
}

/// Whether the gateway writes an audit trail, and how durably.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum AuditMode {
    /// No audit trail (the default).
    Off,
    /// `durability.mode: sync`.
    Sync,
    /// `durability.mode: async` (`when_full: block`).
    Async,
}

impl AuditMode {
    /// The `audit:` section, with its store and keys in a fresh temp directory.
    fn yaml(self) -> anyhow::Result<String> {
        let mode = match self {
            Self::Off => return Ok(String::new()),
            Self::Sync => "sync",
            Self::Async => "async",
        };
        let dir =
            std::env::temp_dir().join(format!("sallyport-bench-audit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).context("creating the audit directory")?;
        let d = dir.display();
        Ok(format!(
            "audit:\n  store: {{ type: sqlite, path: \"{d}/audit.db\" }}\n  signing_key: \"{d}/audit.pk8\"\n  durability: {{ mode: {mode}, queue_capacity: 100000 }}\n"
        ))
    }
}

/// Which traffic protection the gateway runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LimitsMode {
    /// No limits (the default).
    Off,
    /// Rate limits, concurrency, timeouts and breakers with in-process counters.
    Local,
    /// The same with rate-limit counters in Redis (127.0.0.1:6379).
    Redis,
}

impl LimitsMode {
    /// The `limits:` section: every check runs, none can refuse at benchmark rates.
    fn yaml(self) -> String {
        let common = "limits:\n  rate_limits:\n    global: { requests_per_minute: 100000000, burst_size: 1000000 }\n    per_principal: { requests_per_minute: 100000000, burst_size: 1000000 }\n    per_tool:\n      \"*\": { requests_per_minute: 100000000, burst_size: 1000000 }\n  concurrency:\n    per_upstream: { \"*\": 100000 }\n  timeouts:\n    request_timeout_secs: 60\n  circuit_breakers:\n    default_profile: default\n";
        match self {
            Self::Off => String::new(),
            Self::Local => common.to_owned(),
            Self::Redis => format!(
                "{common}  redis: {{ url: \"redis://127.0.0.1:6379\", key_prefix: \"sallyport-bench:{}\" }}\n",
                std::process::id()
            ),
        }
    }
}

impl Args {
    fn settings(&self) -> anyhow::Result<Settings> {
        let pick = |set: Option<f64>, full: f64, quick: f64| {
            Duration::from_secs_f64(set.unwrap_or(if self.quick { quick } else { full }))
        };
        let gateway_bin = match &self.gateway_bin {
            Some(p) => p.clone(),
            None => sallyport_bench::gateway::default_binary()?,
        };
        anyhow::ensure!(
            self.upstreams.iter().all(|&n| n >= 1),
            "--upstreams must be at least 1"
        );
        let (authn_yaml, authorization) = match self.authn {
            AuthnMode::Off => (String::new(), None),
            AuthnMode::JwtCedar => {
                let dir = std::env::temp_dir()
                    .join(format!("sallyport-bench-authn-{}", std::process::id()));
                let setup = sallyport_bench::authn_mode::jwt_cedar(&dir)?;
                (setup.yaml, Some(setup.authorization))
            }
        };
        Ok(Settings {
            duration: pick(self.duration_secs, 10.0, 1.0),
            warmup: pick(self.warmup_secs, 1.0, 0.2),
            rate: self.rate.unwrap_or(if self.quick { 200 } else { 1000 }),
            concurrency: self.concurrency.unwrap_or(if self.quick { 8 } else { 32 }),
            upstreams: self.upstreams.clone(),
            eras: self.eras.clone(),
            ops: self.methods.clone(),
            tools: self.tools.max(1),
            upstream: self.upstream,
            gateway_bin,
            access_log: self.access_log.clone(),
            extra_yaml: self.limits.yaml() + &self.audit.yaml()? + &authn_yaml + self.detect.yaml(),
            authorization,
        })
    }
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let settings = args.settings()?;
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; numbers mean little without --release");
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let command = format!(
        "cargo run --release -p sallyport-bench --bin load --{}",
        std::env::args()
            .skip(1)
            .map(|a| format!(" {a}"))
            .collect::<String>()
    );
    let machine = Machine::read();
    let outcome = runtime.block_on(run(&settings))?;
    let report = render(&command, &settings, &machine, &load_average(), &outcome);
    println!("{report}");
    if let Some(path) = &args.output {
        std::fs::write(path, &report).with_context(|| format!("writing {}", path.display()))?;
    }
    let errors: u64 = outcome.rows.iter().map(|r| r.measured.errors).sum();
    if errors > 0 {
        eprintln!("{errors} operations failed (see the err column)");
        // At --quick's low load a failure is a bug; at full load it may be overload, which
        // the report shows.
        if args.quick {
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}
