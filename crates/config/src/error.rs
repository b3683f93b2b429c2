//! Configuration errors: where (file, line, column, field path) and what.

use std::fmt;

/// A position in the configuration text, 1-based, counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Line number, starting at 1.
    pub line: usize,
    /// Column number, starting at 1.
    pub column: usize,
}

/// One problem found while loading a configuration.
///
/// Displays as `sallyport.yaml:12:7: servers[2].name: duplicate server name "time"`;
/// parts that are unknown are left out. The message never contains the value of an
/// interpolated environment variable or a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where the text came from: a file path, or the `origin` given to `load_str`.
    pub origin: String,
    /// Field path in the document, e.g. `servers[2].stdio.command`; empty for the root
    /// or when unknown (syntax errors, interpolation errors).
    pub path: String,
    /// Line and column in the original (un-interpolated) text, when known.
    pub location: Option<Location>,
    /// What is wrong, and how to fix it where a hint helps.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut prefix = self.origin.clone();
        if let Some(Location { line, column }) = self.location {
            prefix = format!("{prefix}:{line}:{column}");
        }
        if !prefix.is_empty() {
            write!(f, "{prefix}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Every error found in one load; never empty when returned as an `Err`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The individual errors, in document order.
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    /// Number of errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no errors (never the case for a returned `Err`).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(location: Option<Location>, path: &str) -> ConfigError {
        ConfigError {
            origin: "sallyport.yaml".into(),
            path: path.into(),
            location,
            message: "duplicate server name \"time\"".into(),
        }
    }

    #[test]
    fn display_leaves_out_unknown_parts() {
        let at = Some(Location {
            line: 12,
            column: 7,
        });
        assert_eq!(
            error(at, "servers[2].name").to_string(),
            "sallyport.yaml:12:7: servers[2].name: duplicate server name \"time\""
        );
        assert_eq!(
            error(None, "servers[2].name").to_string(),
            "sallyport.yaml: servers[2].name: duplicate server name \"time\""
        );
        assert_eq!(
            error(at, "").to_string(),
            "sallyport.yaml:12:7: duplicate server name \"time\""
        );
        let both = ConfigErrors(vec![error(at, "a"), error(None, "b")]);
        assert_eq!(both.to_string().lines().count(), 2);
    }
}
