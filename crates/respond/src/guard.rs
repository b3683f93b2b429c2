//! The guard that holds the tool calls of principals a correlation rule put under
//! `require_approval`: each held call then waits for an operator (`approvals:`).

use std::sync::Arc;
use std::time::Instant;

use sallyport_pipeline::{Denial, DenyCode, Direction, Exchange, Guard, GuardError, Hold, Verdict};

use crate::state::SecurityState;

/// Holds `tools/call` requests of principals under `require_approval` in the shared
/// [`SecurityState`]. Put it last: it holds only what every other guard allowed. Costs one
/// atomic load per call while no principal has ever been held.
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
            && self.state.any_hold()
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

/// Refuses `tools/call` requests to quarantined tools and servers (the correlation actions
/// `quarantine_tool` and `quarantine_server`, and operators' quarantines). Costs one atomic
/// load per call while nothing is quarantined.
#[derive(Debug)]
pub struct QuarantineGuard {
    state: Arc<SecurityState>,
}

impl QuarantineGuard {
    /// A guard reading `state`.
    pub fn new(state: Arc<SecurityState>) -> Self {
        Self { state }
    }
}

impl Guard for QuarantineGuard {
    fn name(&self) -> &'static str {
        "response_quarantine"
    }

    fn applies_to(&self, ex: &Exchange<'_>) -> bool {
        ex.direction == Direction::ClientToServer
            && ex.method == Some("tools/call")
            && ex.server.is_some()
            && ex.tool.is_some()
            && self.state.any_quarantine()
    }

    fn check(&self, ex: &Exchange<'_>) -> Result<Verdict, GuardError> {
        let (Some(server), Some(tool)) = (ex.server, ex.tool) else {
            return Ok(Verdict::Allow);
        };
        let Some((target, reason)) = self.state.quarantined(server, tool, Instant::now()) else {
            return Ok(Verdict::Allow);
        };
        let what = if target.tool.is_some() {
            format!("Tool {tool}")
        } else {
            format!("Server {server}")
        };
        let denial = Denial::client(
            DenyCode::ToolQuarantined,
            format!("{what} is quarantined by Sallyport's incident response; an operator must lift the quarantine before it can be used"),
        )
        .with_detail(format!("{target} quarantined: {reason}"))
        .with_data(serde_json::json!({ "server": server, "tool": tool }));
        Ok(Verdict::Deny(denial))
    }
}
