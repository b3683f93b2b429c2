//! The span of one exchange: a client's message, everything relayed for it, and its answer.
//!
//! Every message a client sends is handled inside an `exchange` span (target
//! `sallyport::exchange`, level INFO) that carries its exchange id — also the `exchange_id`
//! of every decision record of the exchange, so logs, access log and audit trail join on it —
//! and the attributes of the OpenTelemetry MCP semantic conventions: `mcp.method.name`,
//! `mcp.session.id`, `mcp.protocol.version`, `jsonrpc.request.id`, `gen_ai.tool.name`, …
//! The relay notes each decision on it (`sallyport.upstream`, `sallyport.outcome`,
//! `error.type` and the span status). With tracing configured the span is exported and
//! continues the client's trace (see [`crate::trace_context`]).
//!
//! The scope travels with the exchange's task, the way the span does.

use std::sync::Mutex;

use opentelemetry::trace::Status;
use sallyport_mcp::{Message, RequestId};
use sallyport_pipeline::{DecisionRecord, Direction, Outcome, Principal};
use serde_json::Value;
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::trace_context::{self, TraceContext};

/// The target of exchange spans, for log filters and the trace export's filter.
pub const TARGET: &str = "sallyport::exchange";
/// The name of exchange spans.
pub const NAME: &str = "exchange";
/// Fields of exchange spans that log lines leave out: the span's name and kind, which only
/// exporters use, and the decision (upstream, outcome, error), which the relay records as the
/// exchange goes on and the access log already holds. Log lines keep the rest: the exchange
/// id, method, session, request id, user and tool.
pub const EXPORT_ONLY_FIELDS: &[&str] = &[
    "otel.name",
    "otel.kind",
    "sallyport.upstream",
    "sallyport.outcome",
    "error.type",
];
/// Longest tool or prompt name put into a span name.
const MAX_TARGET_CHARS: usize = 128;

tokio::task_local! {
    static CURRENT: ExchangeScope;
}

/// The session an exchange belongs to, as its span describes it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionFacts<'a> {
    /// The legacy session id; `None` for stateless clients.
    pub(crate) id: Option<&'a str>,
    /// The negotiated protocol version.
    pub(crate) version: &'a str,
}

/// One exchange in flight: its id, its span, the client's trace context and what has been
/// decided so far.
#[derive(Debug)]
pub(crate) struct ExchangeScope {
    id: String,
    span: tracing::Span,
    inbound: Option<TraceContext>,
    noted: Mutex<Noted>,
}

/// The decisions of an exchange, summed up on its span once it ends: a field recorded twice
/// would be exported twice.
#[derive(Debug, Default)]
struct Noted {
    upstream: bool,
    worst: Option<Outcome>,
    deny_code: Option<&'static str>,
    status_code: Option<i64>,
    error_type: Option<String>,
}

impl ExchangeScope {
    /// Opens the span of the exchange `msg` starts, continuing the client's trace.
    pub(crate) fn open(
        id: String,
        msg: &Message,
        session: SessionFacts<'_>,
        principal: &Principal,
    ) -> Self {
        let method = msg.method().unwrap_or("response");
        let target = target_name(msg);
        let name = match target {
            Some(t) if matches!(method, "tools/call" | "prompts/get") => format!("{method} {t}"),
            _ => method.to_owned(),
        };
        // A string attribute, as the conventions have it, whatever the id's JSON type.
        let request_id = msg.id().map(|id| match id {
            RequestId::Number(n) => n.to_string(),
            RequestId::String(s) => s,
        });
        let tool = target.filter(|_| method == "tools/call");
        // Every field known now is given here, not recorded after: each `record` is another
        // pass through every layer.
        let span = tracing::info_span!(
            target: TARGET,
            NAME,
            exchange_id = %id,
            // As `&str`, never `%`: text logs then quote and escape what the client named.
            otel.name = name.as_str(),
            otel.kind = "server",
            mcp.method.name = method,
            mcp.session.id = session.id,
            jsonrpc.request.id = request_id.as_deref(),
            enduser.id = principal.id.as_str(),
            gen_ai.tool.name = tool,
            sallyport.upstream = Empty,
            sallyport.outcome = Empty,
            "error.type" = Empty,
        );
        let inbound = trace_context::inbound(msg);
        if let Some(cx) = &inbound {
            // Fails only when no exporting layer is installed: then there is nothing to continue.
            let _ = span.set_parent(cx.as_parent());
        }
        set_otel_attributes(&span, msg, session, principal);
        Self {
            id,
            span,
            inbound,
            noted: Mutex::default(),
        }
    }

    /// Runs the exchange's work inside its span and scope (a plain function, so that `work`
    /// is held once; see `trace_context::scope`).
    pub(crate) fn run<F: Future>(self, work: F) -> impl Future<Output = F::Output> {
        let span = self.span.clone();
        CURRENT.scope(self, work.instrument(span))
    }

    fn note(&self, record: &DecisionRecord, msg: &Message) {
        let mut noted = crate::lock(&self.noted);
        if let Some(server) = &record.server
            && !std::mem::replace(&mut noted.upstream, true)
        {
            self.span.record("sallyport.upstream", server.as_str());
        }
        if noted
            .worst
            .is_none_or(|w| outcome_rank(w) <= outcome_rank(record.outcome))
        {
            noted.worst = Some(record.outcome);
        }
        if let Some(code) = record.deny_code {
            noted.deny_code = Some(code.as_str());
            noted.error_type = Some(code.as_str().to_owned());
        } else if record.direction == Direction::ServerToClient && msg.is_response() {
            if let Some(code) = msg.error_code() {
                noted.status_code = Some(code);
                noted.error_type = Some(code.to_string());
            } else if is_tool_error(msg) {
                noted.error_type = Some("tool_error".to_owned());
            }
        }
    }

    /// The context a request to an upstream carries: the exchange span's when it is exported,
    /// else the client's.
    fn outbound(&self) -> Option<Outbound> {
        match TraceContext::of(&self.span.context()) {
            Some(ours) => Some(Outbound::Ours(ours)),
            None => self.inbound.clone().map(Outbound::PassThrough),
        }
    }
}

impl Drop for ExchangeScope {
    /// The outcome and the error, recorded once when the exchange ends (or is abandoned).
    /// Only stable codes go out: reasons may hold details meant for the audit trail alone.
    fn drop(&mut self) {
        let noted = crate::lock(&self.noted);
        if let Some(outcome) = noted.worst {
            self.span.record("sallyport.outcome", outcome.as_str());
        }
        if let Some(code) = noted.deny_code {
            self.span.set_attribute("sallyport.deny_code", code);
        }
        if let Some(code) = noted.status_code {
            self.span
                .set_attribute("rpc.response.status_code", code.to_string());
        }
        if let Some(error_type) = &noted.error_type {
            self.span.record("error.type", error_type.as_str());
            self.span.set_status(Status::error(error_type.clone()));
        }
    }
}

/// A tool result the tool itself marked failed (`isError: true`).
fn is_tool_error(msg: &Message) -> bool {
    msg.result_value()
        .and_then(|r| r.get("isError"))
        .and_then(Value::as_bool)
        == Some(true)
}

/// The trace context a request to an upstream carries.
#[derive(Debug, Clone)]
enum Outbound {
    /// The exchange's exported span: the upstream's span becomes its child.
    Ours(TraceContext),
    /// Tracing is off: the client's context, unchanged.
    PassThrough(TraceContext),
}

/// The id of the exchange being handled, if any.
pub(crate) fn id() -> Option<String> {
    CURRENT.try_with(|s| s.id.clone()).ok()
}

/// Notes a decision of the current exchange on its span.
pub(crate) fn note(record: &DecisionRecord, msg: &Message) {
    let _ = CURRENT.try_with(|s| s.note(record, msg));
}

/// `traceparent` (and `tracestate`) headers for a request to an HTTP upstream.
pub(crate) fn outbound_headers() -> Vec<(&'static str, String)> {
    match CURRENT.try_with(ExchangeScope::outbound).ok().flatten() {
        Some(Outbound::Ours(cx) | Outbound::PassThrough(cx)) => cx.to_pairs(),
        None => Vec::new(),
    }
}

/// Sets `params._meta.traceparent` of a request to an upstream to the exchange's span, when
/// it is exported. Without tracing the body stays as the client sent it.
pub(crate) fn stamp_meta(msg: &mut Message) {
    if let Some(Outbound::Ours(cx)) = CURRENT.try_with(ExchangeScope::outbound).ok().flatten() {
        cx.stamp(msg);
    }
}

/// The tool, prompt or resource a request names, cut to a bounded length.
fn target_name(msg: &Message) -> Option<&str> {
    let key = match msg.method()? {
        "tools/call" | "prompts/get" => "name",
        _ => return None,
    };
    let name = msg.param_str(key)?;
    Some(match name.char_indices().nth(MAX_TARGET_CHARS) {
        Some((end, _)) => &name[..end],
        None => name,
    })
}

/// Attributes only the trace export needs (logs already have the method and the ids).
fn set_otel_attributes(
    span: &tracing::Span,
    msg: &Message,
    session: SessionFacts<'_>,
    principal: &Principal,
) {
    span.set_attribute("mcp.protocol.version", session.version.to_owned());
    span.set_attribute("jsonrpc.protocol.version", "2.0");
    span.set_attribute("sallyport.auth_method", principal.auth_method);
    if let Some(tenant) = &principal.tenant {
        span.set_attribute("sallyport.tenant", tenant.clone());
    }
    match msg.method() {
        Some("tools/call") => span.set_attribute("gen_ai.operation.name", "execute_tool"),
        Some("prompts/get") => {
            if let Some(name) = target_name(msg) {
                span.set_attribute("gen_ai.prompt.name", name.to_owned());
            }
        }
        Some("resources/read" | "resources/subscribe" | "resources/unsubscribe") => {
            if let Some(uri) = msg.param_str("uri") {
                span.set_attribute("mcp.resource.uri", uri.to_owned());
            }
        }
        _ => {}
    }
}

fn outcome_rank(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Allow => 0,
        Outcome::Rewrite => 1,
        Outcome::Hold => 2,
        Outcome::Deny => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(method: &str, name: &str) -> Message {
        Message::request(RequestId::Number(1), method, Some(json!({ "name": name })))
    }

    #[test]
    fn span_targets_are_tool_and_prompt_names_cut_to_a_bound() {
        assert_eq!(
            target_name(&call("tools/call", "get_weather")),
            Some("get_weather")
        );
        assert_eq!(
            target_name(&call("prompts/get", "summary")),
            Some("summary")
        );
        assert_eq!(target_name(&call("resources/read", "x")), None);
        let long = "é".repeat(300);
        let msg = call("tools/call", &long);
        let cut = target_name(&msg).unwrap_or_default();
        assert_eq!(cut.chars().count(), MAX_TARGET_CHARS);
    }

    /// Keeps the field names of the first span opened.
    #[derive(Default)]
    struct SpanFields(std::sync::Mutex<Vec<&'static str>>);

    impl tracing::Subscriber for SpanFields {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            let mut names = crate::lock(&self.0);
            if names.is_empty() {
                names.extend(span.metadata().fields().iter().map(|f| f.name()));
            }
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, _: &tracing::Event<'_>) {}
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    #[test]
    fn the_fields_logs_leave_out_are_fields_of_the_exchange_span() {
        let fields = std::sync::Arc::new(SpanFields::default());
        let msg = call("tools/call", "echo");
        let principal = Principal::local();
        let session = SessionFacts {
            id: Some("s1"),
            version: "2025-11-25",
        };
        tracing::subscriber::with_default(fields.clone(), || {
            drop(ExchangeScope::open("x-1".into(), &msg, session, &principal));
        });
        let names = crate::lock(&fields.0).clone();
        assert!(names.contains(&"exchange_id"), "{names:?}");
        for name in EXPORT_ONLY_FIELDS {
            assert!(
                names.contains(name),
                "{name} is not a field of the span: {names:?}"
            );
        }
    }

    #[test]
    fn the_strictest_outcome_ranks_highest() {
        let ranked = [
            Outcome::Allow,
            Outcome::Rewrite,
            Outcome::Hold,
            Outcome::Deny,
        ];
        assert!(
            ranked
                .windows(2)
                .all(|w| outcome_rank(w[0]) < outcome_rank(w[1]))
        );
    }
}
