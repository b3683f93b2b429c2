//! Secret detection: the rule table behind an Aho-Corasick prefilter, plus Shannon-entropy
//! checks that keep generic key-like rules off placeholders and prose.

use std::sync::LazyLock;

use crate::finding::Finding;
use crate::ruleset::{RuleMatch, RuleSet};
use crate::secret_rules::SECRET_RULES;

pub(crate) static RULES: LazyLock<RuleSet> = LazyLock::new(|| RuleSet::new(SECRET_RULES));

/// Rules whose match must also look random (entropy, mixed character classes).
const ENTROPY_GATED: &[&str] = &[
    "secret.generic_api_key",
    "secret.bearer_token",
    "secret.aws_secret_key",
    "secret.url_credentials",
    "secret.connection_string_password",
];

/// Shannon entropy in bits per character.
pub fn shannon_entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for b in s.bytes() {
        counts[b as usize] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = f64::from(n);
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// True when a candidate looks like a real key rather than a placeholder or a word.
pub fn looks_random(s: &str, min_entropy: f64) -> bool {
    let lower = s.to_ascii_lowercase();
    let placeholder = [
        "xxxx",
        "****",
        "<",
        "your",
        "example_",
        "changeme",
        "redacted",
        "placeholder",
        "${",
        "{{",
        "dummy",
        "process.env",
        "os.environ",
    ]
    .iter()
    .any(|p| lower.contains(p));
    let has_digit = s.bytes().any(|b| b.is_ascii_digit());
    let has_alpha = s.bytes().any(|b| b.is_ascii_alphabetic());
    !placeholder && has_digit && has_alpha && shannon_entropy(s) >= min_entropy
}

/// Every secret in `text`, each with an exact span (the secret itself, for typed redaction).
pub fn find_secrets(text: &str, path: &str) -> Vec<Finding> {
    secret_findings(RULES.matches(text), text, path)
}

/// The findings of the secret table's matches in `text` (from [`RULES`], alone or fused
/// with other tables).
pub(crate) fn secret_findings(matches: Vec<RuleMatch<'_>>, text: &str, path: &str) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for m in matches {
        if !accept(&m, text) {
            continue;
        }
        // A specific rule beats the generic one on the same bytes.
        if out
            .iter()
            .any(|f| f.span.as_ref().is_some_and(|s| overlaps(s, &m.value)))
        {
            continue;
        }
        out.push(m.to_finding(text, true).at(path));
    }
    out
}

fn accept(m: &RuleMatch<'_>, text: &str) -> bool {
    let value = &text[m.value.clone()];
    if !ENTROPY_GATED.contains(&m.rule.id) {
        return true;
    }
    let min = if m.rule.id == "secret.url_credentials"
        || m.rule.id == "secret.connection_string_password"
    {
        2.0
    } else {
        3.0
    };
    if min < 3.0 {
        let lower = value.to_ascii_lowercase();
        return !["password", "pass", "secret", "xxxx", "****", "<", "$", "{"]
            .iter()
            .any(|p| lower.contains(p));
    }
    looks_random(value, min)
}

fn overlaps(a: &std::ops::Range<usize>, b: &std::ops::Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// Ids of all secret rules (for docs and efficacy tables).
pub fn secret_rule_ids() -> Vec<&'static str> {
    RULES.specs().iter().map(|s| s.id).collect()
}

#[cfg(test)]
mod tests;
