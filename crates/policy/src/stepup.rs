//! Step-up: seed 000's `requires_additional_verification`, made concrete. A high-risk tool,
//! or a trust score under the threshold, needs a recent strong authentication.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::subject::{Subject, SubjectKind};
use crate::time::Timestamp;

/// What happens when a step-up is needed and the authentication is not strong or recent
/// enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepUpAction {
    /// Answer with a step-up challenge (HTTP 403 `insufficient_scope`). Default.
    #[default]
    StepUp,
    /// Hold the call for a human approval.
    Hold,
    /// Deny the call.
    Deny,
}

/// Step-up settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StepUpConfig {
    /// How old (`now - auth_time`) an authentication may be, in seconds. Default 300.
    pub max_age_secs: u64,
    /// `acr` values that count as strong. Empty: `acr` is not looked at.
    pub acr_values: Vec<String>,
    /// `amr` values of which one must be present. Empty: `amr` is not looked at.
    /// Default `[mfa, hwk]`. When both lists are set, either may match.
    pub amr_values: Vec<String>,
    /// Scope to name in the challenge, if any.
    pub scope: Option<String>,
    /// What an unmet step-up produces.
    pub on_unmet: StepUpAction,
    /// Principal kinds never asked to step up. Default `[local]` (the operator on stdio
    /// cannot answer a challenge).
    pub exempt: Vec<SubjectKind>,
}

impl Default for StepUpConfig {
    fn default() -> Self {
        Self {
            max_age_secs: 300,
            acr_values: Vec::new(),
            amr_values: vec!["mfa".into(), "hwk".into()],
            scope: None,
            on_unmet: StepUpAction::StepUp,
            exempt: vec![SubjectKind::Local],
        }
    }
}

/// The challenge to send when a step-up is required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepUpChallenge {
    /// Acceptable `acr` values (RFC 9470 `acr_values`).
    pub acr_values: Vec<String>,
    /// Acceptable `amr` values.
    pub amr_values: Vec<String>,
    /// Maximum authentication age, seconds (RFC 9470 `max_age`).
    pub max_age_secs: u64,
    /// Scope to request, if configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Why it is needed (audit; safe to show).
    pub reason: String,
}

impl StepUpConfig {
    /// Whether the subject's current authentication satisfies a step-up at `now`, and if
    /// not, why.
    pub fn satisfied(&self, subject: &Subject, now: Timestamp) -> Result<(), String> {
        if self.exempt.contains(&subject.kind) {
            return Ok(());
        }
        let a = &subject.attributes;
        let Some(auth_time) = a.auth_time else {
            return Err("no auth_time: authentication age unknown".into());
        };
        let age = now.secs().saturating_sub(auth_time);
        let max_age = i64::try_from(self.max_age_secs).unwrap_or(i64::MAX);
        if age > max_age {
            return Err(format!("authenticated {age}s ago, more than {max_age}s"));
        }
        if self.acr_values.is_empty() && self.amr_values.is_empty() {
            return Ok(());
        }
        let acr_ok = a.acr.as_ref().is_some_and(|v| self.acr_values.contains(v));
        let amr_ok = a.amr.iter().any(|m| self.amr_values.contains(m));
        if acr_ok || amr_ok {
            Ok(())
        } else {
            Err(format!(
                "authentication not strong enough (acr {:?}, amr {:?})",
                a.acr.as_deref().unwrap_or(""),
                a.amr
            ))
        }
    }

    /// The challenge for `reason`.
    pub fn challenge(&self, reason: String) -> StepUpChallenge {
        StepUpChallenge {
            acr_values: self.acr_values.clone(),
            amr_values: self.amr_values.clone(),
            max_age_secs: self.max_age_secs,
            scope: self.scope.clone(),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(auth_time: Option<i64>, acr: Option<&str>, amr: &[&str]) -> Subject {
        let mut s = Subject {
            id: "u".into(),
            ..Subject::default()
        };
        s.attributes.auth_time = auth_time;
        s.attributes.acr = acr.map(Into::into);
        s.attributes.amr = amr.iter().map(|m| (*m).to_owned()).collect();
        s
    }

    #[test]
    fn recency_and_strength() {
        let c = StepUpConfig {
            acr_values: vec!["urn:gold".into()],
            ..StepUpConfig::default()
        };
        let now = Timestamp::from_secs(10_000);
        assert!(
            c.satisfied(&subject(Some(9_900), None, &["mfa"]), now)
                .is_ok()
        );
        assert!(
            c.satisfied(&subject(Some(9_900), Some("urn:gold"), &["pwd"]), now)
                .is_ok()
        );
        assert!(
            c.satisfied(&subject(Some(9_900), Some("urn:bronze"), &["pwd"]), now)
                .is_err()
        );
        assert!(
            c.satisfied(&subject(Some(9_600), None, &["mfa"]), now)
                .is_err()
        );
        assert!(c.satisfied(&subject(None, None, &["mfa"]), now).is_err());
        let mut local = subject(None, None, &[]);
        local.kind = SubjectKind::Local;
        assert!(c.satisfied(&local, now).is_ok());
    }

    #[test]
    fn recency_only_when_no_values_configured() {
        let c = StepUpConfig {
            amr_values: vec![],
            ..StepUpConfig::default()
        };
        let now = Timestamp::from_secs(1_000);
        assert!(
            c.satisfied(&subject(Some(900), None, &["pwd"]), now)
                .is_ok()
        );
    }
}
