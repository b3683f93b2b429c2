//! Sallyport authorization: who may call which tool, with which arguments, when.
//!
//! A pure decision library (no transport, no network): the gateway maps its principal into
//! a [`Subject`], asks an [`Engine`] about an [`AuthzRequest`], and gets a [`Decision`] —
//! data that says what to do and why, for the audit record.
//!
//! The layers, each of which can only take away (docs/authorization.md has the details):
//!
//! 1. **Classification** ([`Classifier`]): every upstream tool, prompt and resource maps to
//!    a permission resource and [`Action`] by config; MCP annotations are untrusted hints
//!    that may only make a tool stricter.
//! 2. **Tenant** isolation.
//! 3. **RBAC** ([`Roles`], [`Permission`]): seed 001's `resource:action` strings with
//!    wildcards and hierarchical resources; the default roles ship in
//!    `policies/default.yaml`.
//! 4. **Trust** ([`TrustModel`]): a 0–1 score from reputation, device, location and
//!    behaviour, with every factor in the decision.
//! 5. **Cedar** ([`PolicyStore`]): attribute-based `permit`/`forbid` over principal,
//!    action, resource and context (arguments, time, source address, country, trust).
//! 6. **Step-up**: high-risk tools and low trust need a recent strong authentication.
//!
//! [`AuthzGuard`] plugs the engine into the message pipeline; [`explain_document`] answers
//! described requests offline for `sallyport policy test`.
//!
//! ```
//! use sallyport_policy::{AuthzPolicy, AuthzRequest, Engine, Subject, Timestamp};
//! let engine = Engine::new(AuthzPolicy::shipped_default());
//! let alice = Subject { id: "alice".into(), roles: vec!["readonly".into()], ..Subject::default() };
//! let now = Timestamp::from_secs(1_800_000_000);
//! let d = engine.decide(&AuthzRequest::call(&alice, "docker", "docker_run", None, now));
//! assert!(!d.is_allowed()); // readonly may not execute
//! ```
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod authorizer;
pub mod cedar;
mod classify;
mod config;
mod decision;
mod engine;
mod error;
mod explain;
mod geoip;
mod guard;
mod permission;
mod rbac;
mod stepup;
mod subject;
mod time;
pub mod trust;

pub use authorizer::{AuthzPolicy, TrustInput};
pub use cedar::{PolicyInfo, PolicyStore};
pub use classify::{Classification, Classifier, TargetKind, ToolHints, ToolRuleConfig};
pub use config::{
    AuthzConfig, CedarConfig, DEFAULT_POLICY_YAML, DefaultRoles, OnError, RoleConfig,
};
pub use decision::{Decision, Outcome, Stage};
pub use engine::{Engine, HintCache};
pub use error::PolicyError;
pub use explain::{DescribedRequest, Expect, ExplainError, Explanation, explain, explain_document};
pub use geoip::{GeoIp, GeoIpError, GeoSubjects, MAX_CSV_RANGES, MAX_DATABASE_BYTES};
pub use guard::{
    AuthzGuard, DecisionObserver, PrincipalOnly, SubjectResolver, hidden, verdict_for,
};
pub use permission::{
    Action, ActionPattern, Permission, PermissionError, ResourcePath, ResourcePattern,
};
pub use rbac::{PermissionUse, Roles};
pub use stepup::{StepUpAction, StepUpChallenge, StepUpConfig};
pub use subject::{Attributes, AuthzRequest, Phase, Subject, SubjectKind, Target};
pub use time::{Civil, Clock, ManualClock, SystemClock, Timestamp};
pub use trust::{TrustBreakdown, TrustConfig, TrustModel, TrustProfiles};
