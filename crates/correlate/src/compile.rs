//! Config → [`RuleSet`]: shipped rules, the rules file and inline rules, merged, checked
//! (every error collected) and compiled.

use std::collections::HashMap;

use crate::action::CorrelationAction;
use crate::config::{ConditionConfig, CorrelationConfig, RuleConfig, RuleFile, Severity};
use crate::error::RuleError;
use crate::event::KeyField;
use crate::selector::Selector;
use crate::validate::check_rule;

/// The rules shipped with Sallyport (docs/correlation.md), as YAML.
pub const DEFAULT_RULES_YAML: &str = include_str!("../rules/default.yaml");

/// The shipped rules, parsed.
pub fn default_rules() -> Result<Vec<RuleConfig>, RuleError> {
    RuleFile::from_yaml(DEFAULT_RULES_YAML, "shipped rules").map(|file| file.rules)
}

/// Compiled, checked rules, ready for an [`Engine`](crate::Engine).
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub(crate) rules: Vec<CompiledRule>,
    pub(crate) max_keys_per_rule: usize,
}

impl RuleSet {
    /// How many rules there are.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are none (also when correlation is disabled).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules' ids, in evaluation order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|rule| rule.meta.id.as_str())
    }

    /// Each rule's id and actions, in evaluation order.
    pub fn actions(&self) -> impl Iterator<Item = (&str, &[CorrelationAction])> {
        self.rules
            .iter()
            .map(|rule| (rule.meta.id.as_str(), rule.meta.actions.as_slice()))
    }

    /// Most keys each rule tracks at once.
    pub fn max_keys_per_rule(&self) -> usize {
        self.max_keys_per_rule
    }
}

/// What every rule type shares.
#[derive(Debug, Clone)]
pub(crate) struct RuleMeta {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) severity: Severity,
    pub(crate) mitre: Vec<String>,
    pub(crate) actions: Vec<CorrelationAction>,
    pub(crate) group_by: Box<[KeyField]>,
    pub(crate) window_ms: u64,
    pub(crate) cooldown_ms: u64,
}

/// A rule's condition, with compiled selectors.
#[derive(Debug, Clone)]
pub(crate) enum CompiledCondition {
    Threshold {
        selector: Selector,
        count: u32,
    },
    Distinct {
        selector: Selector,
        field: KeyField,
        count: u32,
    },
    Sequence {
        steps: Vec<Selector>,
    },
    Absence {
        start: Selector,
        expect: Selector,
    },
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    pub(crate) meta: RuleMeta,
    pub(crate) condition: CompiledCondition,
}

impl CorrelationConfig {
    /// Checks and compiles the shipped and inline rules. Use
    /// [`compile_with_file`](Self::compile_with_file) when `rules_file` is set: this crate
    /// does no I/O, so the caller reads the file.
    pub fn compile(&self) -> Result<RuleSet, Vec<RuleError>> {
        self.compile_with_file(None)
    }

    /// Checks and compiles the shipped rules (unless excluded or disabled), the rules of
    /// `file` (the parsed `rules_file`) and the inline rules. A rule of your own with a
    /// shipped rule's id replaces it; two of your own with one id are an error. Every error
    /// is collected. When `enabled` is false the rules are checked and none are returned.
    pub fn compile_with_file(&self, file: Option<&RuleFile>) -> Result<RuleSet, Vec<RuleError>> {
        let mut errors = Vec::new();
        let shipped = default_rules().unwrap_or_else(|error| {
            errors.push(error);
            Vec::new()
        });
        for (index, id) in self.disabled_rules.iter().enumerate() {
            if !shipped.iter().any(|rule| rule.id == *id) {
                let id = id.clone();
                errors.push(RuleError::UnknownDisabledRule { index, id });
            }
        }
        let own = own_rules(file, &self.rules, &mut errors);
        let keep_shipped = |rule: &&RuleConfig| {
            self.include_default_rules
                && !self.disabled_rules.contains(&rule.id)
                && !own.iter().any(|(_, own)| own.id == rule.id)
        };
        let mut selected: Vec<(String, &RuleConfig)> = shipped
            .iter()
            .enumerate()
            .filter(|(_, rule)| keep_shipped(rule))
            .map(|(at, rule)| (format!("shipped rules[{at}]"), rule))
            .collect();
        selected.extend(own);
        for (position, rule) in &selected {
            check_rule(rule, position, &mut errors);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let rules = match self.enabled {
            true => selected
                .iter()
                .map(|(_, rule)| compile_rule(rule))
                .collect(),
            false => Vec::new(),
        };
        Ok(RuleSet {
            rules,
            max_keys_per_rule: self.max_keys_per_rule.get() as usize,
        })
    }
}

/// The rules file's rules, then the inline ones, each with its position; reports ids used
/// twice among them.
fn own_rules<'a>(
    file: Option<&'a RuleFile>,
    inline: &'a [RuleConfig],
    errors: &mut Vec<RuleError>,
) -> Vec<(String, &'a RuleConfig)> {
    let from_file = file.into_iter().flat_map(|file| file.rules.iter());
    let positioned: Vec<(String, &RuleConfig)> = from_file
        .enumerate()
        .map(|(at, rule)| (format!("rules_file rules[{at}]"), rule))
        .chain(
            inline
                .iter()
                .enumerate()
                .map(|(at, rule)| (format!("rules[{at}]"), rule)),
        )
        .collect();
    let mut first_seen: HashMap<&str, &str> = HashMap::new();
    for (position, rule) in &positioned {
        if rule.id.is_empty() {
            continue;
        }
        if let Some(first) = first_seen.insert(&rule.id, position) {
            errors.push(RuleError::DuplicateId {
                id: rule.id.clone(),
                first: first.to_owned(),
                second: position.clone(),
            });
        }
    }
    positioned
}

/// Compiles a rule that passed [`check_rule`].
fn compile_rule(rule: &RuleConfig) -> CompiledRule {
    let window_ms = rule.window_secs.saturating_mul(1000);
    let meta = RuleMeta {
        id: rule.id.clone(),
        title: rule.title.clone(),
        severity: rule.severity,
        mitre: rule.mitre.clone(),
        actions: rule.actions.clone(),
        group_by: rule.group_by.clone().into_boxed_slice(),
        window_ms,
        cooldown_ms: rule
            .cooldown_secs
            .map_or(window_ms, |secs| secs.saturating_mul(1000)),
    };
    let condition = match &rule.condition {
        ConditionConfig::Threshold { selector, count } => CompiledCondition::Threshold {
            selector: Selector::new(selector),
            count: *count,
        },
        ConditionConfig::Distinct {
            selector,
            field,
            count,
        } => CompiledCondition::Distinct {
            selector: Selector::new(selector),
            field: *field,
            count: *count,
        },
        ConditionConfig::Sequence { steps } => CompiledCondition::Sequence {
            steps: steps.iter().map(Selector::new).collect(),
        },
        ConditionConfig::Absence { start, expect } => CompiledCondition::Absence {
            start: Selector::new(start),
            expect: Selector::new(expect),
        },
    };
    CompiledRule { meta, condition }
}
