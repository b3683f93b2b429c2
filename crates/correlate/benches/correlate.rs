//! Correlation throughput on a synthetic stream (1,000 principals, 200 addresses, 50
//! tools, a mix of kinds) through 50 rules: the shipped ones plus generated variants of
//! every type. Run with `cargo bench -p sallyport-correlate`; criterion reports events/s.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sallyport_correlate::{CorrelationConfig, CorrelationEvent, Engine, RuleFile};

const EVENTS: usize = 200_000;
const PRINCIPALS: usize = 1_000;
const ADDRESSES: usize = 200;
const TOOLS: usize = 50;
const RULES: usize = 50;
/// Simulated time between events: 10,000 events a second.
const EVENT_SPACING_US: u64 = 100;

const KINDS: [&str; 9] = [
    "authorization_denied",
    "authentication_failed",
    "rate_limit_exceeded",
    "threat_detected",
    "suspicious_pattern",
    "privilege_escalation_attempt",
    "session_started",
    "tools_listed",
    "tool_call",
];

/// Deterministic xorshift64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Owned strings the events borrow from.
struct Pools {
    principals: Vec<String>,
    addresses: Vec<String>,
    sessions: Vec<String>,
    tools: Vec<String>,
    tenants: Vec<String>,
}

impl Pools {
    fn new() -> Self {
        let verbs = [
            "read", "write", "query", "http", "send", "list", "delete", "fetch",
        ];
        Self {
            principals: (0..PRINCIPALS)
                .map(|i| format!("user-{i:04}@example.com"))
                .collect(),
            addresses: (0..ADDRESSES)
                .map(|i| format!("10.0.{}.{}", i / 250, i % 250))
                .collect(),
            sessions: (0..PRINCIPALS * 2)
                .map(|i| format!("session-{i:08x}"))
                .collect(),
            tools: (0..TOOLS)
                .map(|i| {
                    format!(
                        "{}_{}_{i}",
                        verbs[i % verbs.len()],
                        ["file", "db", "api"][i % 3]
                    )
                })
                .collect(),
            tenants: (0..20).map(|i| format!("tenant-{i}")).collect(),
        }
    }
}

/// The stream: 80 % tool calls (1 % of them flagged `pii`), the rest spread over the
/// security kinds, session starts and tool listings.
fn stream(pools: &Pools) -> Vec<CorrelationEvent<'_>> {
    const PII: &[&str] = &["pii"];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..EVENTS)
        .map(|i| {
            let roll = rng.below(100);
            let kind = match roll {
                0..=5 => KINDS[0],
                6..=9 => KINDS[1],
                10..=13 => KINDS[2],
                14..=15 => KINDS[3],
                16 => KINDS[4],
                17 => KINDS[5],
                18 => KINDS[6],
                19 => KINDS[7],
                _ => KINDS[8],
            };
            let principal = rng.below(PRINCIPALS);
            let mut event = CorrelationEvent::new(kind, i as u64 * EVENT_SPACING_US / 1000)
                .with_principal(&pools.principals[principal])
                .with_source_ip(&pools.addresses[rng.below(ADDRESSES)])
                .with_session(&pools.sessions[principal * 2 + rng.below(2)])
                .with_tool(&pools.tools[rng.below(TOOLS)])
                .with_server("upstream")
                .with_tenant(&pools.tenants[principal % 20])
                .with_outcome(if kind == "tool_call" { "allow" } else { "deny" })
                .with_action(["read", "write", "delete", "execute"][rng.below(4)])
                .with_auth_method("jwt");
            if kind == "tool_call" && rng.below(100) == 0 {
                event = event.with_labels(PII);
            }
            event
        })
        .collect()
}

/// Which generated rules join the shipped ones.
#[derive(Clone, Copy)]
enum Mix {
    /// Variants of the shipped rules (other kinds, keys, counts, windows, labels and tool
    /// lists) and an absence rule family: every rule type, as a deployment would write
    /// them, mostly on security events.
    Variants,
    /// The same, with 15 of the variants replaced by rules that do work on every tool
    /// call, per session: a runaway agent (at least 200 to 2,000 calls), enumeration (at
    /// least 40 to 49 different tools), a session that never calls a tool.
    ToolCallHeavy,
}

/// `count` generated rules of `mix`.
fn generated_rules(count: usize, mix: Mix) -> String {
    if count == 0 {
        return "rules: []\n".to_owned();
    }
    let mut yaml = String::from("rules:\n");
    for i in 0..count {
        let window = 60 + 60 * (i % 10);
        let (group_by, condition) = match mix {
            Mix::ToolCallHeavy if i % 3 == 0 => tool_call_variant(i),
            _ => variant(i),
        };
        let _ = write!(
            yaml,
            "  - id: variant_{i}\n    title: Variant {i}\n    severity: warning\n    \
             window_secs: {window}\n    group_by: {group_by}\n    condition:\n{condition}"
        );
    }
    yaml
}

/// Variant `i` of a shipped rule (or an absence rule): its `group_by` and `condition`.
fn variant(i: usize) -> (&'static str, String) {
    let n = 5 + i % 7;
    let by = |keys: [&'static str; 2]| keys[i / 8 % 2];
    let labels = ["[pii, secret]", "[credential]", "[sensitive, pii]"][i % 3];
    let egress = [
        "['*http*', '*fetch*']",
        "['*send*', '*mail*', '*upload*']",
        "['*webhook*', '*post*']",
    ][i % 3];
    match i % 8 {
        0 => (by(["[source_ip]", "[source_ip, tenant]"]), format!(
            "      {{ type: threshold, match: {{ kind: [authentication_failed, invalid_certificate] }}, count: {n} }}\n"
        )),
        1 => (by(["[source_ip]", "[tenant]"]), format!(
            "      {{ type: distinct, match: {{ kind: authentication_failed }}, field: principal, count: {n} }}\n"
        )),
        2 => (by(["[principal]", "[session]"]), format!(
            "      {{ type: distinct, match: {{ kind: [authorization_denied, rate_limit_exceeded] }}, field: tool, count: {n} }}\n"
        )),
        3 => (by(["[principal]", "[tenant]"]), format!(
            "      {{ type: threshold, match: {{ kind: [privilege_escalation_attempt, authorization_denied], action: [delete, execute] }}, count: {n} }}\n"
        )),
        4 => (by(["[principal]", "[session]"]), format!(
            "      type: sequence\n      steps:\n        - {{ kind: [tool_call, threat_detected], labels: {labels} }}\n        - {{ kind: tool_call, tool: {egress} }}\n"
        )),
        5 => (by(["[principal]", "[session]"]), format!(
            "      type: sequence\n      steps:\n        - {{ kind: tool_call, tool: ['*secret*', '*vault*', '*key_{i}*'] }}\n        - {{ kind: tool_call, tool: {egress} }}\n"
        )),
        6 => (by(["[principal]", "[source_ip]"]), format!(
            "      {{ type: threshold, match: {{ kind: [threat_detected, suspicious_pattern] }}, count: {} }}\n", 2 + n / 2
        )),
        _ => ("[session]", "      type: absence\n      start: { kind: session_started }\n      expect: { kind: tools_listed }\n".to_owned()),
    }
}

/// Rule `i` (a multiple of 3) of the families that work on every tool call.
fn tool_call_variant(i: usize) -> (&'static str, String) {
    let condition = match i / 3 % 3 {
        0 => format!(
            "      {{ type: threshold, match: {{ kind: tool_call }}, count: {} }}\n",
            200 + 50 * i
        ),
        1 => format!(
            "      {{ type: distinct, match: {{ kind: tool_call }}, field: tool, count: {} }}\n",
            40 + i % 10
        ),
        _ => "      type: absence\n      start: { kind: session_started }\n      expect: { kind: tool_call }\n"
            .to_owned(),
    };
    ("[session]", condition)
}

fn engine(extra_rules: usize, mix: Mix) -> Engine {
    let file = RuleFile::from_yaml(&generated_rules(extra_rules, mix), "generated").unwrap();
    let rules = CorrelationConfig::default()
        .compile_with_file(Some(&file))
        .unwrap();
    Engine::new(rules)
}

/// Feeds the stream once, shifted by `offset_ms` so time keeps moving forward, ticking
/// once per simulated second.
fn run(engine: &mut Engine, events: &[CorrelationEvent<'_>], offset_ms: u64) -> usize {
    let mut alerts = Vec::new();
    let mut fired = 0;
    for (i, event) in events.iter().enumerate() {
        let mut event = *event;
        event.time_ms += offset_ms;
        engine.observe_into(black_box(&event), &mut alerts);
        if i % 10_000 == 0 {
            engine.tick_into(event.time_ms, &mut alerts);
        }
        fired += alerts.len();
        alerts.clear();
    }
    fired
}

fn correlate(c: &mut Criterion) {
    let pools = Pools::new();
    let events = stream(&pools);
    let span_ms = EVENTS as u64 * EVENT_SPACING_US / 1000 + 1;
    let mut group = c.benchmark_group("correlate");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    let shipped = engine(0, Mix::Variants).stats().rules;
    let runs = [
        ("shipped_rules", 0, Mix::Variants),
        ("50_rules", RULES - shipped, Mix::Variants),
        (
            "50_rules_tool_call_heavy",
            RULES - shipped,
            Mix::ToolCallHeavy,
        ),
    ];
    for (name, extra, mix) in runs {
        let mut engine = engine(extra, mix);
        assert_eq!(engine.stats().rules, shipped + extra);
        let mut offset = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                offset += span_ms;
                run(&mut engine, &events, offset)
            });
        });
        let stats = engine.stats();
        eprintln!(
            "{name}: {} rules, {} events, {} alerts, {} keys tracked, {} evicted",
            stats.rules,
            stats.events_observed,
            stats.alerts_raised,
            stats.tracked_keys,
            stats.evicted_keys
        );
    }
    group.finish();
}

criterion_group!(benches, correlate);
criterion_main!(benches);
