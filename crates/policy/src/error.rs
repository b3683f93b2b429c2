//! Policy loading errors: where (file, line, column) and what.

use std::fmt;

use thiserror::Error;

/// One problem found while loading role files or Cedar policies.
///
/// Displays as `policies/limits.cedar:12:7: unexpected token` or
/// `default.yaml: roles.operator.permissions[2]: action "run" must be …`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct PolicyError {
    /// The file (or the origin given to a `from_*` function).
    pub origin: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Field path inside a YAML document (`roles.admin.permissions[0]`), or empty.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl PolicyError {
    /// An error with no location.
    pub fn new(origin: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            line: None,
            column: None,
            path: String::new(),
            message: message.into(),
        }
    }

    /// The same error, about field `path`.
    #[must_use]
    pub fn at_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The same error, at 1-based `line` and `column`.
    #[must_use]
    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        f.write_str(": ")?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_positions() {
        let e = PolicyError::new("a.cedar", "bad").at(3, 7);
        assert_eq!(e.to_string(), "a.cedar:3:7: bad");
        let e = PolicyError::new("r.yaml", "no").at_path("roles.x");
        assert_eq!(e.to_string(), "r.yaml: roles.x: no");
        assert_eq!(line_col("ab\ncd\nef", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
        assert_eq!(line_col("ab", 99), (1, 3));
    }
}
