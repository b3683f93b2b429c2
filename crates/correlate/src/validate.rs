//! Checks on one rule, each error naming the rule and the field.

use crate::config::{ConditionConfig, OneOrMany, RuleConfig, SelectorConfig};
use crate::error::{RuleError, RuleProblem};
use crate::event::KeyField;

/// Largest threshold `count` (each key keeps one timestamp per counted event).
pub(crate) const MAX_THRESHOLD_COUNT: u32 = 10_000;
/// Largest distinct `count` (each key keeps one entry per value).
pub(crate) const MAX_DISTINCT_COUNT: u32 = 256;
/// Most steps in a sequence.
pub(crate) const MAX_SEQUENCE_STEPS: usize = crate::detector::MAX_STEPS;
/// Longest window or cooldown: 30 days.
pub(crate) const MAX_WINDOW_SECS: u64 = 30 * 24 * 3600;

/// Collects the errors of one rule; `position` (`rules[3]`) names it if the id is empty.
pub(crate) fn check_rule(rule: &RuleConfig, position: &str, errors: &mut Vec<RuleError>) {
    let name = if rule.id.is_empty() {
        position.to_owned()
    } else {
        rule.id.clone()
    };
    let mut report = |field: String, problem: RuleProblem| {
        errors.push(RuleError::Invalid {
            rule: name.clone(),
            field,
            problem,
        });
    };
    check_header(rule, &mut report);
    check_group_by(rule, &mut report);
    check_condition(&rule.condition, &rule.group_by, &mut report);
    for (at, action) in rule.actions.iter().enumerate() {
        let targets = action.target_fields();
        if !targets.is_empty() && !targets.iter().any(|t| rule.group_by.contains(t)) {
            let needed: Vec<&str> = targets.iter().map(|t| t.as_str()).collect();
            let problem = RuleProblem::MissingTarget {
                action: action.as_str(),
                needed: needed.join(" or "),
            };
            report(format!("actions[{at}]"), problem);
        }
    }
}

type Report<'a> = dyn FnMut(String, RuleProblem) + 'a;

fn check_header(rule: &RuleConfig, report: &mut Report<'_>) {
    if rule.id.is_empty() {
        report("id".into(), RuleProblem::Empty);
    } else if !rule
        .id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        report(
            "id".into(),
            RuleProblem::BadId {
                value: rule.id.clone(),
            },
        );
    }
    if rule.title.trim().is_empty() {
        report("title".into(), RuleProblem::Empty);
    }
    for (at, id) in rule.mitre.iter().enumerate() {
        if !is_mitre_id(id) {
            report(
                format!("mitre[{at}]"),
                RuleProblem::BadMitreId { value: id.clone() },
            );
        }
    }
    check_secs("window_secs", rule.window_secs, true, report);
    if let Some(cooldown) = rule.cooldown_secs {
        check_secs("cooldown_secs", cooldown, false, report);
    }
}

fn check_secs(field: &str, secs: u64, nonzero: bool, report: &mut Report<'_>) {
    if nonzero && secs == 0 {
        report(field.into(), RuleProblem::Zero);
    } else if secs > MAX_WINDOW_SECS {
        let problem = RuleProblem::TooLarge {
            value: secs,
            max: MAX_WINDOW_SECS,
        };
        report(field.into(), problem);
    }
}

fn check_group_by(rule: &RuleConfig, report: &mut Report<'_>) {
    for (at, field) in rule.group_by.iter().enumerate() {
        if rule.group_by[..at].contains(field) {
            let problem = RuleProblem::DuplicateField {
                field: field.as_str(),
            };
            report(format!("group_by[{at}]"), problem);
        }
    }
}

fn check_condition(condition: &ConditionConfig, group_by: &[KeyField], report: &mut Report<'_>) {
    match condition {
        ConditionConfig::Threshold { selector, count } => {
            check_selector(selector, "condition.match", report);
            check_count(*count, MAX_THRESHOLD_COUNT, report);
        }
        ConditionConfig::Distinct {
            selector,
            field,
            count,
        } => {
            check_selector(selector, "condition.match", report);
            check_count(*count, MAX_DISTINCT_COUNT, report);
            if group_by.contains(field) {
                let problem = RuleProblem::DistinctFieldGrouped {
                    field: field.as_str(),
                };
                report("condition.field".into(), problem);
            }
        }
        ConditionConfig::Sequence { steps } => {
            if steps.len() < 2 {
                let problem = RuleProblem::TooFewSteps { found: steps.len() };
                report("condition.steps".into(), problem);
            } else if steps.len() > MAX_SEQUENCE_STEPS {
                let problem = RuleProblem::TooLarge {
                    value: steps.len() as u64,
                    max: MAX_SEQUENCE_STEPS as u64,
                };
                report("condition.steps".into(), problem);
            }
            for (at, step) in steps.iter().enumerate() {
                check_selector(step, &format!("condition.steps[{at}]"), report);
            }
        }
        ConditionConfig::Absence { start, expect } => {
            check_selector(start, "condition.start", report);
            check_selector(expect, "condition.expect", report);
        }
    }
}

fn check_count(count: u32, max: u32, report: &mut Report<'_>) {
    if count == 0 {
        report("condition.count".into(), RuleProblem::Zero);
    } else if count > max {
        let problem = RuleProblem::TooLarge {
            value: u64::from(count),
            max: u64::from(max),
        };
        report("condition.count".into(), problem);
    }
}

fn check_selector(selector: &SelectorConfig, path: &str, report: &mut Report<'_>) {
    check_values(Some(&selector.kind), &format!("{path}.kind"), report);
    let optional = [
        (&selector.tool, "tool"),
        (&selector.server, "server"),
        (&selector.outcome, "outcome"),
        (&selector.action, "action"),
        (&selector.auth_method, "auth_method"),
        (&selector.labels, "labels"),
    ];
    for (values, name) in optional {
        check_values(values.as_ref(), &format!("{path}.{name}"), report);
    }
}

/// A present list must have values, and no value may be empty.
fn check_values(values: Option<&OneOrMany<String>>, path: &str, report: &mut Report<'_>) {
    let Some(values) = values else {
        return;
    };
    if values.as_slice().is_empty() {
        report(path.to_owned(), RuleProblem::Empty);
    }
    for (at, value) in values.as_slice().iter().enumerate() {
        if value.is_empty() {
            let field = match values {
                OneOrMany::One(_) => path.to_owned(),
                OneOrMany::Many(_) => format!("{path}[{at}]"),
            };
            report(field, RuleProblem::Empty);
        }
    }
}

/// `T1110`, `T1110.004`, `TA0006`, `AML.T0051`, `AML.T0051.001`, `AML.TA0010`.
pub(crate) fn is_mitre_id(id: &str) -> bool {
    let id = id.strip_prefix("AML.").unwrap_or(id);
    if let Some(tactic) = id.strip_prefix("TA") {
        return is_digits(tactic, 4);
    }
    let Some(technique) = id.strip_prefix('T') else {
        return false;
    };
    match technique.split_once('.') {
        Some((main, sub)) => is_digits(main, 4) && is_digits(sub, 3),
        None => is_digits(technique, 4),
    }
}

fn is_digits(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mitre_ids() {
        for good in [
            "T1110",
            "T1110.004",
            "TA0006",
            "AML.T0051",
            "AML.T0051.001",
            "AML.TA0010",
        ] {
            assert!(is_mitre_id(good), "{good}");
        }
        for bad in [
            "",
            "T11",
            "T1110.4",
            "t1110",
            "AML.0051",
            "ATLAS.T0051",
            "T1110.",
        ] {
            assert!(!is_mitre_id(bad), "{bad}");
        }
    }
}
