//! Correlation engine: rules over the security event stream that find what no single
//! event shows — brute force, credential stuffing, tool scanning, privilege escalation
//! attempts, a sensitive read followed by egress, repeated detector hits.
//!
//! Rules are YAML ([`RuleConfig`], docs/correlation.md) of four types: `threshold` (N
//! events in T), `sequence` (A then B within T), `distinct` (N different values of a field
//! in T) and `absence` (A without B within T), each grouped by principal, address,
//! session, server, tool or tenant. [`CorrelationConfig::compile`] checks them (every
//! error collected, each naming the rule and field) into a [`RuleSet`]; an [`Engine`]
//! runs that set over [`CorrelationEvent`]s and returns [`Alert`]s carrying MITRE ATT&CK
//! and ATLAS ids and the [`CorrelationAction`]s the gateway should take.
//!
//! The engine is pure and deterministic (no I/O, no clock: time comes with each event and
//! with [`Engine::tick`]) and bounded: each rule tracks at most `max_keys_per_rule` keys
//! (least recently seen out), each key a few hundred bytes (at most 64 timestamps or 256
//! values; larger thresholds count in time buckets).
//!
//! ```
//! use sallyport_correlate::{CorrelationConfig, CorrelationEvent, Engine, RuleFile};
//!
//! let file = RuleFile::from_yaml(
//!     r#"
//! rules:
//!   - id: denied_burst
//!     title: Many denials for one principal
//!     severity: warning
//!     mitre: [T1078]
//!     window_secs: 60
//!     group_by: [principal]
//!     condition:
//!       type: threshold
//!       match: { kind: authorization_denied }
//!       count: 3
//! "#,
//!     "example",
//! )
//! .expect("valid rules");
//! let config = CorrelationConfig { include_default_rules: false, ..Default::default() };
//! let mut engine = Engine::new(config.compile_with_file(Some(&file)).expect("compiles"));
//! let denied = |t| CorrelationEvent::new("authorization_denied", t).with_principal("mallory");
//! assert!(engine.observe(&denied(0)).is_empty());
//! assert!(engine.observe(&denied(1_000)).is_empty());
//! let alerts = engine.observe(&denied(2_000));
//! assert_eq!(alerts[0].rule_id, "denied_burst");
//! assert_eq!(alerts[0].mitre, ["T1078"]);
//! ```
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod action;
mod alert;
mod compile;
mod config;
mod detector;
mod engine;
mod error;
mod event;
mod evidence;
mod glob;
mod index;
mod inline;
mod key;
mod names;
mod route;
mod selector;
mod table;
mod validate;

pub use action::CorrelationAction;
pub use alert::{Alert, Evidence, KeyValue};
pub use compile::{DEFAULT_RULES_YAML, RuleSet, default_rules};
pub use config::{
    ConditionConfig, CorrelationConfig, OneOrMany, RuleConfig, RuleFile, SelectorConfig, Severity,
};
pub use engine::{Engine, EngineStats};
pub use error::{RuleError, RuleProblem};
pub use event::{CorrelationEvent, KeyField};
