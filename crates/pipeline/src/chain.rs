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

    /// Adds `guard` at the end of the chain.
    pub fn push(&mut self, guard: Box<dyn Guard>) {
        self.guards.push(guard);
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
            let (outcome, reason) = describe(&verdict, exchange.approval);
            records.push(GuardRecord {
                guard: guard.name(),
                outcome,
                reason,
                duration_ns,
            });
            match verdict {
                Verdict::Allow | Verdict::Flag { .. } => {}
                Verdict::Rewrite { message, .. } => current = Cow::Owned(message),
                Verdict::Deny(d) => return finish(Decision::Deny(d), records, start),
                Verdict::Hold(_) if exchange.approval.is_some() => {}
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

/// The outcome and reason a guard's verdict is recorded with. A hold on a call an operator
/// approved is recorded as an allow that names the approval: the approval was bound to this
/// exact call, so the hold has been answered. Denials stay denials.
fn describe(verdict: &Verdict, approval: Option<&str>) -> (Outcome, Option<String>) {
    match verdict {
        Verdict::Hold(h) if approval.is_some() => (
            Outcome::Allow,
            Some(format!(
                "{} (approved: {})",
                h.reason,
                approval.unwrap_or_default()
            )),
        ),
        Verdict::Allow => (Outcome::Allow, None),
        Verdict::Flag { reason } => (Outcome::Allow, Some(reason.clone())),
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use sallyport_mcp::{RequestId, version::Era};

    use super::*;
    use crate::{Direction, GuardError, Principal};

    /// Holds every message.
    #[derive(Debug)]
    struct HoldAll;
    impl Guard for HoldAll {
        fn name(&self) -> &'static str {
            "hold_all"
        }
        fn check(&self, _: &Exchange<'_>) -> Result<Verdict, GuardError> {
            Ok(Verdict::Hold(Hold {
                reason: "needs a human".into(),
            }))
        }
    }

    /// Denies every message.
    #[derive(Debug)]
    struct DenyAll;
    impl Guard for DenyAll {
        fn name(&self) -> &'static str {
            "deny_all"
        }
        fn check(&self, _: &Exchange<'_>) -> Result<Verdict, GuardError> {
            Ok(Verdict::Deny(Denial::client(DenyCode::AuthForbidden, "no")))
        }
    }

    #[test]
    fn an_approval_answers_a_hold_but_later_guards_still_run() {
        let msg = Message::request(RequestId::Number(1), "tools/call", None);
        let principal = Principal::local();
        let mut ex = Exchange::new(Direction::ClientToServer, &msg, &principal, Era::Legacy);
        let hold_only = Chain::new(vec![Box::new(HoldAll)]);
        assert!(matches!(hold_only.run(&ex).decision, Decision::Hold(_)));
        ex.approval = Some("a1b2c3");
        let out = hold_only.run(&ex);
        assert_eq!(out.decision, Decision::Allow);
        assert_eq!(out.guards[0].outcome, Outcome::Allow);
        assert_eq!(
            out.guards[0].reason.as_deref(),
            Some("needs a human (approved: a1b2c3)")
        );
        // The approval answers holds only: a guard after the hold still denies.
        let hold_then_deny = Chain::new(vec![Box::new(HoldAll), Box::new(DenyAll)]);
        assert!(matches!(
            hold_then_deny.run(&ex).decision,
            Decision::Deny(_)
        ));
    }
}
