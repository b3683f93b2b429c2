//! The `correlation:` section and the rule language (docs/correlation.md).

use std::marker::PhantomData;
use std::num::NonZeroU32;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::de::{self, IntoDeserializer, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::action::CorrelationAction;
use crate::error::RuleError;
use crate::event::KeyField;

/// Largest rules file read, in bytes (of scalar text).
const MAX_RULES_FILE_BYTES: usize = 4 * 1024 * 1024;
/// Default cap on keys tracked per rule.
const DEFAULT_MAX_KEYS_PER_RULE: u32 = 10_000;

/// Correlation rules over the security event stream (docs/correlation.md): the shipped
/// rules, a rules file and inline rules, compiled together by
/// [`CorrelationConfig::compile`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct CorrelationConfig {
    /// Whether the correlation engine runs. When off, rules are still checked.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Whether the shipped rules (`crates/correlate/rules/default.yaml`) are loaded. A rule
    /// of your own with a shipped rule's id replaces it.
    #[serde(default = "yes")]
    pub include_default_rules: bool,
    /// Ids of shipped rules to turn off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disabled_rules: Vec<String>,
    /// A YAML file holding more rules (`rules: [...]`), read by the gateway and passed to
    /// [`CorrelationConfig::compile_with_file`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules_file: Option<PathBuf>,
    /// Rules written inline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleConfig>,
    /// Most keys (principals, addresses, …) tracked at once per rule; beyond it the least
    /// recently seen key is forgotten.
    #[serde(default = "default_max_keys_per_rule")]
    pub max_keys_per_rule: NonZeroU32,
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            include_default_rules: true,
            disabled_rules: Vec::new(),
            rules_file: None,
            rules: Vec::new(),
            max_keys_per_rule: default_max_keys_per_rule(),
        }
    }
}

fn yes() -> bool {
    true
}

fn default_max_keys_per_rule() -> NonZeroU32 {
    NonZeroU32::new(DEFAULT_MAX_KEYS_PER_RULE).unwrap_or(NonZeroU32::MIN)
}

/// A rules file: a YAML document with one key, `rules`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RuleFile {
    /// The rules.
    pub rules: Vec<RuleConfig>,
}

impl RuleFile {
    /// Parses a rules file. `origin` names it in the error (a path, or `shipped rules`).
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, RuleError> {
        serde_saphyr::from_str_with_options(text, yaml_options()).map_err(|error| RuleError::Yaml {
            origin: origin.to_owned(),
            message: error.to_string(),
        })
    }
}

/// Parser options for rules files, as for the main configuration: YAML 1.2 booleans only
/// (`y`, `on` are strings), budgets against alias bombs and deep nesting, no source
/// snippets in errors.
fn yaml_options() -> serde_saphyr::Options {
    let budget = serde_saphyr::budget! {
        max_depth: 32,
        max_documents: 1,
        max_nodes: 100_000,
        max_events: 250_000,
        max_aliases: 1_000,
        max_anchors: 1_000,
        max_merge_keys: 1_000,
        max_total_scalar_bytes: MAX_RULES_FILE_BYTES,
        max_recorded_anchor_events: 20_000,
        max_recorded_anchor_bytes: MAX_RULES_FILE_BYTES,
    };
    serde_saphyr::options! {
        budget: budget,
        strict_booleans: true,
        with_snippet: false,
    }
}

/// One correlation rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RuleConfig {
    /// Stable id (letters, digits, `_`, `-`, `.`): in alerts, logs, metrics and
    /// `disabled_rules`.
    pub id: String,
    /// One line for humans.
    pub title: String,
    /// Longer explanation, for the docs and the console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How serious a firing is.
    pub severity: Severity,
    /// MITRE ATT&CK (`T1110`, `T1110.004`, `TA0006`) and ATLAS (`AML.T0051`) ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mitre: Vec<String>,
    /// The sliding window, in seconds: events further apart than this never correlate.
    pub window_secs: u64,
    /// After firing for a key, stay quiet for that key this long, in seconds. Default: the
    /// window. `0` fires every time the condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown_secs: Option<u64>,
    /// Fields whose values together make the key events are counted under. Events missing
    /// one of them are ignored by the rule. `[]` counts all events together.
    pub group_by: Vec<KeyField>,
    /// What must happen for the rule to fire.
    pub condition: ConditionConfig,
    /// What the gateway should do when the rule fires.
    #[serde(default = "default_actions")]
    pub actions: Vec<CorrelationAction>,
}

fn default_actions() -> Vec<CorrelationAction> {
    vec![CorrelationAction::Alert]
}

/// The four rule types, chosen by `type:`.
#[expect(
    clippy::large_enum_variant,
    reason = "configuration, built once; boxing would only complicate construction"
)]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConditionConfig {
    /// At least `count` matching events within the window, per key.
    Threshold {
        /// Which events count.
        #[serde(rename = "match")]
        selector: SelectorConfig,
        /// How many (1 to 10,000).
        count: u32,
    },
    /// The steps in order within the window, per key; other events may come in between.
    Sequence {
        /// Two to four selectors, in order.
        steps: Vec<SelectorConfig>,
    },
    /// At least `count` different values of `field` among matching events within the
    /// window, per key.
    Distinct {
        /// Which events count.
        #[serde(rename = "match")]
        selector: SelectorConfig,
        /// The field whose different values are counted (not one of `group_by`).
        field: KeyField,
        /// How many different values (1 to 256).
        count: u32,
    },
    /// An event matching `start`, then no event matching `expect` for the same key within
    /// the window: fires at the first [`Engine::tick`](crate::Engine::tick) after the
    /// window ends.
    Absence {
        /// The event that opens the wait.
        start: SelectorConfig,
        /// The event that must follow.
        expect: SelectorConfig,
    },
}

impl ConditionConfig {
    /// Stable name, as in config (`type:`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Threshold { .. } => "threshold",
            Self::Sequence { .. } => "sequence",
            Self::Distinct { .. } => "distinct",
            Self::Absence { .. } => "absence",
        }
    }
}

/// Which events a rule (or a step) looks at: every listed field must match. A list means
/// any of its values; an absent field matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct SelectorConfig {
    /// Event kind(s), compared exactly.
    pub kind: OneOrMany<String>,
    /// Tool name glob(s): `*` matches any run of characters; ASCII case is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<OneOrMany<String>>,
    /// Upstream server name glob(s), as for `tool`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<OneOrMany<String>>,
    /// Decision outcome(s) (`allow`, `deny`, …), compared exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<OneOrMany<String>>,
    /// Tool action class(es) (`read`, `write`, `delete`, `execute`), compared exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<OneOrMany<String>>,
    /// Authentication method(s), compared exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<OneOrMany<String>>,
    /// Label(s): the event must carry at least one of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<OneOrMany<String>>,
}

/// One value or a list of values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// A single value.
    One(T),
    /// A list of values.
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// The values, as a slice.
    pub fn as_slice(&self) -> &[T] {
        match self {
            Self::One(value) => std::slice::from_ref(value),
            Self::Many(values) => values,
        }
    }
}

/// By hand rather than `#[serde(untagged)]`, for an error that says what is expected.
impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OneOrManyVisitor(PhantomData))
    }
}

struct OneOrManyVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrManyVisitor<T> {
    type Value = OneOrMany<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string or a list of strings")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        T::deserialize(value.into_deserializer()).map(OneOrMany::One)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(value) = seq.next_element()? {
            values.push(value);
        }
        Ok(OneOrMany::Many(values))
    }
}

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        Self::Many(Vec::new())
    }
}

impl From<&str> for OneOrMany<String> {
    fn from(value: &str) -> Self {
        Self::One(value.to_owned())
    }
}

/// How serious something is: a fired rule, a security event, a notification (seed 001's
/// scale). Ordered `info < warning < high < critical`; the one type the response crates share.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth recording.
    Info,
    /// Worth a look.
    Warning,
    /// An attack is likely.
    High,
    /// An attack is under way.
    Critical,
}

impl Severity {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
