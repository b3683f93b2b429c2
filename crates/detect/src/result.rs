//! Tool-result scanning: prompt injection aimed at the model (tier 1 rules, tier 2 classifier,
//! optional tier 3 MiniLM classifier), markdown/HTML image exfiltration, secrets, personal data
//! and the output size limit.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

use crate::classifier::model;
use crate::config::DetectConfig;
use crate::decode::unreachable_regex;
use crate::finding::{Class, Finding, Severity};
use crate::pii::find_pii;
use crate::secrets::secret_findings;
use crate::text_scan::scan_result_views;
use crate::tier3::{Tier3, Tier3Error};
use crate::walk::for_each_string;

/// Everything found in one tool result.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResultReport {
    /// All findings, in leaf order.
    pub findings: Vec<Finding>,
    /// Tier-1: combined score of the rule findings about injection, in `[0, 1]`.
    pub rule_score: f32,
    /// Tier-2: the classifier's highest window probability over all leaves.
    pub classifier_score: f32,
    /// Tier-3: the MiniLM classifier's highest window probability over the result's text;
    /// `None` when tier 3 is not configured or did not run because tiers 1 and 2 flagged it.
    pub minilm_score: Option<f32>,
    /// Bytes of text scanned.
    pub bytes: usize,
}

impl ResultReport {
    /// Does the result carry an injection aimed at the model? True for any High or Critical
    /// injection, exfiltration, encoding or hidden-text finding, Medium findings from two
    /// different injection rules, a tier-2 score at or above the configured threshold, or a
    /// tier-3 finding (`inj.minilm`: a tier-3 score at or above its threshold).
    pub fn injection_detected(&self, cfg: &DetectConfig) -> bool {
        let rule = self.findings.iter().any(|f| {
            f.severity >= Severity::High
                && matches!(
                    f.class,
                    Class::PromptInjection
                        | Class::Exfiltration
                        | Class::Encoded
                        | Class::HiddenText
                )
        });
        let mut medium: Vec<&str> = self
            .findings
            .iter()
            .filter(|f| {
                f.severity == Severity::Medium
                    && f.class == Class::PromptInjection
                    && f.rule_id != "inj.classifier"
            })
            .map(|f| f.rule_id)
            .collect();
        medium.sort_unstable();
        medium.dedup();
        rule || medium.len() >= 2
            || (cfg.classifier && self.classifier_score >= cfg.classifier_threshold)
            || self.findings.iter().any(|f| f.rule_id == TIER3_RULE)
    }

    /// Findings of the given class.
    pub fn of_class(&self, class: Class) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.class == class)
    }

    /// The highest severity found.
    pub fn max_severity(&self) -> Option<Severity> {
        crate::finding::max_severity(&self.findings)
    }
}

/// Rule id of the tier-3 finding.
pub(crate) const TIER3_RULE: &str = "inj.minilm";

/// Scan every string leaf of a `tools/call` result (content, structuredContent, anything).
/// Tiers 1 and 2 only; see [`scan_result_with`] for tier 3.
pub fn scan_result(result: &Value, cfg: &DetectConfig) -> ResultReport {
    let mut report = ResultReport::default();
    for_each_string(result, &mut |path, text| {
        scan_leaf(text, path, cfg, &mut report)
    });
    finish(report, cfg)
}

/// [`scan_result`], then tier 3 (when given) over the result's text — all string leaves
/// joined by newlines — but only if tiers 1 and 2 did not already flag an injection (a
/// cascade: the costly model runs on what the cheap tiers let through). A tier-3 score at or
/// above its threshold adds an `inj.minilm` finding (Medium, prompt injection). A tier-3
/// inference error is returned: the caller's failure mode applies.
pub fn scan_result_with(
    result: &Value,
    cfg: &DetectConfig,
    tier3: Option<&Tier3>,
) -> Result<ResultReport, Tier3Error> {
    let mut report = scan_result(result, cfg);
    let Some(tier3) = tier3 else {
        return Ok(report);
    };
    if report.injection_detected(cfg) {
        return Ok(report);
    }
    let mut parts = Vec::new();
    for_each_string(result, &mut |_, s| parts.push(s));
    let score = tier3.score(&parts.join("\n"))?;
    report.minilm_score = Some(score);
    if score >= tier3.threshold() {
        let f = Finding::new(TIER3_RULE, Class::PromptInjection, Severity::Medium, score);
        let why = format!(
            "tier-3 classifier (MiniLM) {score:.3} >= {:.3}; tier-2 score {:.3}",
            tier3.threshold(),
            report.classifier_score
        );
        report.findings.push(f.with_excerpt(&why));
    }
    Ok(report)
}

/// Scan one plain text (a resource body, a log message, an error string).
pub fn scan_result_text(text: &str, cfg: &DetectConfig) -> ResultReport {
    let mut report = ResultReport::default();
    scan_leaf(text, "", cfg, &mut report);
    finish(report, cfg)
}

fn finish(mut report: ResultReport, cfg: &DetectConfig) -> ResultReport {
    if let Some(f) = size_finding(report.bytes, cfg) {
        report.findings.push(f);
    }
    let mut keep = 1.0f32;
    for f in report
        .findings
        .iter()
        .filter(|f| f.class == Class::PromptInjection)
    {
        keep *= 1.0 - f.score.clamp(0.0, 1.0);
    }
    report.rule_score = 1.0 - keep;
    if cfg.classifier && report.classifier_score >= cfg.classifier_threshold {
        let f = Finding::new(
            "inj.classifier",
            Class::PromptInjection,
            Severity::Medium,
            report.classifier_score,
        );
        report.findings.push(f.with_excerpt("tier-2 classifier"));
    }
    report
}

/// An `output.oversized` finding when `bytes` exceeds the configured limit.
pub fn size_finding(bytes: usize, cfg: &DetectConfig) -> Option<Finding> {
    (bytes > cfg.max_result_bytes).then(|| {
        Finding::new("output.oversized", Class::Oversized, Severity::Medium, 1.0)
            .with_excerpt(&format!("{bytes} bytes > {}", cfg.max_result_bytes))
    })
}

fn scan_leaf(text: &str, path: &str, cfg: &DetectConfig, report: &mut ResultReport) {
    report.bytes += text.len();
    let secrets = scan_result_views(text, path, cfg.secrets, &mut report.findings);
    image_exfil(text, path, &mut report.findings);
    if cfg.secrets {
        report.findings.extend(secret_findings(secrets, text, path));
    }
    if cfg.pii {
        report.findings.extend(find_pii(text, path));
    }
    if cfg.classifier {
        let s = model().score(&bounded(text, cfg.classifier_max_bytes));
        report.classifier_score = report.classifier_score.max(s);
    }
}

/// Head and tail of `text` within `max` bytes, cut at character boundaries.
pub(crate) fn bounded(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return std::borrow::Cow::Borrowed(text);
    }
    let tail_len = max / 4;
    let mut head_end = max - tail_len;
    while !text.is_char_boundary(head_end) {
        head_end -= 1;
    }
    let mut tail_start = text.len() - tail_len;
    while !text.is_char_boundary(tail_start) {
        tail_start += 1;
    }
    std::borrow::Cow::Owned(format!("{}\n{}", &text[..head_end], &text[tail_start..]))
}

static IMAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)!\[[^\]]{0,200}\]\(\s*<?(https?://[^)\s>]+)|<img\b[^>]{0,200}?\bsrc\s*=\s*["']?(https?://[^"'\s>]+)"#)
        .unwrap_or_else(|e| unreachable_regex(&e))
});

/// Markdown or HTML images whose URL carries data in its query: rendering the image sends it.
fn image_exfil(text: &str, path: &str, out: &mut Vec<Finding>) {
    if !(text.contains("![") || text.contains("<img") || text.contains("<IMG")) {
        return;
    }
    for caps in IMAGE.captures_iter(text) {
        let Some(url) = caps.get(1).or_else(|| caps.get(2)) else {
            continue;
        };
        let Some((_, query)) = url.as_str().split_once('?') else {
            continue;
        };
        let templated =
            query.contains(['{', '<', '$', '[']) || query.to_ascii_lowercase().contains("data");
        let long_value = query
            .split('&')
            .any(|kv| kv.split_once('=').is_some_and(|(_, v)| v.len() >= 24));
        let severity = if templated || long_value {
            Severity::High
        } else {
            Severity::Low
        };
        let f = Finding::new("exfil.markdown_image", Class::Exfiltration, severity, 0.9);
        out.push(f.with_excerpt(url.as_str()).with_span(url.range()).at(path));
    }
}

#[cfg(test)]
mod tests;
