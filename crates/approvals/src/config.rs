//! The `approvals:` configuration section.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How held calls wait for a human decision.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalsConfig {
    /// The approval store: a SQLite file shared with `sallyport approvals`, or `memory`.
    /// Default: `approvals.db` beside the pin store (`$SALLYPORT_DATA_DIR`,
    /// `$XDG_DATA_HOME/sallyport`, or `~/.local/share/sallyport`).
    pub store: Option<PathBuf>,
    /// How long a held call waits for the decision before it is answered. `0` answers at
    /// once; the agent retries the same call once an operator has approved it.
    pub wait_secs: u64,
    /// How long a request stays pending before it expires unanswered.
    pub pending_ttl_secs: u64,
    /// How long an approval stays usable after it is given (it admits one call).
    pub valid_secs: u64,
}

impl Default for ApprovalsConfig {
    fn default() -> Self {
        Self {
            store: None,
            wait_secs: 30,
            pending_ttl_secs: 3_600,
            valid_secs: 600,
        }
    }
}

impl ApprovalsConfig {
    /// Problems a user must fix: `(field, message)`, the field as a path under
    /// `approvals`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.wait_secs > 3_600 {
            out.push((
                "approvals.wait_secs",
                format!(
                    "{} is more than an hour; a client would hold its request that long (use 0..=3600)",
                    self.wait_secs
                ),
            ));
        }
        if self.pending_ttl_secs == 0 {
            out.push((
                "approvals.pending_ttl_secs",
                "must be greater than 0".into(),
            ));
        }
        if self.valid_secs == 0 {
            out.push(("approvals.valid_secs", "must be greater than 0".into()));
        }
        if self.pending_ttl_secs < self.wait_secs {
            out.push((
                "approvals.pending_ttl_secs",
                format!(
                    "{} is shorter than approvals.wait_secs ({}): requests would expire while their callers wait",
                    self.pending_ttl_secs, self.wait_secs
                ),
            ));
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_unknown_fields() {
        let c: ApprovalsConfig = serde_saphyr::from_str("wait_secs: 5\n").unwrap();
        assert_eq!(c.wait_secs, 5);
        assert_eq!(c.valid_secs, 600);
        assert!(c.problems().is_empty());
        let bad = serde_saphyr::from_str::<ApprovalsConfig>("wait: 5\n");
        assert!(bad.is_err());
    }

    #[test]
    fn problems_name_the_field() {
        let c = ApprovalsConfig {
            valid_secs: 0,
            pending_ttl_secs: 10,
            wait_secs: 20,
            ..ApprovalsConfig::default()
        };
        let p = c.problems();
        assert!(
            p.iter()
                .any(|(f, m)| *f == "approvals.valid_secs" && m == "must be greater than 0"),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|(f, m)| *f == "approvals.pending_ttl_secs" && m.starts_with("10 is shorter")),
            "{p:?}"
        );
    }
}
