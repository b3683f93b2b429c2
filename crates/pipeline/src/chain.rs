//! The ordered chain of guards.

use std::borrow::Cow;
use std::time::Instant;

use sallyport_mcp::Message;

use crate::{Denial, DenyCode, Exchange, FailureMode, Guard, GuardRecord, Hold, Outcome, Verdict};

/// The folded result of every guard.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Forward the original message.
    Allow,
    /// Forward this replacement.
    Rewrite(Message),
    /// Refuse with this denial.
    Deny(Denial),
    /// Hold for approval.
    Hold(Hold),
}

impl Decision {
    /// True for `Allow` and `Rewrite`.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow | Self::Rewrite(_))
    }

    /// The overall outcome name.
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::Allow => Outcome::Allow,
            Self::Rewrite(_) => Outcome::Rewrite,
            Self::Deny(_) => Outcome::Deny,
            Self::Hold(_) => Outcome::Hold,
        }
    }
}

/// What running the chain produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainOutput {
    /// The decision.
    pub decision: Decision,
    /// Each guard's verdict and timing, in order.
    pub guards: Vec<GuardRecord>,
    /// Total time in nanoseconds.
    pub duration_ns: u64,
}

/// An ordered list of guards. Stage order is fixed where the chain is built
/// (see `sallyport_transport::guard_chain`); here the order is simply respected.
#[derive(Debug, Default)]
pub struct Chain {
    guards: Vec<Box<dyn Guard>>,
}

impl Chain {
    /// A chain running `guards` in order.
    pub fn new(guards: Vec<Box<dyn Guard>>) -> Self {
        Self { guards }
    }

    /// Names of the guards, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.guards.iter().map(|g| g.name()).collect()
    }

    /// Runs every applicable guard. The first deny or hold stops the chain; a rewrite replaces
    /// the message seen by later guards.
    pub fn run(&self, exchange: &Exchange<'_>) -> ChainOutput {
        let start = Instant::now();
        let mut records = Vec::with_capacity(self.guards.len());
        let mut current: Cow<'_, Message> = Cow::Borrowed(exchange.message);
        for guard in &self.guards {
            let view = Exchange {
                message: current.as_ref(),
                ..exchange.clone()
            };
            if !guard.applies_to(&view) {
                continue;
            }
            let t = Instant::now();
            let verdict = guard
                .check(&view)
                .unwrap_or_else(|e| failed(guard.as_ref(), e.reason));
            let duration_ns = elapsed_ns(t);
            let (outcome, reason) = describe(&verdict);
            records.push(GuardRecord {
                guard: guard.name(),
                outcome,
                reason,
                duration_ns,
            });
            match verdict {
                Verdict::Allow => {}
                Verdict::Rewrite { message, .. } => current = Cow::Owned(message),
                Verdict::Deny(d) => return finish(Decision::Deny(d), records, start),
                Verdict::Hold(h) => return finish(Decision::Hold(h), records, start),
            }
        }
        let decision = match current {
            Cow::Borrowed(_) => Decision::Allow,
            Cow::Owned(m) => Decision::Rewrite(m),
        };
        finish(decision, records, start)
    }
}

fn failed(guard: &dyn Guard, reason: String) -> Verdict {
    match guard.failure_mode() {
        FailureMode::FailOpen => Verdict::Allow,
        FailureMode::FailClosed => Verdict::Deny(
            Denial::client(
                DenyCode::GuardFailed,
                "the request could not be checked and was refused",
            )
            .with_detail(format!("{}: {reason}", guard.name())),
        ),
    }
}

fn describe(verdict: &Verdict) -> (Outcome, Option<String>) {
    match verdict {
        Verdict::Allow => (Outcome::Allow, None),
        Verdict::Rewrite { reason, .. } => (Outcome::Rewrite, Some(reason.clone())),
        Verdict::Deny(d) => (
            Outcome::Deny,
            Some(d.detail.clone().unwrap_or_else(|| d.public_message.clone())),
        ),
        Verdict::Hold(h) => (Outcome::Hold, Some(h.reason.clone())),
    }
}

fn finish(decision: Decision, guards: Vec<GuardRecord>, start: Instant) -> ChainOutput {
    ChainOutput {
        decision,
        guards,
        duration_ns: elapsed_ns(start),
    }
}

fn elapsed_ns(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX)
}
