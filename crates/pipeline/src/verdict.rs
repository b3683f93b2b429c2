//! The guard interface and what a guard may answer.

use std::fmt::Debug;

use sallyport_mcp::Message;
use thiserror::Error;

use crate::{Denial, Exchange};

/// A guard's answer about one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Let it through unchanged.
    Allow,
    /// Let it through unchanged, with what was noticed on the record (a detector finding
    /// whose configured action is `log`).
    Flag {
        /// What was noticed, for the audit.
        reason: String,
    },
    /// Let it through, replaced by this message (e.g. a filtered list, a redacted result).
    Rewrite {
        /// The replacement.
        message: Message,
        /// What was changed, for the audit.
        reason: String,
    },
    /// Refuse it.
    Deny(Denial),
    /// Hold it until a human or a stronger authentication approves.
    Hold(Hold),
}

/// A held message's ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Hold {
    /// Why it is held.
    pub reason: String,
}

/// What happens when a guard cannot decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailureMode {
    /// Deny the message (the default).
    #[default]
    FailClosed,
    /// Let the message through and record the failure.
    FailOpen,
}

/// A guard could not reach a decision.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("guard could not decide: {reason}")]
pub struct GuardError {
    /// What went wrong (audit only).
    pub reason: String,
}

/// One check in the pipeline: a pure function from an exchange to a verdict.
pub trait Guard: Send + Sync + Debug {
    /// Stable name, used in config, audit and metrics.
    fn name(&self) -> &'static str;

    /// Whether this guard looks at this exchange at all (cheap pre-filter).
    fn applies_to(&self, exchange: &Exchange<'_>) -> bool {
        let _ = exchange;
        true
    }

    /// Decide about one message.
    fn check(&self, exchange: &Exchange<'_>) -> Result<Verdict, GuardError>;

    /// What happens when `check` returns an error.
    fn failure_mode(&self) -> FailureMode {
        FailureMode::FailClosed
    }
}
