//! A latency smoke check, not a benchmark (criterion benches belong in `bench/`):
//! `cargo test --release -p sallyport-policy --test perf -- --ignored --nocapture`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/helpers.rs"]
mod helpers;

use std::time::Instant;

use helpers::{now, policy_with, user};
use sallyport_policy::{AuthzRequest, Engine};
use serde_json::json;

/// 100 policies in the shapes the docs show, most of which do not apply to the call.
fn hundred_policies() -> String {
    // One that applies to the measured call.
    let mut text = String::from(
        "@id(\"fs\") forbid (principal, action, resource in Path::\"mcp.fs\") \
         unless { context.arguments.path like \"/srv/data/*\" };\n",
    );
    for i in 1..100 {
        let p = match i % 4 {
            0 => format!(
                "@id(\"p{i}\") forbid (principal, action, resource in Path::\"mcp.s{i}\") \
                 unless {{ context.arguments.path like \"/srv/{i}/*\" }};\n"
            ),
            1 => format!(
                "@id(\"p{i}\") forbid (principal in Role::\"r{i}\", action, resource) \
                 unless {{ context.time.minute_of_day >= 540 }};\n"
            ),
            2 => format!(
                "@id(\"p{i}\") forbid (principal, action == Action::\"delete\", resource) \
                 when {{ context has source_ip && context.source_ip.isInRange(ip(\"10.{i}.0.0/16\")) }};\n"
            ),
            _ => format!(
                "@id(\"p{i}\") forbid (principal, action, resource == Tool::\"pay/t{i}\") \
                 unless {{ context.arguments.amount <= 500 }};\n"
            ),
        };
        text.push_str(&p);
    }
    text
}

fn measure(label: &str, engine: &Engine, args: &serde_json::Value) {
    let mut who = user(&["operator"]);
    who.attributes.source_ip = Some("192.168.1.2".parse().unwrap());
    let t = now();
    let mut samples = Vec::with_capacity(20_000);
    for _ in 0..20_000 {
        let req = AuthzRequest::call(&who, "fs", "read_file", Some(args), t);
        let start = Instant::now();
        let d = engine.decide(&req);
        samples.push(start.elapsed().as_nanos());
        assert!(d.is_allowed(), "{}", d.summary());
    }
    samples.sort_unstable();
    let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize] as f64 / 1000.0;
    println!("{label}: p50 {:.1} µs, p99 {:.1} µs", p(0.5), p(0.99));
}

#[test]
#[ignore = "timing; run in release"]
fn decision_latency() {
    let args = json!({ "path": "/srv/data/x", "mode": "r", "opts": { "follow": false } });
    measure("rbac only", &Engine::new(policy_with("", "")), &args);
    measure(
        "rbac + 1 cedar policy",
        &Engine::new(policy_with(
            "",
            "@id(\"x\") forbid (principal, action, resource) when { false };",
        )),
        &args,
    );
    measure(
        "rbac + 100 cedar policies",
        &Engine::new(policy_with("", &hundred_policies())),
        &args,
    );
    measure(
        "rbac + 100 cedar + trust",
        &Engine::new(policy_with("trust: {}\n", &hundred_policies())),
        &args,
    );
}
