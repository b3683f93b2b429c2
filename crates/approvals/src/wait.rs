//! Waiting for an operator's decision on a pending request.

use std::time::Duration;

use crate::store::{Approval, ApprovalError, ApprovalState, ApprovalStore, now_ms};

/// How often a waiting call looks at the store (the CLI decides from another process).
const POLL: Duration = Duration::from_millis(200);

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waited {
    /// An operator decided (approved or denied), or the request expired.
    Decided(Approval),
    /// The wait ran out while the request is still pending.
    StillPending(Approval),
}

/// Waits up to `wait` for request `id` to leave `pending`. Cancel-safe: dropping the future
/// stops the wait and leaves the request pending.
pub async fn wait_for_decision(
    store: &ApprovalStore,
    id: &str,
    wait: Duration,
) -> Result<Waited, ApprovalError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let current = store
            .get(id, now_ms())?
            .ok_or_else(|| ApprovalError::NotFound(id.to_owned()))?;
        if current.state != ApprovalState::Pending {
            return Ok(Waited::Decided(current));
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Ok(Waited::StillPending(current));
        }
        tokio::time::sleep(POLL.min(deadline - now)).await;
    }
}
