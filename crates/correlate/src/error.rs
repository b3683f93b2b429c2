//! Rule errors: each names the rule and the field, so an operator can fix the file.

/// A rule that cannot be compiled, or a rules file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// A field of one rule is wrong.
    #[error("rule `{rule}`: {field}: {problem}")]
    Invalid {
        /// The rule's id, or its position (`rules[3]`) when the id itself is missing.
        rule: String,
        /// Path of the field inside the rule (`condition.steps[1].tool[0]`).
        field: String,
        /// What is wrong with it.
        problem: RuleProblem,
    },
    /// Two rules share an id.
    #[error("rule id `{id}` is used twice: {first} and {second}")]
    DuplicateId {
        /// The id.
        id: String,
        /// Where it is first defined (`rules[0]`, `rules_file rules[2]`).
        first: String,
        /// Where it is defined again.
        second: String,
    },
    /// `disabled_rules` names a rule that is not shipped.
    #[error("disabled_rules[{index}]: no shipped rule has id `{id}`")]
    UnknownDisabledRule {
        /// Position in `disabled_rules`.
        index: usize,
        /// The id.
        id: String,
    },
    /// A rules file is not valid YAML for the rule language.
    #[error("{origin}: {message}")]
    Yaml {
        /// Which file (a path, or `shipped rules`).
        origin: String,
        /// The parser's message, with line and column.
        message: String,
    },
}

/// What is wrong with a rule field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleProblem {
    /// A string or list that must not be empty is.
    #[error("must not be empty")]
    Empty,
    /// The id has characters other than letters, digits, `_`, `-`, `.`.
    #[error("`{value}` may only hold letters, digits, `_`, `-` and `.`")]
    BadId {
        /// The id.
        value: String,
    },
    /// A number that must be at least 1 is 0.
    #[error("must be at least 1")]
    Zero,
    /// A number is over its limit.
    #[error("{value} is over the limit of {max}")]
    TooLarge {
        /// The number given.
        value: u64,
        /// The largest allowed.
        max: u64,
    },
    /// A sequence has fewer than two steps.
    #[error("a sequence needs at least 2 steps, found {found}")]
    TooFewSteps {
        /// How many steps there are.
        found: usize,
    },
    /// Not a MITRE ATT&CK or ATLAS id.
    #[error(
        "`{value}` is not a MITRE ATT&CK or ATLAS id (like T1110, T1110.004, TA0006, AML.T0051)"
    )]
    BadMitreId {
        /// The text given.
        value: String,
    },
    /// A field appears twice in `group_by`.
    #[error("`{field}` is listed twice")]
    DuplicateField {
        /// The field.
        field: &'static str,
    },
    /// A distinct rule counts a field it also groups by, so it would only ever see one value.
    #[error("`{field}` is also in group_by, so each key only ever has one value of it")]
    DistinctFieldGrouped {
        /// The field.
        field: &'static str,
    },
    /// An action needs a target the rule's key does not have.
    #[error("`{action}` acts on {needed}, so group_by must include it")]
    MissingTarget {
        /// The action's name.
        action: &'static str,
        /// The field(s) it can act on, as text (`principal or session`).
        needed: String,
    },
}
