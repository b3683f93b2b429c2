//! Side-by-side line diff of two JSON definitions (pretty-printed), for drifted tools.

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

/// One row of a side-by-side diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DiffRow {
    /// The approved side's line (empty when added).
    pub(crate) left: String,
    /// The seen side's line (empty when removed).
    pub(crate) right: String,
    /// `same`, `removed`, `added`.
    pub(crate) kind: &'static str,
}

/// Rows comparing `approved` with `seen`.
pub(crate) fn side_by_side(approved: &Value, seen: &Value) -> Vec<DiffRow> {
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
    let (old, new) = (pretty(approved), pretty(seen));
    let diff = TextDiff::from_lines(&old, &new);
    diff.iter_all_changes()
        .map(|change| {
            let line = change.value().trim_end_matches('\n').to_owned();
            match change.tag() {
                ChangeTag::Equal => DiffRow {
                    left: line.clone(),
                    right: line,
                    kind: "same",
                },
                ChangeTag::Delete => DiffRow {
                    left: line,
                    right: String::new(),
                    kind: "removed",
                },
                ChangeTag::Insert => DiffRow {
                    left: String::new(),
                    right: line,
                    kind: "added",
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_changed_description_shows_as_removed_and_added() {
        let rows = side_by_side(
            &json!({"name": "t", "description": "adds"}),
            &json!({"name": "t", "description": "adds <IMPORTANT>"}),
        );
        assert!(
            rows.iter()
                .any(|r| r.kind == "removed" && r.left.contains("\"adds\""))
        );
        assert!(
            rows.iter()
                .any(|r| r.kind == "added" && r.right.contains("IMPORTANT"))
        );
        assert!(
            rows.iter()
                .any(|r| r.kind == "same" && r.left.contains("\"name\""))
        );
    }
}
