//! The guard that holds the tool calls of principals a correlation rule put under
//! `require_approval`: each held call then waits for an operator (`approvals:`).

use std::sync::Arc;
use std::time::Instant;

use sallyport_pipeline::{Direction, Exchange, Guard, GuardError, Hold, Verdict};

use crate::state::SecurityState;

/// Holds `tools/call` requests of principals under `require_approval` in the shared
/// [`SecurityState`]. Put it last: it holds only what every other guard allowed.
#[derive(Debug)]
pub struct ApprovalHoldGuard {
    state: Arc<SecurityState>,
}

impl ApprovalHoldGuard {
    /// A guard reading `state`.
    pub fn new(state: Arc<SecurityState>) -> Self {
        Self { state }
    }
}

impl Guard for ApprovalHoldGuard {
    fn name(&self) -> &'static str {
        "response_hold"
    }

    fn applies_to(&self, ex: &Exchange<'_>) -> bool {
        ex.direction == Direction::ClientToServer
            && ex.method == Some("tools/call")
            && ex.tool.is_some()
    }

    fn check(&self, ex: &Exchange<'_>) -> Result<Verdict, GuardError> {
        let p = ex.principal;
        Ok(
            match self
                .state
                .approval_required(&p.id, p.tenant.as_deref(), Instant::now())
            {
                Some(reason) => Verdict::Hold(Hold {
                    reason: format!("require_approval after correlation rule {reason}"),
                }),
                None => Verdict::Allow,
            },
        )
    }
}
