//! Efficacy evaluation over the labelled corpus in `tests/corpus/` (used by the `efficacy`
//! binary and the efficacy test; not needed at run time).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::{
    Class, DetectConfig, KnownTool, Severity, scan_arguments, scan_definition, scan_result,
};

/// One labelled case (one JSONL line).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique id.
    pub id: String,
    /// `malicious` or `benign`.
    pub label: String,
    /// The threat class the case is about (`tool_poisoning`, `prompt_injection`, `secret`, …).
    pub class: String,
    /// `tool_definition`, `result`, `secret`, `pii` or `argument`.
    pub kind: String,
    /// Where it came from.
    pub source: String,
    /// Its licence.
    pub licence: String,
    /// For tool definitions: the upstream that exposes it.
    #[serde(default)]
    pub server: Option<String>,
    /// For secrets: the expected redaction label.
    #[serde(default)]
    pub expect: Option<String>,
    /// The definition, result, text or arguments.
    pub input: Value,
}

impl Case {
    /// True for malicious cases.
    pub fn is_malicious(&self) -> bool {
        self.label == "malicious"
    }
}

/// An error reading the corpus.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CorpusError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line is not a valid case.
    #[error("{path}:{line}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The cause.
        source: serde_json::Error,
    },
}

/// The corpus directory (`tests/corpus` at the workspace root).
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus")
}

/// Every case of one split (`tune` or `test`), all files, in file-name order.
pub fn load_split(split: &str) -> Result<Vec<Case>, CorpusError> {
    let dir = corpus_dir().join(split);
    let io = |path: &Path, source| CorpusError::Io {
        path: path.to_owned(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| io(&dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let case = serde_json::from_str(line).map_err(|source| CorpusError::Parse {
                path: path.clone(),
                line: i + 1,
                source,
            })?;
            cases.push(case);
        }
    }
    Ok(cases)
}

/// Counts for one row of the efficacy table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// Malicious cases.
    pub positives: usize,
    /// Malicious cases detected.
    pub true_positives: usize,
    /// Benign cases.
    pub negatives: usize,
    /// Benign cases flagged.
    pub false_positives: usize,
    /// Ids of misses and false alarms (for tuning on the tune split only).
    pub errors: Vec<String>,
}

impl Row {
    /// Recall in `[0, 1]` (1 when there are no positives).
    pub fn recall(&self) -> f64 {
        if self.positives == 0 {
            1.0
        } else {
            self.true_positives as f64 / self.positives as f64
        }
    }

    /// False-positive rate in `[0, 1]` (0 when there are no negatives).
    pub fn fpr(&self) -> f64 {
        if self.negatives == 0 {
            0.0
        } else {
            self.false_positives as f64 / self.negatives as f64
        }
    }

    fn add(&mut self, case: &Case, flagged: bool) {
        if case.is_malicious() {
            self.positives += 1;
            self.true_positives += usize::from(flagged);
            if !flagged {
                self.errors.push(format!("miss {}", case.id));
            }
        } else {
            self.negatives += 1;
            self.false_positives += usize::from(flagged);
            if flagged {
                self.errors.push(format!("false alarm {}", case.id));
            }
        }
    }
}

/// Rows keyed by `(detector, subset)`.
pub type Table = BTreeMap<(String, String), Row>;

/// Run every detector over `cases`.
pub fn evaluate(cases: &[Case], cfg: &DetectConfig) -> Table {
    let known = reference_tools();
    let mut table = Table::new();
    for case in cases {
        let flagged = detect(case, &known, cfg);
        let detector = case.kind.clone();
        let subset = if case.is_malicious() {
            format!("{} [{}]", case.class, case.source)
        } else {
            format!("benign [{}]", case.source)
        };
        table
            .entry((detector.clone(), subset))
            .or_default()
            .add(case, flagged);
        let all = table.entry((detector, "ALL".to_owned())).or_default();
        all.add(case, flagged);
    }
    table
}

/// Tier-3 rows for the `result` cases: `result tier 3` (the MiniLM classifier alone, at its
/// threshold) and `result tiers 1+2+3` (flagged by tiers 1 and 2, or else by tier 3 — the
/// cascade [`crate::scan_result_with`] runs). Rows are computed like [`evaluate`]'s.
pub fn evaluate_tier3(
    cases: &[Case],
    cfg: &DetectConfig,
    tier3: &crate::Tier3,
) -> Result<Table, crate::Tier3Error> {
    let mut table = Table::new();
    for case in cases.iter().filter(|c| c.kind == "result") {
        let mut parts = Vec::new();
        crate::for_each_string(&case.input, &mut |_, s| parts.push(s));
        let alone = tier3.score(&parts.join("\n"))? >= tier3.threshold();
        let combined = alone || scan_result(&case.input, cfg).injection_detected(cfg);
        let subset = if case.is_malicious() {
            format!("{} [{}]", case.class, case.source)
        } else {
            format!("benign [{}]", case.source)
        };
        for (detector, flagged) in [("result tier 3", alone), ("result tiers 1+2+3", combined)] {
            for s in [subset.clone(), "ALL".to_owned()] {
                table
                    .entry((detector.to_owned(), s))
                    .or_default()
                    .add(case, flagged);
            }
        }
    }
    Ok(table)
}

/// Every finding a case produces (for `efficacy --explain`).
pub fn explain(case: &Case) -> Vec<crate::Finding> {
    let cfg = DetectConfig::default();
    match case.kind.as_str() {
        "tool_definition" => {
            let known = reference_tools();
            let own = case.server.as_deref().unwrap_or("corpus-case");
            let others: Vec<KnownTool<'_>> = known
                .iter()
                .filter(|(s, _)| s != own)
                .map(|(s, n)| KnownTool { server: s, name: n })
                .collect();
            scan_definition(&case.input, &others, &cfg).findings
        }
        "argument" => scan_arguments(&case.input, &cfg).findings,
        _ => {
            let mut r = scan_result(&case.input, &cfg);
            r.findings.push(crate::Finding::new(
                "debug.classifier",
                Class::PromptInjection,
                Severity::Info,
                r.classifier_score,
            ));
            r.findings
        }
    }
}

/// `(server, tool name)` of every reference server's tool (`tests/corpus/sources/reference-tools`):
/// the gateway knows all upstream tool names, so shadowing checks see them regardless of split.
pub fn reference_tools() -> Vec<(String, String)> {
    let dir = corpus_dir().join("sources/reference-tools");
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.filter_map(Result::ok) {
        let Ok(text) = std::fs::read_to_string(e.path()) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let server = v
            .get("server")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        for t in v
            .get("tools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(n) = t.get("name").and_then(Value::as_str) {
                out.push((server.clone(), n.to_owned()));
            }
        }
    }
    out.sort();
    out
}

fn detect(case: &Case, known: &[(String, String)], cfg: &DetectConfig) -> bool {
    match case.kind.as_str() {
        "tool_definition" => {
            let own = case.server.as_deref().unwrap_or("corpus-case");
            let others: Vec<KnownTool<'_>> = known
                .iter()
                .filter(|(s, _)| s != own)
                .map(|(s, n)| KnownTool { server: s, name: n })
                .collect();
            scan_definition(&case.input, &others, cfg).is_poisoned()
        }
        "result" => scan_result(&case.input, cfg).injection_detected(cfg),
        "secret" => {
            let cfg = DetectConfig {
                pii: false,
                classifier: false,
                ..cfg.clone()
            };
            let r = scan_result(&case.input, &cfg);
            let mut secrets = r.of_class(Class::Secret);
            match &case.expect {
                Some(label) if case.is_malicious() => secrets.any(|f| f.redaction_label() == label),
                _ => secrets.next().is_some(),
            }
        }
        "pii" => {
            let cfg = DetectConfig {
                secrets: false,
                classifier: false,
                ..cfg.clone()
            };
            scan_result(&case.input, &cfg)
                .of_class(Class::Pii)
                .next()
                .is_some()
        }
        "argument" => {
            let r = scan_arguments(&case.input, cfg);
            if case.is_malicious() {
                r.findings
                    .iter()
                    .any(|f| f.class.as_str() == case.class && f.severity >= Severity::Medium)
            } else {
                r.findings.iter().any(|f| f.severity >= Severity::High)
            }
        }
        _ => false,
    }
}

/// The table as Markdown.
pub fn to_markdown(table: &Table) -> String {
    let mut out = String::from(
        "| detector | subset | malicious | recall | benign | false positives | FP rate |\n|---|---|---:|---:|---:|---:|---:|\n",
    );
    for ((detector, subset), r) in table {
        out.push_str(&format!(
            "| {detector} | {subset} | {} | {:.1}% ({}/{}) | {} | {} | {:.2}% |\n",
            r.positives,
            r.recall() * 100.0,
            r.true_positives,
            r.positives,
            r.negatives,
            r.false_positives,
            r.fpr() * 100.0
        ));
    }
    out
}
