//! Tier-3 (MiniLM) cost per result on 1 KB and 10 KB clean payloads — the case where the
//! cascade runs it, since tiers 1 and 2 found nothing — next to tiers 1+2 alone. Needs the
//! model (`bash scripts/setup-test-env.sh`). Run with
//! `cargo bench -p sallyport-detect --features minilm --bench minilm`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sallyport_detect::minilm::default_model_dir;
use sallyport_detect::{DetectConfig, MiniLmConfig, Tier3, scan_result, scan_result_with};
use serde_json::{Value, json};

const PROSE: &str = "The quarterly report shows revenue grew 4% while operating costs stayed flat. \
Our team moved the release to Thursday so that QA has time for a final regression pass. \
-rw-r--r--  1 alice staff  2048 Nov 21 10:00 README.md\n{\"id\": 4211, \"status\": \"open\", \"labels\": [\"bug\", \"ui\"]}\n\
fn main() { let v: Vec<u32> = (0..10).collect(); println!(\"{v:?}\"); }\n";

fn result_of(size: usize) -> (usize, Value) {
    let mut s = String::with_capacity(size + PROSE.len());
    while s.len() < size {
        s.push_str(PROSE);
    }
    s.truncate(size);
    (
        s.len(),
        json!({"content": [{"type": "text", "text": s}], "isError": false}),
    )
}

fn benches(c: &mut Criterion) {
    let cfg = DetectConfig {
        minilm: Some(MiniLmConfig {
            model_dir: default_model_dir(),
            threshold: None,
        }),
        ..DetectConfig::default()
    };
    let tier3 = match Tier3::load(&cfg) {
        Ok(Some(t)) => t,
        Ok(None) => return,
        Err(e) => {
            eprintln!("skipping the tier-3 bench: {e}");
            return;
        }
    };
    let mut g = c.benchmark_group("tier3");
    g.sample_size(20);
    for (label, size) in [("1KB", 1024), ("10KB", 10 * 1024)] {
        let (bytes, v) = result_of(size);
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_with_input(BenchmarkId::new("tiers_1_2/clean", label), &v, |b, v| {
            b.iter(|| scan_result(black_box(v), &cfg))
        });
        g.bench_with_input(BenchmarkId::new("tiers_1_2_3/clean", label), &v, |b, v| {
            b.iter(|| scan_result_with(black_box(v), &cfg, Some(&tier3)))
        });
    }
    g.finish();
}

criterion_group!(minilm, benches);
criterion_main!(minilm);
