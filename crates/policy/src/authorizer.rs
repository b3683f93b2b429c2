//! The compiled policy and the decision procedure.
//!
//! Order (each step can only take away; the first refusal decides):
//!
//! 1. classify the item (config rules, then untrusted hints that may only raise it);
//! 2. tenant: an item with a tenant is refused to principals of any other tenant;
//! 3. RBAC: some permission of the principal's roles (or its own) must grant
//!    `resource:action`;
//! 4. trust (calls only): score under `trust.deny_below` or the item's `min_trust` denies;
//! 5. Cedar (when policies are loaded): a satisfied `forbid` denies; with
//!    `require_permit`, no satisfied `permit` denies; on a call, a failing policy denies
//!    unless `on_error: ignore`;
//! 6. step-up (calls only): a high-risk item or a score under `trust.step_up_below` needs
//!    a recent strong authentication, else step-up / hold / deny as configured.

use std::path::Path;

use crate::cedar::{self, CedarInput, PolicyStore, ValueLimits};
use crate::classify::{Classification, Classifier};
use crate::config::{AuthzConfig, CedarConfig, OnError};
use crate::decision::{Decision, Outcome, Stage};
use crate::error::PolicyError;
use crate::rbac::Roles;
use crate::stepup::{StepUpAction, StepUpConfig};
use crate::subject::{AuthzRequest, Phase};
use crate::trust::{TrustBreakdown, TrustModel, TrustProfiles};

/// Where the trust score comes from for one decision.
#[derive(Debug, Clone, Copy)]
pub enum TrustInput<'a> {
    /// Score from the profiles and record this call in them.
    Record(&'a TrustProfiles),
    /// Score from the profiles without recording (dry runs).
    Peek(&'a TrustProfiles),
    /// A fixed score (`policy test` scenarios).
    Fixed(f64),
}

/// Everything an authorization decision needs, compiled once per (re)load.
#[derive(Debug, Clone)]
pub struct AuthzPolicy {
    roles: Roles,
    classifier: Classifier,
    cedar: PolicyStore,
    cedar_config: CedarConfig,
    trust: Option<TrustModel>,
    step_up: StepUpConfig,
}

impl AuthzPolicy {
    /// Compiles `config` with an already loaded Cedar store (no I/O).
    pub fn new(config: &AuthzConfig, cedar: PolicyStore) -> Result<Self, Vec<PolicyError>> {
        let errors = config.validate("authorization");
        if !errors.is_empty() {
            return Err(errors);
        }
        let roles = Roles::new(config, "authorization")?;
        let classifier = Classifier::new(&config.tools).unwrap_or_default();
        let trust = match &config.trust {
            None => None,
            Some(t) => Some(TrustModel::new(t, "authorization")?),
        };
        Ok(Self {
            roles,
            classifier,
            cedar,
            cedar_config: config.cedar.clone().unwrap_or_default(),
            trust,
            step_up: config.step_up.clone().unwrap_or_default(),
        })
    }

    /// Compiles `config`, reading the Cedar files it names.
    pub fn from_config(config: &AuthzConfig) -> Result<Self, Vec<PolicyError>> {
        let files = config
            .cedar
            .as_ref()
            .map(|c| c.files.as_slice())
            .unwrap_or_default();
        let store = PolicyStore::load(files)?;
        Self::new(config, store)
    }

    /// Reads and merges YAML policy files, then their Cedar files.
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<Self, Vec<PolicyError>> {
        Self::from_config(&AuthzConfig::load(paths)?)
    }

    /// The shipped default policy (roles only, no Cedar, no trust).
    pub fn shipped_default() -> Self {
        Self::new(&AuthzConfig::shipped_default(), PolicyStore::empty()).unwrap_or_else(|_| Self {
            roles: Roles::default(),
            classifier: Classifier::default(),
            cedar: PolicyStore::empty(),
            cedar_config: CedarConfig::default(),
            trust: None,
            step_up: StepUpConfig::default(),
        })
    }

    /// The Cedar policies loaded.
    pub fn cedar(&self) -> &PolicyStore {
        &self.cedar
    }

    /// The trust model, when trust scoring is configured.
    pub fn trust(&self) -> Option<&TrustModel> {
        self.trust.as_ref()
    }

    /// Classifies the request's target.
    pub fn classify(&self, req: &AuthzRequest<'_>) -> Classification {
        let t = &req.target;
        self.classifier.classify(t.kind, t.server, t.name, t.hints)
    }

    /// Decides one request.
    pub fn decide(&self, req: &AuthzRequest<'_>, trust: TrustInput<'_>) -> Decision {
        let class = self.classify(req);
        let (roles, unknown) = self.roles.effective(req.subject);
        let mut d = Decision::new(
            class,
            req.phase,
            roles.iter().map(|r| (*r).to_owned()).collect(),
        );
        d.reasons.extend(
            unknown
                .iter()
                .map(|r| format!("unknown role {r:?} ignored")),
        );
        if let Some(owner) = &d.classification.tenant
            && req.subject.tenant.as_ref() != Some(owner)
        {
            let reason = format!(
                "item belongs to tenant {owner:?}, principal to {:?}",
                req.subject.tenant.as_deref().unwrap_or("")
            );
            return d.deny(Stage::Tenant, reason);
        }
        let c = &d.classification;
        match self.roles.check(&roles, req.subject, &c.resource, c.action) {
            Some(used) => d.permission_used = Some(used),
            None => {
                let reason = format!(
                    "no permission of roles [{}] grants {}:{}",
                    roles.join(", "),
                    c.resource,
                    c.action
                );
                return d.deny(Stage::Rbac, reason);
            }
        }
        if req.phase == Phase::Call {
            d.trust = self.score(req, trust);
            if let Some(reason) = self.trust_refusal(&d) {
                return d.deny(Stage::Trust, reason);
            }
        }
        if !self.cedar.is_empty() {
            d = self.apply_cedar(d, req, &roles);
            if d.outcome == Outcome::Deny {
                return d;
            }
        }
        if req.phase == Phase::Call {
            d = self.apply_step_up(d, req);
        }
        d
    }

    fn score(&self, req: &AuthzRequest<'_>, input: TrustInput<'_>) -> Option<TrustBreakdown> {
        let key = || format!("{}/{}", req.target.server, req.target.name);
        Some(match input {
            TrustInput::Record(p) => self
                .trust
                .as_ref()?
                .evaluate(p, req.subject, &key(), req.now),
            TrustInput::Peek(p) => self.trust.as_ref()?.peek(p, req.subject, &key(), req.now),
            // A fixed score applies even without a trust model (policy tests).
            TrustInput::Fixed(score) => TrustBreakdown {
                score,
                reputation: score,
                device: score,
                location: score,
                behaviour: score,
                rate_ratio: None,
                tool_share: None,
                notes: vec!["score fixed by the request".into()],
            },
        })
    }

    fn trust_refusal(&self, d: &Decision) -> Option<String> {
        let score = d.trust.as_ref()?.score;
        let floor = self.trust.as_ref().and_then(|m| m.config().deny_below);
        if let Some(min) = floor
            && score < min
        {
            return Some(format!(
                "trust score {score:.2} below deny threshold {min:.2}"
            ));
        }
        match d.classification.min_trust {
            Some(min) if score < min => Some(format!(
                "trust score {score:.2} below this tool's minimum {min:.2}"
            )),
            _ => None,
        }
    }

    fn apply_cedar(&self, mut d: Decision, req: &AuthzRequest<'_>, roles: &[&str]) -> Decision {
        let cfg = &self.cedar_config;
        let limits = ValueLimits {
            max_depth: cfg.max_argument_depth,
            max_values: cfg.max_argument_values,
            max_string_bytes: cfg.max_string_bytes,
        };
        let input = CedarInput {
            subject: req.subject,
            roles,
            target: &req.target,
            class: &d.classification,
            arguments: req.arguments,
            phase: req.phase,
            now: req.now,
            trust_score: d.trust.as_ref().map(|t| t.score),
        };
        let out = match cedar::evaluate(&self.cedar, &input, &limits) {
            Ok(out) => out,
            Err(e) => return d.deny(Stage::Cedar, format!("cannot evaluate Cedar policies: {e}")),
        };
        let fail_closed = req.phase == Phase::Call && cfg.on_error == OnError::Deny;
        if fail_closed && !out.errors.is_empty() {
            let detail: Vec<String> = out
                .errors
                .iter()
                .map(|(id, e)| format!("{id}: {e}"))
                .collect();
            d.policy_ids = out.errors.into_iter().map(|(id, _)| id).collect();
            let reason = format!("Cedar policy failed to evaluate: {}", detail.join("; "));
            return d.deny(Stage::Cedar, reason);
        }
        d.policy_ids = out.determining;
        if out.allowed {
            return d;
        }
        if !d.policy_ids.is_empty() {
            let reason = format!("forbidden by Cedar policy {}", d.policy_ids.join(", "));
            return d.deny(Stage::Cedar, reason);
        }
        if cfg.require_permit {
            return d.deny(
                Stage::Cedar,
                "no Cedar policy permits it (require_permit)".into(),
            );
        }
        d
    }

    fn apply_step_up(&self, mut d: Decision, req: &AuthzRequest<'_>) -> Decision {
        let threshold = self.trust.as_ref().and_then(|m| m.config().step_up_below);
        let why = if d.classification.high_risk {
            Some("high-risk tool".to_owned())
        } else {
            match (d.trust.as_ref(), threshold) {
                (Some(t), Some(min)) if t.score < min => Some(format!(
                    "trust score {:.2} below step-up threshold {min:.2}",
                    t.score
                )),
                _ => None,
            }
        };
        let Some(why) = why else { return d };
        let Err(unmet) = self.step_up.satisfied(req.subject, req.now) else {
            d.reasons.push(format!("{why}: step-up satisfied"));
            return d;
        };
        let reason = format!("{why} needs a recent strong authentication: {unmet}");
        d.decided_by = Stage::StepUp;
        match self.step_up.on_unmet {
            StepUpAction::StepUp => {
                d.outcome = Outcome::StepUp(self.step_up.challenge(reason.clone()));
                d.reasons.insert(0, reason);
                d
            }
            StepUpAction::Hold => {
                d.outcome = Outcome::Hold {
                    reason: reason.clone(),
                };
                d.reasons.insert(0, reason);
                d
            }
            StepUpAction::Deny => d.deny(Stage::StepUp, reason),
        }
    }
}
