//! A held call waits for an operator: it files (or finds) the approval request bound to
//! the exact call, waits up to `approvals.wait_secs` for the decision, and comes back with
//! the approval that admits it or the answer the caller gets instead.

use std::sync::Arc;
use std::time::Duration;

use sallyport_approvals::{
    Approval, ApprovalBinding, ApprovalState, Waited, now_ms, wait_for_decision,
};
use sallyport_mcp::Message;
use sallyport_mcp::version::Era;
use sallyport_pipeline::{Denial, DenyCode, Exchange, Hold};
use serde_json::{Value, json};

use super::{ClientSink, Session, Ticket, held};

/// How a held call comes out of the wait.
pub(super) enum Settlement {
    /// An operator approved this exact call; the approval (this id) is spent on it.
    Approved(String),
    /// Refused: denied, expired, or still pending for a client that gets an error.
    Refused(Denial),
    /// The answer instead of the call (a modern client's "retry later" result, or the
    /// plain hold error where approvals do not apply).
    Answer(Message),
}

/// Settles the hold `hold` on the call `ex` describes.
pub(super) async fn settle(
    s: &Arc<Session>,
    ex: &Exchange<'_>,
    client_msg: &Message,
    hold: &Hold,
    ticket: &Ticket,
    reply: &ClientSink,
) -> Settlement {
    let (Some(approvals), Some(binding)) = (s.gw.approvals(), binding(s, ex)) else {
        return Settlement::Answer(held(client_msg, &hold.reason));
    };
    let cfg = approvals.config();
    let store = approvals.store();
    let pending_ttl = cfg.pending_ttl_secs.saturating_mul(1000);
    let request = match store.request(&binding, &hold.reason, now_ms(), pending_ttl) {
        Ok(r) => r,
        Err(e) => return Settlement::Refused(store_failed(&e)),
    };
    let decided = if request.state == ApprovalState::Pending {
        tracing::warn!(
            approval = %request.id, server = %binding.server, tool = %binding.tool,
            principal = %binding.principal, reason = %hold.reason,
            "Call held for approval: `sallyport approvals approve {}`.", short(&request.id)
        );
        let wait = wait_for_decision(store, &request.id, Duration::from_secs(cfg.wait_secs));
        tokio::select! {
            w = wait => match w {
                Ok(Waited::Decided(a)) => a,
                Ok(Waited::StillPending(a)) => return still_pending(ex.era, client_msg, &a),
                Err(e) => return Settlement::Refused(store_failed(&e)),
            },
            // The client gave up: the request stays pending for a retry.
            () = ticket.cancel.cancelled() => return Settlement::Answer(held(client_msg, &hold.reason)),
            () = reply.closed() => return Settlement::Answer(held(client_msg, &hold.reason)),
        }
    } else {
        request
    };
    conclude(store, &binding, decided)
}

/// What a decided request means for the call.
fn conclude(
    store: &sallyport_approvals::ApprovalStore,
    binding: &ApprovalBinding,
    a: Approval,
) -> Settlement {
    match a.state {
        ApprovalState::Approved => match store.consume(&a.id, binding, now_ms()) {
            Ok(true) => Settlement::Approved(a.id),
            // Spent by a concurrent identical call, or expired this instant.
            Ok(false) => Settlement::Refused(
                Denial::client(
                    DenyCode::ApprovalDenied,
                    format!(
                        "approval {} was already used or has expired; an approval admits one call",
                        short(&a.id)
                    ),
                )
                .with_data(data(&a)),
            ),
            Err(e) => Settlement::Refused(store_failed(&e)),
        },
        ApprovalState::Denied => {
            let by = a.decided_by.as_deref().unwrap_or("an operator");
            let note = a
                .note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default();
            Settlement::Refused(
                Denial::client(
                    DenyCode::ApprovalDenied,
                    format!("this call was denied by {by}{note}"),
                )
                .with_detail(format!("approval {} denied by {by}{note}", a.id))
                .with_data(data(&a)),
            )
        }
        _ => Settlement::Refused(
            Denial::client(
                DenyCode::ApprovalDenied,
                format!(
                    "approval request {} {}; make the call again to file a new request",
                    short(&a.id),
                    a.state.as_str()
                ),
            )
            .with_data(data(&a)),
        ),
    }
}

/// The wait ran out. A 2026-07-28 client gets a tool result that tells the agent to retry
/// later; an older one gets the `approval_pending` error.
fn still_pending(era: Era, client_msg: &Message, a: &Approval) -> Settlement {
    let text = format!(
        "This call needs a human approval and is waiting for it (approval {}). \
         Retry exactly the same call later; different arguments need their own approval.",
        short(&a.id)
    );
    if era == Era::Modern
        && let Some(id) = client_msg.id()
    {
        let result = json!({
            "content": [{ "type": "text", "text": text }],
            "isError": true,
            "structuredContent": data(a),
        });
        return Settlement::Answer(Message::result(id, result));
    }
    Settlement::Refused(Denial::client(DenyCode::ApprovalPending, text).with_data(data(a)))
}

/// The binding of a `tools/call` to a known tool; `None` for anything else (held lists,
/// prompts and resources are refused as before).
fn binding(s: &Session, ex: &Exchange<'_>) -> Option<ApprovalBinding> {
    if ex.method != Some("tools/call") {
        return None;
    }
    let (server, tool) = (ex.server?, ex.tool?);
    let args = ex
        .message
        .params()
        .and_then(|p| p.get("arguments"))
        .cloned()
        .unwrap_or(Value::Null);
    let digest = sallyport_audit::event::arguments_digest(&args).ok()?;
    let p = ex.principal;
    Some(ApprovalBinding::new(
        &p.id,
        p.tenant.as_deref(),
        server,
        tool,
        &format!("sha256:{digest}"),
        &s.gw.core().policy_version,
    ))
}

fn data(a: &Approval) -> Value {
    json!({
        "approval_id": a.id,
        "status": a.state.as_str(),
        "expires_ms": a.expires_ms,
    })
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

fn store_failed(e: &sallyport_approvals::ApprovalError) -> Denial {
    let mut denial = Denial::client(
        DenyCode::ApprovalDenied,
        "the call needs an approval, and the approval store could not be read; refused",
    )
    .with_detail(format!("approvals: {e}"));
    denial.origin = sallyport_pipeline::Origin::Gateway;
    denial
}
