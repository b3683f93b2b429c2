//! The `incidents:` configuration section.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where incidents are kept and how alerts are grouped into them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentsConfig {
    /// The incident store: a SQLite file shared with `sallyport incidents`, or `memory`.
    /// Default: `incidents.db` beside the pin store.
    pub store: Option<PathBuf>,
    /// An alert joins the open (or acknowledged) incident of its key when that incident's
    /// last alert is at most this many seconds old; otherwise it opens a new incident.
    pub group_window_secs: u64,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        Self {
            store: None,
            group_window_secs: 3_600,
        }
    }
}

impl IncidentsConfig {
    /// Problems a user must fix: `(field, message)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.group_window_secs == 0 {
            out.push((
                "incidents.group_window_secs",
                "must be greater than 0".to_owned(),
            ));
        }
        out
    }
}
