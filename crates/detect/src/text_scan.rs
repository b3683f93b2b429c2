//! Scanning one string leaf through every view a model could read: the normalised text, the
//! ASCII smuggled in Unicode tags, and decoded base64/hex/percent segments.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::argument_rules::ARGUMENT_RULES;
use crate::decode::decode_segments;
use crate::finding::{Class, Finding, Severity};
use crate::fused::FusedRules;
use crate::injection_rules::{INJECTION_RULES, POISON_RULES};
use crate::normalize::{HiddenChars, Normalized, normalize};
use crate::ruleset::{RuleMatch, RuleSet};
use crate::secrets::RULES as SECRETS;

/// Prompt-injection rules (results, definitions, arguments).
pub(crate) static INJECTION: LazyLock<RuleSet> = LazyLock::new(|| RuleSet::new(INJECTION_RULES));
/// Tool-poisoning rules (definitions only).
pub(crate) static POISON: LazyLock<RuleSet> = LazyLock::new(|| RuleSet::new(POISON_RULES));
/// The injection and secret tables, sharing one keyword pass (result leaves).
static INJECTION_AND_SECRETS: LazyLock<FusedRules> =
    LazyLock::new(|| FusedRules::new(&[&INJECTION, &SECRETS]));
/// Code, command, SQL and traversal rules (arguments).
pub(crate) static ARGUMENT: LazyLock<RuleSet> = LazyLock::new(|| RuleSet::new(ARGUMENT_RULES));

/// Findings for invisible characters (each kind once).
pub(crate) fn hidden_findings(hidden: &HiddenChars, path: &str, out: &mut Vec<Finding>) {
    let kinds = [
        (hidden.tags, "hidden.unicode_tags", Severity::Critical),
        (hidden.bidi, "hidden.bidi_control", Severity::High),
        (
            hidden.selectors,
            "hidden.variation_selectors",
            Severity::High,
        ),
        (hidden.zero_width, "hidden.zero_width", Severity::Medium),
    ];
    for (count, id, severity) in kinds {
        if count > 0 {
            let f = Finding::new(id, Class::HiddenText, severity, 1.0).at(path);
            out.push(f.with_excerpt(&format!("{count} invisible characters")));
        }
    }
}

/// Run `rule_sets` over every view of `raw`; findings carry `path`, and an exact span when the
/// match was in the untouched text. Each rule reports at most once per leaf.
pub(crate) fn scan_views(rule_sets: &[&RuleSet], raw: &str, path: &str, out: &mut Vec<Finding>) {
    let n = normalize(raw);
    hidden_findings(&n.hidden, path, out);
    let exact = matches!(n.text, std::borrow::Cow::Borrowed(_));
    let mut seen: HashSet<&'static str> = HashSet::new();
    for rs in rule_sets {
        push_matches(rs.matches(&n.text), &n.text, path, exact, &mut seen, out);
    }
    scan_other_views(rule_sets, &n, path, &mut seen, out);
}

/// Injection rules of a result leaf, as `scan_views(&[&INJECTION], …)`, and the secret rules'
/// matches in `raw`: from the same keyword pass when normalising left `raw` as it was (the
/// usual case), else from a pass of their own.
/// Without `with_secrets`, only the injection rules run and no matches are returned.
pub(crate) fn scan_result_views(
    raw: &str,
    path: &str,
    with_secrets: bool,
    out: &mut Vec<Finding>,
) -> Vec<RuleMatch<'static>> {
    if !with_secrets {
        scan_views(&[&INJECTION], raw, path, out);
        return Vec::new();
    }
    let n = normalize(raw);
    hidden_findings(&n.hidden, path, out);
    let mut seen: HashSet<&'static str> = HashSet::new();
    let secrets = if matches!(n.text, std::borrow::Cow::Borrowed(_)) {
        let mut tables = INJECTION_AND_SECRETS.matches(raw).into_iter();
        let injection = tables.next().unwrap_or_default();
        push_matches(injection, raw, path, true, &mut seen, out);
        tables.next().unwrap_or_default()
    } else {
        push_matches(
            INJECTION.matches(&n.text),
            &n.text,
            path,
            false,
            &mut seen,
            out,
        );
        SECRETS.matches(raw)
    };
    scan_other_views(&[&INJECTION], &n, path, &mut seen, out);
    secrets
}

/// The smuggled (Unicode tags) and decoded views of a normalised leaf.
fn scan_other_views(
    rule_sets: &[&RuleSet],
    n: &Normalized<'_>,
    path: &str,
    seen: &mut HashSet<&'static str>,
    out: &mut Vec<Finding>,
) {
    if !n.smuggled.is_empty() {
        for rs in rule_sets {
            push_matches(rs.matches(&n.smuggled), &n.smuggled, path, false, seen, out);
        }
    }
    let before_decoded = out.len();
    for d in decode_segments(&n.text) {
        let inner = normalize(&d.text);
        for rs in rule_sets {
            push_matches(rs.matches(&inner.text), &inner.text, path, false, seen, out);
        }
    }
    if out.len() > before_decoded {
        let f = Finding::new(
            "obfuscation.encoded_instruction",
            Class::Encoded,
            Severity::High,
            0.9,
        )
        .at(path);
        out.push(f.with_excerpt("instruction inside an encoded segment"));
    }
}

fn push_matches(
    matches: Vec<RuleMatch<'_>>,
    text: &str,
    path: &str,
    exact: bool,
    seen: &mut HashSet<&'static str>,
    out: &mut Vec<Finding>,
) {
    for m in matches {
        if NEGATABLE.contains(&m.rule.id) && negated(text, m.value.start) {
            continue;
        }
        if seen.insert(m.rule.id) {
            out.push(m.to_finding(text, exact).at(path));
        }
    }
}

/// Rules whose match is an order only when not negated ("do not include API keys").
const NEGATABLE: &[&str] = &[
    "poison.credential_access",
    "poison.hidden_instruction",
    "poison.side_channel_param",
    "inj.exfil_instruction",
    "inj.tool_directive",
];

/// Is there a negation in the few words before `start`?
fn negated(text: &str, start: usize) -> bool {
    let mut from = start.saturating_sub(24);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let before = text[from..start].to_ascii_lowercase();
    [
        "not ",
        "never ",
        "n't ",
        "n’t ",
        "avoid ",
        "without ",
        "no need to ",
    ]
    .iter()
    .any(|n| before.contains(n))
}
