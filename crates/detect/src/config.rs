//! Detector settings: thresholds and limits, as the gateway's config file spells them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Settings shared by every detector.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct DetectConfig {
    /// Tier-2 (statistical classifier) probability at or above which text counts as injection.
    #[serde(default = "default_classifier_threshold")]
    pub classifier_threshold: f32,
    /// Run the tier-2 classifier at all.
    #[serde(default = "default_true")]
    pub classifier: bool,
    /// The tier-2 classifier reads at most this many bytes of each string (head and tail);
    /// tier-1 rules always read everything.
    #[serde(default = "default_classifier_max_bytes")]
    pub classifier_max_bytes: usize,
    /// Tool results larger than this (serialised JSON bytes) are reported as oversized.
    #[serde(default = "default_max_result_bytes")]
    pub max_result_bytes: usize,
    /// Tool or prompt descriptions longer than this (characters) are reported.
    #[serde(default = "default_max_description_chars")]
    pub max_description_chars: usize,
    /// Look for personal data in results.
    #[serde(default = "default_true")]
    pub pii: bool,
    /// Look for secrets in arguments and results.
    #[serde(default = "default_true")]
    pub secrets: bool,
}

fn default_classifier_threshold() -> f32 {
    0.9
}
fn default_true() -> bool {
    true
}
fn default_classifier_max_bytes() -> usize {
    64 * 1024
}
fn default_max_result_bytes() -> usize {
    4 * 1024 * 1024
}
fn default_max_description_chars() -> usize {
    2048
}

impl Default for DetectConfig {
    fn default() -> Self {
        Self {
            classifier_threshold: default_classifier_threshold(),
            classifier: true,
            classifier_max_bytes: default_classifier_max_bytes(),
            max_result_bytes: default_max_result_bytes(),
            max_description_chars: default_max_description_chars(),
            pii: true,
            secrets: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_in_and_unknown_fields_are_rejected() {
        let c: DetectConfig = serde_json::from_str(r#"{"classifier_threshold": 0.8}"#).unwrap();
        assert_eq!(c.max_description_chars, 2048);
        assert!(serde_json::from_str::<DetectConfig>(r#"{"treshold": 1}"#).is_err());
    }
}
