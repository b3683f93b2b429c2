//! Security events, correlation responses and the response orchestrator's actions.
//!
//! Decision records become [`SecurityEvent`]s ([`classify`]); a [`Responder`] counts them
//! per event kind and key in bounded sliding windows and, when a kind's threshold is
//! reached, performs its action: log, alert, or block a principal or an address in the
//! shared [`SecurityState`], which the HTTP edge reads on every request. The event types,
//! their defaults and the mapping are in `docs/security-events.md`.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//!
//! use sallyport_respond::{EventRulesConfig, Responder, SecurityEvent, SecurityEventKind, SecurityState};
//!
//! let rules = EventRulesConfig::default().build();
//! let state = Arc::new(SecurityState::default());
//! let mut responder = Responder::new(rules, state.clone());
//! let mut event = SecurityEvent::new(SecurityEventKind::SuspiciousPattern, "alice");
//! event.reason = Some("path.traversal at /path".into());
//! // `suspicious_pattern` blocks the principal at the first event (seed defaults).
//! let action = responder.handle(&event, Instant::now());
//! assert!(action.is_some());
//! assert!(state.is_blocked_principal("alice", None));
//! ```
#![deny(missing_docs)]

mod change;
mod config;
mod correlation;
mod event;
mod guard;
mod held;
mod orchestrator;
mod quarantine;
mod responder;
mod state;
mod stats;
mod violations;
mod window;

pub use change::{StateChange, unix_now_ms};
pub use config::{EventRule, EventRuleConfig, EventRules, EventRulesConfig, ResponseAction};
pub use correlation::{correlation_event, correlation_kind, finding_labels};
pub use event::{SecurityEvent, SecurityEventKind, Severity, classify};
pub use guard::{ApprovalHoldGuard, QuarantineGuard};
pub use held::HeldEntry;
pub use orchestrator::{ActionOutcome, Orchestrator, Response};
pub use quarantine::{QuarantineEntry, QuarantineTarget};
pub use responder::{ActionRecord, Responder};
pub use state::{BlockEntry, BlockTarget, SecurityState};
pub use stats::ResponseStats;
pub use violations::{MAX_PRINCIPALS, VIOLATION_WINDOW};
pub use window::{ThresholdKey, Windows};
