//! Runs the guard chain on one message, appends its decision record to the audit trail (when
//! one is configured) and publishes it on the decision bus.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sallyport_mcp::{Message, MessageKind};
use sallyport_pipeline::{
    Chain, Decision, DecisionRecord, DecisionSink, Denial, DenyCode, Exchange, GuardRecord, Origin,
    Outcome,
};

use crate::audit::AuditTrail;

/// The relay: the only place that runs guards and emits decision records.
#[derive(Clone)]
pub struct Relay {
    chain: Arc<Chain>,
    sink: Arc<dyn DecisionSink>,
    audit: Option<AuditTrail>,
    counter: Arc<AtomicU64>,
    prefix: Arc<str>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("guards", &self.chain.names())
            .field("audit", &self.audit.is_some())
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// A relay running `chain` and publishing to `sink`.
    pub fn new(chain: Chain, sink: Arc<dyn DecisionSink>) -> Self {
        let prefix: String = format!("{:08x}", rand::random::<u32>());
        Self {
            chain: Arc::new(chain),
            sink,
            audit: None,
            counter: Arc::new(AtomicU64::new(0)),
            prefix: prefix.into(),
        }
    }

    /// Also append every decision record to `audit`.
    #[must_use]
    pub fn with_audit(mut self, audit: Option<AuditTrail>) -> Self {
        self.audit = audit;
        self
    }

    /// Adds `guard` at the end of the chain. Only before the relay is shared (as a core
    /// being built); on a shared relay it returns false and changes nothing.
    pub fn push_guard(&mut self, guard: Box<dyn sallyport_pipeline::Guard>) -> bool {
        match Arc::get_mut(&mut self.chain) {
            Some(chain) => {
                chain.push(guard);
                true
            }
            None => false,
        }
    }

    /// The audit trail, when one is configured.
    pub fn audit(&self) -> Option<&AuditTrail> {
        self.audit.as_ref()
    }

    /// Inspect one message: run the chain, append the record to the audit trail, publish it,
    /// return the decision. With an audit trail in `sync` mode this resolves only once the
    /// record is durably committed, so nothing the decision lets through goes unrecorded; an
    /// append that fails turns the decision into an `audit_unavailable` refusal.
    pub async fn inspect(&self, ex: &Exchange<'_>) -> Decision {
        let out = self.chain.run(ex);
        let (deny_code, origin, reason) = match &out.decision {
            Decision::Deny(d) => (
                Some(d.code),
                Some(d.origin),
                d.detail.clone().or(Some(d.public_message.clone())),
            ),
            Decision::Hold(h) => (None, None, Some(h.reason.clone())),
            Decision::Allow | Decision::Rewrite(_) => (None, None, None),
        };
        let mut record = self.record(
            ex,
            out.decision.outcome(),
            deny_code,
            origin,
            reason,
            out.guards,
            out.duration_ns,
        );
        let mut decision = out.decision;
        if let Some(audit) = &self.audit
            && let Err(denial) = audit.append(&record, ex).await
        {
            // Already refused: the caller's answer stays; otherwise refuse rather than pass
            // a message the audit trail does not hold.
            if !matches!(decision, Decision::Deny(_)) {
                record.outcome = Outcome::Deny;
                record.deny_code = Some(DenyCode::AuditUnavailable);
                record.origin = Some(Origin::Gateway);
                record.reason.clone_from(&denial.detail);
                decision = Decision::Deny(denial);
            }
        }
        crate::exchange_span::note(&record, ex.message);
        self.sink.publish(record);
        decision
    }

    /// A new exchange id: the relay's random prefix and a counter. Every record of an
    /// exchange carries its id (see [`crate::exchange_span`]); a record made outside one
    /// (an edge refusal) gets an id of its own.
    pub fn next_exchange_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", self.prefix)
    }

    /// Record a refusal decided outside the chain (envelope, header, session or routing checks).
    /// The audit append does not wait (edge paths cannot); it is never dropped silently.
    pub fn record_denial(&self, ex: &Exchange<'_>, guard: &'static str, denial: &Denial) {
        let reason = denial
            .detail
            .clone()
            .unwrap_or_else(|| denial.public_message.clone());
        let g = GuardRecord {
            guard,
            outcome: Outcome::Deny,
            reason: Some(reason.clone()),
            duration_ns: 0,
        };
        let record = self.record(
            ex,
            Outcome::Deny,
            Some(denial.code),
            Some(denial.origin),
            Some(reason),
            vec![g],
            0,
        );
        if let Some(audit) = &self.audit {
            audit.submit(&record, ex);
        }
        crate::exchange_span::note(&record, ex.message);
        self.sink.publish(record);
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        ex: &Exchange<'_>,
        outcome: Outcome,
        deny_code: Option<sallyport_pipeline::DenyCode>,
        origin: Option<sallyport_pipeline::Origin>,
        reason: Option<String>,
        guards: Vec<GuardRecord>,
        duration_ns: u64,
    ) -> DecisionRecord {
        DecisionRecord {
            exchange_id: crate::exchange_span::id().unwrap_or_else(|| self.next_exchange_id()),
            time_unix_ms: now_ms(),
            direction: ex.direction,
            kind: kind_name(ex.message),
            method: ex.method.map(str::to_owned),
            jsonrpc_id: ex.message.id().map(|i| i.to_string()),
            server: ex.server.map(str::to_owned),
            tool: ex.tool.map(str::to_owned),
            principal: ex.principal.id.clone(),
            auth_method: ex.principal.auth_method,
            tenant: ex.principal.tenant.clone(),
            source_ip: ex.principal.source_ip(),
            session_id: ex.session_id.map(str::to_owned),
            era: ex.era.as_str(),
            outcome,
            deny_code,
            origin,
            reason,
            guards,
            duration_ns,
        }
    }
}

fn kind_name(m: &Message) -> &'static str {
    match m.kind() {
        MessageKind::Request => "request",
        MessageKind::Notification => "notification",
        MessageKind::Result => "result",
        MessageKind::Error => "error",
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0))
}
