//! Trains the tier-2 injection classifier on the corpus's **tune** split only and writes
//! `crates/detect/data/injection_model.bin`. Deterministic: fixed seed, fixed order.
//!
//! Run with `cargo run --release -p sallyport-detect --bin train_classifier`.

use sallyport_detect::classifier::{LinearModel, sigmoid, windows};
use sallyport_detect::eval::load_split;
use sallyport_detect::for_each_string;

const BITS: u32 = 16;
const EPOCHS: usize = 12;
const RATE: f32 = 0.08;
const L2: f32 = 1e-5;

struct Example {
    windows: Vec<Vec<u32>>,
    positive: bool,
}

fn text_of(v: &serde_json::Value) -> String {
    let mut parts = Vec::new();
    for_each_string(v, &mut |_, s| parts.push(s.to_owned()));
    parts.join("\n")
}

/// A small deterministic generator (xorshift) for shuffling.
fn shuffle<T>(items: &mut [T], seed: &mut u64) {
    for i in (1..items.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        items.swap(i, (*seed % (i as u64 + 1)) as usize);
    }
}

fn step(m: &mut LinearModel, f: &[u32], y: f32, weight: f32) {
    let mask = (1u32 << m.bits) - 1;
    let g = (m.predict(f) - y) * weight * RATE;
    m.bias -= g;
    for &x in f {
        let w = &mut m.weights[(x & mask) as usize];
        *w -= g + L2 * *w;
    }
}

fn train(examples: &[Example]) -> LinearModel {
    let mut m = LinearModel::empty(BITS);
    let pos = examples.iter().filter(|e| e.positive).count().max(1) as f32;
    let neg_windows = examples
        .iter()
        .filter(|e| !e.positive)
        .map(|e| e.windows.len())
        .sum::<usize>()
        .max(1) as f32;
    let (wp, wn) = (1.0, pos / neg_windows);
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut seed = 0x2545_F491_4F6C_DD1D_u64;
    for _ in 0..EPOCHS {
        shuffle(&mut order, &mut seed);
        for &i in &order {
            let e = &examples[i];
            if e.positive {
                // Multiple-instance learning: the injection sits in some window; learn from the
                // one the model currently finds most suspicious.
                let best = e
                    .windows
                    .iter()
                    .max_by(|a, b| m.predict(a).total_cmp(&m.predict(b)));
                if let Some(w) = best {
                    step(&mut m, w, 1.0, wp);
                }
            } else {
                for w in &e.windows {
                    step(&mut m, w, 0.0, wn.max(0.2));
                }
            }
        }
    }
    m
}

fn accuracy(m: &LinearModel, examples: &[Example]) -> (f64, f64) {
    let score = |e: &Example| e.windows.iter().map(|w| m.predict(w)).fold(0.0, f32::max);
    let pos: Vec<&Example> = examples.iter().filter(|e| e.positive).collect();
    let neg: Vec<&Example> = examples.iter().filter(|e| !e.positive).collect();
    let recall = pos.iter().filter(|e| score(e) >= 0.9).count() as f64 / pos.len().max(1) as f64;
    let fpr = neg.iter().filter(|e| score(e) >= 0.9).count() as f64 / neg.len().max(1) as f64;
    (recall, fpr)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cases = load_split("tune")?;
    let mut examples: Vec<Example> = cases
        .iter()
        .filter(|c| c.kind == "result")
        .map(|c| Example {
            windows: windows(&text_of(&c.input)),
            positive: c.is_malicious(),
        })
        .filter(|e| !e.windows.is_empty())
        .collect();
    let mut seed = 42;
    shuffle(&mut examples, &mut seed);
    let hold = examples.len() / 10;
    let (held, rest) = examples.split_at(hold);
    let m = train(rest);
    let (r, f) = accuracy(&m, held);
    println!(
        "holdout (10% of tune): recall {:.1}%, FP {:.1}% at 0.9",
        r * 100.0,
        f * 100.0
    );
    let m = train(&examples);
    let (r, f) = accuracy(&m, &examples);
    println!(
        "whole tune split: recall {:.1}%, FP {:.1}% at 0.9; bias {:.3}",
        r * 100.0,
        f * 100.0,
        sigmoid(m.bias)
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/injection_model.bin");
    std::fs::write(&path, m.to_bytes())?;
    println!("wrote {}", path.display());
    Ok(())
}
