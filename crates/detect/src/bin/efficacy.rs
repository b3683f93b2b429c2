//! Prints recall and false-positive rate per detector and subset on the corpus's test split
//! (`--split tune` for tuning; `--errors` lists misses and false alarms).
//!
//! Run with `cargo run --release -p sallyport-detect --bin efficacy`. Built with
//! `--features minilm`, it adds the tier-3 rows (`result tier 3`, `result tiers 1+2+3`), with
//! the model from `$SALLYPORT_MINILM_DIR` or `.models/all-MiniLM-L6-v2`.

use sallyport_detect::DetectConfig;
use sallyport_detect::eval::{evaluate, explain, load_split, to_markdown};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args
        .iter()
        .position(|a| a == "--split")
        .and_then(|i| args.get(i + 1))
        .map_or("test", String::as_str);
    let show_errors = args.iter().any(|a| a == "--errors");
    let cases = load_split(split)?;
    if let Some(id) = args
        .iter()
        .position(|a| a == "--explain")
        .and_then(|i| args.get(i + 1))
    {
        for case in cases.iter().filter(|c| &c.id == id) {
            println!("{}", serde_json::to_string_pretty(&explain(case))?);
        }
        return Ok(());
    }
    let start = std::time::Instant::now();
    #[cfg_attr(not(feature = "minilm"), allow(unused_mut))]
    let mut table = evaluate(&cases, &DetectConfig::default());
    #[cfg(feature = "minilm")]
    table.extend(tier3_rows(&cases)?);
    println!(
        "Split: {split} ({} cases, evaluated in {:.2?})\n",
        cases.len(),
        start.elapsed()
    );
    print!("{}", to_markdown(&table));
    if show_errors {
        for ((detector, subset), row) in &table {
            if subset != "ALL" {
                for e in &row.errors {
                    println!("{detector} {subset}: {e}");
                }
            }
        }
    }
    Ok(())
}

#[cfg(feature = "minilm")]
fn tier3_rows(
    cases: &[sallyport_detect::eval::Case],
) -> Result<sallyport_detect::eval::Table, Box<dyn std::error::Error>> {
    let cfg = DetectConfig {
        minilm: Some(sallyport_detect::MiniLmConfig {
            model_dir: sallyport_detect::minilm::default_model_dir(),
            threshold: None,
        }),
        ..DetectConfig::default()
    };
    let Some(tier3) = sallyport_detect::Tier3::load(&cfg)? else {
        return Ok(Default::default());
    };
    let start = std::time::Instant::now();
    let table = sallyport_detect::eval::evaluate_tier3(cases, &cfg, &tier3)?;
    eprintln!(
        "tier 3: threshold {:.4}, evaluated in {:.2?}",
        tier3.threshold(),
        start.elapsed()
    );
    Ok(table)
}
