//! Runs every detector over the corpus's test split and holds them to the targets in
//! docs/SECURITY.md. The test split is never used for tuning.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use sallyport_detect::DetectConfig;
use sallyport_detect::eval::{Table, evaluate, load_split, to_markdown};

fn row<'t>(t: &'t Table, detector: &str, subset: &str) -> &'t sallyport_detect::eval::Row {
    t.get(&(detector.to_owned(), subset.to_owned()))
        .unwrap_or_else(|| panic!("no row {detector} / {subset}"))
}

#[test]
fn test_split_meets_targets() {
    let cases = load_split("test").expect("corpus test split loads");
    assert!(
        cases.len() > 1000,
        "corpus unexpectedly small: {}",
        cases.len()
    );
    let t = evaluate(&cases, &DetectConfig::default());
    let md = to_markdown(&t);

    let poison = row(&t, "tool_definition", "tool_poisoning [sallyport-authored]");
    assert!(
        poison.recall() >= 0.95,
        "tool poisoning recall {:.3}\n{md}",
        poison.recall()
    );
    let real = row(&t, "tool_definition", "benign [reference-server]");
    assert!(
        real.negatives >= 100,
        "too few real tool definitions: {}",
        real.negatives
    );
    assert!(
        real.fpr() <= 0.01,
        "FP on real tool definitions {:.3}\n{md}",
        real.fpr()
    );

    let inj = row(&t, "result", "prompt_injection [sallyport-authored]");
    assert!(
        inj.recall() >= 0.90,
        "result injection recall {:.3}\n{md}",
        inj.recall()
    );
    for subset in ["benign [sallyport-authored]", "benign [s-labs]"] {
        let b = row(&t, "result", subset);
        assert!(b.fpr() <= 0.02, "{subset} FP {:.3}\n{md}", b.fpr());
    }

    let secrets = row(&t, "secret", "ALL");
    assert!(
        secrets.recall() >= 0.98,
        "secret recall {:.3}\n{md}",
        secrets.recall()
    );
    assert_eq!(secrets.false_positives, 0, "{md}");
    assert!(row(&t, "pii", "ALL").recall() >= 0.95, "{md}");
    assert!(row(&t, "argument", "ALL").recall() >= 0.90, "{md}");
}
