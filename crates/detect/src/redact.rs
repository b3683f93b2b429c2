//! Typed redaction: rewrite string leaves so that each finding's text becomes
//! `[REDACTED:<label>]`. Only string leaves change; structure, keys and numbers stay.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::finding::Finding;

/// Replace what `findings` point at inside `value`. A finding with an exact span replaces
/// that span; one without (found after normalisation or decoding) replaces its whole leaf.
/// Findings whose path is not a string leaf are ignored. Returns the number of replacements.
pub fn redact(value: &mut Value, findings: &[Finding]) -> usize {
    let mut by_path: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        by_path.entry(f.path.as_str()).or_default().push(f);
    }
    let mut count = 0;
    for (path, group) in by_path {
        let Some(Value::String(s)) = value.pointer_mut(path) else {
            continue;
        };
        count += redact_string(s, &group);
    }
    count
}

/// Redact within one string; returns the number of replacements.
pub fn redact_string(s: &mut String, findings: &[&Finding]) -> usize {
    let whole = findings.iter().find(|f| {
        f.span.as_ref().is_none_or(|r| {
            r.end > s.len() || !s.is_char_boundary(r.start) || !s.is_char_boundary(r.end)
        })
    });
    if let Some(f) = whole {
        *s = format!("[REDACTED:{}]", f.redaction_label());
        return 1;
    }
    let mut spans: Vec<(std::ops::Range<usize>, &'static str)> = findings
        .iter()
        .filter_map(|f| f.span.clone().map(|r| (r, f.redaction_label())))
        .collect();
    spans.sort_by(|a, b| b.0.start.cmp(&a.0.start).then(b.0.end.cmp(&a.0.end)));
    let mut count = 0;
    let mut floor = usize::MAX;
    for (r, label) in spans {
        if r.end > floor {
            continue; // overlaps one already replaced
        }
        s.replace_range(r.clone(), &format!("[REDACTED:{label}]"));
        floor = r.start;
        count += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Class, Severity};
    use serde_json::json;

    fn secret(path: &str, span: std::ops::Range<usize>) -> Finding {
        Finding::new("secret.aws_access_key", Class::Secret, Severity::High, 1.0)
            .at(path)
            .with_span(span)
    }

    #[test]
    fn spans_are_replaced_and_structure_kept() {
        let mut v = json!({"content": [{"type": "text", "text": "key AKIAIOSFODNN7EXAMPLE and AKIAIOSFODNN7EXAMPLF"}], "n": 3});
        let f = [
            secret("/content/0/text", 4..24),
            secret("/content/0/text", 29..49),
        ];
        assert_eq!(redact(&mut v, &f), 2);
        assert_eq!(
            v["content"][0]["text"],
            "key [REDACTED:aws_access_key] and [REDACTED:aws_access_key]"
        );
        assert_eq!(v["n"], 3);
        assert_eq!(v["content"][0]["type"], "text");
    }

    #[test]
    fn spanless_findings_replace_the_leaf_and_bad_paths_are_ignored() {
        let mut v = json!({"a": "hidden stuff", "b": 1});
        let f = Finding::new(
            "inj.ignore_instructions",
            Class::PromptInjection,
            Severity::High,
            1.0,
        )
        .at("/a");
        let g = Finding::new("secret.x", Class::Secret, Severity::High, 1.0)
            .at("/b")
            .with_span(0..1);
        assert_eq!(redact(&mut v, &[f, g]), 1);
        assert_eq!(v["a"], "[REDACTED:ignore_instructions]");
        assert_eq!(v["b"], 1);
    }
}
