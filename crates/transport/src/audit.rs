//! The audit trail the relay writes: one hash-chained audit event per decision record,
//! appended before the decision takes effect (in `sync` durability mode, durably).
//!
//! Unlike the decision bus, which may drop records for a slow subscriber, the trail never
//! drops silently: an append waits (`when_full: block`) or fails, and a failed append turns
//! the message into a refusal (`audit_unavailable`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sallyport_audit::{AuditContext, AuditError, AuditEvent, AuditLog, ResponseSummary};
use sallyport_mcp::MessageKind;
use sallyport_pipeline::{DecisionRecord, Denial, DenyCode, Direction, Exchange, Origin};
use serde_json::Value;
use tracing::warn;

/// The gateway's handle on the audit log. Outlives hot reloads (every new relay gets it).
#[derive(Debug, Clone)]
pub struct AuditTrail {
    log: Arc<AuditLog>,
    refused: Arc<AtomicU64>,
}

impl AuditTrail {
    /// A trail appending to `log`.
    pub fn new(log: Arc<AuditLog>) -> Self {
        Self {
            log,
            refused: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The underlying log (flush on shutdown, stats).
    pub fn log(&self) -> &Arc<AuditLog> {
        &self.log
    }

    /// Appends the event for `record` as the configured durability asks: in `sync` mode this
    /// returns once the event is committed; in `async` mode once it is queued (waiting for
    /// room with `when_full: block`). An error means the message must be refused.
    pub(crate) async fn append(
        &self,
        record: &DecisionRecord,
        ex: &Exchange<'_>,
    ) -> Result<(), Denial> {
        match self.log.append(self.tagged(event(record, ex))).await {
            Ok(_) => Ok(()),
            Err(error) => Err(self.refusal(&error)),
        }
    }

    /// Appends without waiting, for refusals decided on paths that cannot wait (the HTTP
    /// edge). When the queue is full the append continues on a task; nothing is dropped
    /// unless the log refuses it, which is logged.
    pub(crate) fn submit(&self, record: &DecisionRecord, ex: &Exchange<'_>) {
        let event = self.tagged(event(record, ex));
        match self.log.try_append(event.clone()) {
            Ok(_) => {}
            Err(AuditError::QueueFull { .. }) => {
                let this = self.clone();
                tokio::spawn(async move {
                    if let Err(error) = this.log.append(event).await {
                        this.refusal(&error);
                    }
                });
            }
            Err(error) => {
                self.refusal(&error);
            }
        }
    }

    /// Adds the configured compliance tags (and `policy_violation` on refusals).
    fn tagged(&self, mut event: AuditEvent) -> AuditEvent {
        let refused = matches!(event.outcome.as_str(), "deny" | "hold");
        let tags = self
            .log
            .config()
            .compliance_tags(event.resource.as_deref(), refused);
        for tag in tags {
            if !event.compliance_tags.contains(&tag) {
                event.compliance_tags.push(tag);
            }
        }
        event
    }

    /// Counts and logs a failed append (rate-limited: once per 1,000), and says what the
    /// caller is told.
    fn refusal(&self, error: &AuditError) -> Denial {
        let n = self.refused.fetch_add(1, Ordering::Relaxed);
        if n.is_multiple_of(1_000) {
            warn!(%error, refused = n + 1, "Audit append failed; the message is refused.");
        }
        Denial {
            code: DenyCode::AuditUnavailable,
            public_message:
                "the gateway cannot record this message in its audit trail right now; retry later"
                    .into(),
            detail: Some(format!("audit append failed: {error}")),
            origin: Origin::Gateway,
            data: None,
        }
    }
}

/// The audit event for one decision: what the record says, plus the argument digest (never
/// the arguments), the tenant and a response summary read from the exchange.
pub fn event(record: &DecisionRecord, ex: &Exchange<'_>) -> AuditEvent {
    let source_ip = ex.principal.source_ip().map(|ip| ip.to_string());
    let ctx = AuditContext {
        tenant: ex.principal.tenant.as_deref(),
        arguments: arguments(ex),
        response: response_summary(ex),
        // The address authentication saw (the network layer's, behind trusted proxies).
        source_ip: source_ip.as_deref(),
        // The user agent is not carried by the exchange yet.
        user_agent: None,
        ..AuditContext::default()
    };
    AuditEvent::from_decision(record, &ctx)
}

/// `params.arguments` of a client request (`tools/call`, `prompts/get`).
fn arguments<'a>(ex: &Exchange<'a>) -> Option<&'a Value> {
    if ex.direction != Direction::ClientToServer || ex.message.kind() != MessageKind::Request {
        return None;
    }
    ex.message.params()?.get("arguments")
}

fn response_summary(ex: &Exchange<'_>) -> Option<ResponseSummary> {
    if ex.direction != Direction::ServerToClient {
        return None;
    }
    match ex.message.kind() {
        MessageKind::Error => Some(ResponseSummary {
            bytes: None,
            content_items: None,
            is_error: true,
        }),
        MessageKind::Result => {
            let result = ex.message.result_value();
            let content = result
                .and_then(|r| r.get("content"))
                .and_then(Value::as_array);
            Some(ResponseSummary {
                bytes: None,
                content_items: content.map(|c| c.len() as u64),
                is_error: result
                    .and_then(|r| r.get("isError"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            })
        }
        MessageKind::Request | MessageKind::Notification => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use sallyport_mcp::version::Era;
    use sallyport_mcp::{Message, RequestId};
    use sallyport_pipeline::{Outcome, Principal};
    use serde_json::json;

    fn record(ex: &Exchange<'_>) -> DecisionRecord {
        DecisionRecord {
            exchange_id: "x-1".into(),
            time_unix_ms: 1,
            direction: ex.direction,
            kind: "request",
            method: ex.method.map(str::to_owned),
            jsonrpc_id: Some("7".into()),
            server: ex.server.map(str::to_owned),
            tool: ex.tool.map(str::to_owned),
            principal: ex.principal.id.clone(),
            auth_method: ex.principal.auth_method,
            tenant: ex.principal.tenant.clone(),
            source_ip: ex.principal.source_ip(),
            session_id: Some("s1".into()),
            era: "legacy",
            outcome: Outcome::Allow,
            deny_code: None,
            origin: None,
            reason: None,
            guards: Vec::new(),
            duration_ns: 5,
        }
    }

    #[test]
    fn a_tool_call_is_digested_never_stored() {
        let msg = Message::request(
            RequestId::Number(7),
            "tools/call",
            Some(json!({"name": "echo", "arguments": {"text": "secret-value", "n": 1}})),
        );
        let mut principal = Principal::local();
        principal.tenant = Some("acme".into());
        let mut ex = Exchange::new(Direction::ClientToServer, &msg, &principal, Era::Legacy);
        ex.server = Some("notes");
        ex.tool = Some("echo");
        let e = event(&record(&ex), &ex);
        assert_eq!(e.resource.as_deref(), Some("mcp://notes/echo"));
        assert_eq!(e.tenant.as_deref(), Some("acme"));
        let req = e.request.as_ref().unwrap();
        assert_eq!(req.argument_keys, vec!["n", "text"]);
        let digest =
            sallyport_audit::event::arguments_digest(&json!({"n": 1, "text": "secret-value"}));
        assert_eq!(req.arguments_sha256, Some(digest.unwrap()));
        assert!(!serde_json::to_string(&e).unwrap().contains("secret-value"));
    }

    #[test]
    fn a_result_is_summarised() {
        let msg = Message::result(
            RequestId::Number(7),
            json!({"content": [{"type": "text", "text": "x"}], "isError": true}),
        );
        let principal = Principal::local();
        let ex = Exchange::new(Direction::ServerToClient, &msg, &principal, Era::Modern);
        let e = event(&record(&ex), &ex);
        let r = e.response.unwrap();
        assert_eq!((r.content_items, r.is_error), (Some(1), true));
        assert!(e.request.unwrap().arguments_sha256.is_none());
    }
}
