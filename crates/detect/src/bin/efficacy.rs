//! Prints recall and false-positive rate per detector and subset on the corpus's test split
//! (`--split tune` for tuning; `--errors` lists misses and false alarms).
//!
//! Run with `cargo run --release -p sallyport-detect --bin efficacy`.

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
    let table = evaluate(&cases, &DetectConfig::default());
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
