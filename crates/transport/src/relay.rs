//! Runs the guard chain on one message and publishes its decision record.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sallyport_mcp::{Message, MessageKind};
use sallyport_pipeline::{
    Chain, Decision, DecisionRecord, DecisionSink, Denial, Exchange, GuardRecord, Outcome,
};

/// The relay: the only place that runs guards and emits decision records.
#[derive(Clone)]
pub struct Relay {
    chain: Arc<Chain>,
    sink: Arc<dyn DecisionSink>,
    counter: Arc<AtomicU64>,
    prefix: Arc<str>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("guards", &self.chain.names())
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
            counter: Arc::new(AtomicU64::new(0)),
            prefix: prefix.into(),
        }
    }

    /// Inspect one message: run the chain, publish the record, return the decision.
    pub fn inspect(&self, ex: &Exchange<'_>) -> Decision {
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
        self.publish(
            ex,
            out.decision.outcome(),
            deny_code,
            origin,
            reason,
            out.guards,
            out.duration_ns,
        );
        out.decision
    }

    /// Record a refusal decided outside the chain (envelope, header, session or routing checks).
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
        self.publish(
            ex,
            Outcome::Deny,
            Some(denial.code),
            Some(denial.origin),
            Some(reason),
            vec![g],
            0,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn publish(
        &self,
        ex: &Exchange<'_>,
        outcome: Outcome,
        deny_code: Option<sallyport_pipeline::DenyCode>,
        origin: Option<sallyport_pipeline::Origin>,
        reason: Option<String>,
        guards: Vec<GuardRecord>,
        duration_ns: u64,
    ) {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.sink.publish(DecisionRecord {
            exchange_id: format!("{}-{n}", self.prefix),
            time_unix_ms: now_ms(),
            direction: ex.direction,
            kind: kind_name(ex.message),
            method: ex.method.map(str::to_owned),
            jsonrpc_id: ex.message.id().map(|i| i.to_string()),
            server: ex.server.map(str::to_owned),
            tool: ex.tool.map(str::to_owned),
            principal: ex.principal.id.clone(),
            session_id: ex.session_id.map(str::to_owned),
            era: ex.era.as_str(),
            outcome,
            deny_code,
            origin,
            reason,
            guards,
            duration_ns,
        });
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
