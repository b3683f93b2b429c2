//! Overhead of the detection guards (rules tier, classifier on by default) on a typical call:
//! the request through `tool_definition`, `tool_pin`, `tool_arguments`, and its 1 KB result
//! through `tool_result`; plus a 20-tool list page. Run with
//! `cargo bench -p sallyport-guards --bench guards`.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sallyport_guards::{DetectionConfig, PinStore, build_with_store};
use sallyport_mcp::version::Era;
use sallyport_mcp::{Message, RequestId};
use sallyport_pipeline::{Chain, Direction, Exchange, Principal};
use serde_json::{Value, json};

fn tools() -> Value {
    let tools: Vec<Value> = (0..20)
        .map(|i| {
            json!({"name": format!("tool_{i}"), "description": "Reads a file from the workspace and returns its text.",
                   "inputSchema": {"type": "object", "properties": {"path": {"type": "string"}, "limit": {"type": "integer"}},
                                   "required": ["path"]}})
        })
        .collect();
    json!({ "tools": tools })
}

fn benches(c: &mut Criterion) {
    let cfg = DetectionConfig::default();
    let chain = Chain::new(build_with_store(&cfg, PinStore::in_memory().unwrap()).unwrap());
    let p = Principal::local();
    let list = Message::result(RequestId::Number(1), tools());
    let mut lx = Exchange::new(Direction::ServerToClient, &list, &p, Era::Legacy);
    lx.server = Some("fs");
    lx.method = Some("tools/list");
    chain.run(&lx);
    c.bench_function("list_page_20_tools", |b| {
        b.iter(|| black_box(chain.run(black_box(&lx))))
    });

    let call = Message::request(
        RequestId::Number(2),
        "tools/call",
        Some(json!({"name": "tool_3", "arguments": {"path": "reports/2025/q3.md", "limit": 200}})),
    );
    let mut cx = Exchange::new(Direction::ClientToServer, &call, &p, Era::Legacy);
    cx.server = Some("fs");
    cx.tool = Some("tool_3");
    c.bench_function("call_request", |b| {
        b.iter(|| black_box(chain.run(black_box(&cx))))
    });

    let text =
        "The quarterly report shows revenue grew 4% while operating costs stayed flat. ".repeat(13);
    let result = Message::result(
        RequestId::Number(2),
        json!({"content": [{"type": "text", "text": text}]}),
    );
    let mut rx = Exchange::new(Direction::ServerToClient, &result, &p, Era::Legacy);
    rx.server = Some("fs");
    rx.tool = Some("tool_3");
    rx.method = Some("tools/call");
    c.bench_function("call_result_1kb", |b| {
        b.iter(|| black_box(chain.run(black_box(&rx))))
    });
}

criterion_group!(guards, benches);
criterion_main!(guards);
