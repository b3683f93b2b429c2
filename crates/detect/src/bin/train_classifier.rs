//! Trains the tier-2 injection classifier on the corpus's **tune** split only and writes
//! `crates/detect/data/injection_model.bin`. Deterministic: fixed seed, fixed order.
//!
//! Run with `cargo run --release -p sallyport-detect --bin train_classifier` (`--dry-run`: print
//! the 5-fold out-of-fold recall and false-positive rates on the tune split, write nothing;
//! `--show-alarms T`: list our benign outputs whose out-of-fold score reaches `T`).

use sallyport_detect::classifier::{LinearModel, sigmoid, windows};
use sallyport_detect::eval::load_split;
use sallyport_detect::for_each_string;

const BITS: u32 = 16;
const EPOCHS: usize = 12;
const RATE: f32 = 0.08;
const L2: f32 = 1e-5;
const FOLDS: usize = 5;
/// Extra weight of our benign tool outputs against S-Labs' benign prompts: tool output is what
/// the guard reads, and S-Labs holds five times as many benign rows.
const OURS_WEIGHT: f32 = 3.0;

struct Example {
    id: String,
    windows: Vec<Vec<u32>>,
    positive: bool,
    /// Whether the case is one of our tool outputs (not an S-Labs prompt).
    ours: bool,
}

/// The windows of every string leaf of a result, each leaf on its own, as the result guard
/// scores them (a short leaf is judged alone, not inside its neighbours' text).
fn leaf_windows(v: &serde_json::Value) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    for_each_string(v, &mut |_, s| out.extend(windows(s)));
    out
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

fn train(examples: &[&Example]) -> LinearModel {
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
                    let domain = if e.ours { OURS_WEIGHT } else { 1.0 };
                    step(&mut m, w, 0.0, wn.max(0.2) * domain);
                }
            }
        }
    }
    m
}

fn score(m: &LinearModel, e: &Example) -> f32 {
    e.windows.iter().map(|w| m.predict(w)).fold(0.0, f32::max)
}

/// Recall and false-positive rate of `scored` (`(score, positive)`) at threshold `t`.
fn rates(scored: &[(f32, bool)], t: f32) -> (f64, f64) {
    let count = |positive: bool| scored.iter().filter(|s| s.1 == positive).count().max(1);
    let hits = |positive: bool| {
        scored
            .iter()
            .filter(|s| s.1 == positive && s.0 >= t)
            .count()
    };
    (
        hits(true) as f64 / count(true) as f64,
        hits(false) as f64 / count(false) as f64,
    )
}

/// Scores every example with a model trained on the other folds (5-fold cross-validation).
fn out_of_fold(examples: &[Example]) -> Vec<(f32, &Example)> {
    let mut scored = Vec::with_capacity(examples.len());
    for fold in 0..FOLDS {
        let held = |i: &usize| i % FOLDS == fold;
        let rest: Vec<&Example> = (0..examples.len())
            .filter(|i| !held(i))
            .map(|i| &examples[i])
            .collect();
        let m = train(&rest);
        scored.extend(
            (0..examples.len())
                .filter(held)
                .map(|i| (score(&m, &examples[i]), &examples[i])),
        );
    }
    scored
}

/// The value after `--name` on the command line, parsed.
fn arg_value<T: std::str::FromStr>(name: &str) -> Option<T> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cases = load_split("tune")?;
    let mut examples: Vec<Example> = cases
        .iter()
        .filter(|c| c.kind == "result")
        .map(|c| Example {
            id: c.id.clone(),
            windows: leaf_windows(&c.input),
            positive: c.is_malicious(),
            ours: c.source != "s-labs",
        })
        .filter(|e| !e.windows.is_empty())
        .collect();
    let mut seed = 42;
    shuffle(&mut examples, &mut seed);
    let oof = out_of_fold(&examples);
    let pick = |ours: Option<bool>| -> Vec<(f32, bool)> {
        oof.iter()
            .filter(|(_, e)| ours.is_none_or(|o| e.ours == o))
            .map(|(s, e)| (*s, e.positive))
            .collect()
    };
    for (what, set) in [
        ("all", None),
        ("S-Labs", Some(false)),
        ("our outputs", Some(true)),
    ] {
        let scored = pick(set);
        for t in [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95] {
            let (r, f) = rates(&scored, t);
            println!(
                "5-fold out-of-fold on tune ({what}) at {t:.2}: recall {:.1}%, FP {:.2}%",
                r * 100.0,
                f * 100.0
            );
        }
    }
    let alarm_at: f32 = arg_value("--show-alarms").unwrap_or(2.0);
    for (s, e) in oof
        .iter()
        .filter(|(s, e)| e.ours && !e.positive && *s >= alarm_at)
    {
        println!("out-of-fold false alarm {s:.3} {}", e.id);
    }
    let all: Vec<&Example> = examples.iter().collect();
    let m = train(&all);
    println!("bias {:.3}", sigmoid(m.bias));
    if std::env::args().any(|a| a == "--dry-run") {
        return Ok(());
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/injection_model.bin");
    std::fs::write(&path, m.to_bytes())?;
    println!("wrote {}", path.display());
    Ok(())
}
