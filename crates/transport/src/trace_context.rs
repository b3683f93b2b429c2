//! W3C trace context (`traceparent`, `tracestate`) at both edges.
//!
//! A client may send its trace context as HTTP headers or, as the OpenTelemetry MCP
//! conventions recommend, inside the request's `params._meta`; the `_meta` one wins, because
//! it belongs to the message while a header belongs to the HTTP request that carried it. The
//! exchange's span continues that trace. Towards an upstream, the context is the exchange
//! span's own when tracing is configured; otherwise the client's context passes through
//! unchanged (HTTP upstreams only, as headers: without tracing the body is never rewritten).
//! Values are parsed by OpenTelemetry's `TraceContextPropagator`, so a malformed
//! `traceparent` is ignored, never forwarded.

use std::collections::HashMap;

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use sallyport_mcp::Message;
use serde_json::Value;

/// The `traceparent` header and `_meta` key.
pub const TRACEPARENT: &str = "traceparent";
/// The `tracestate` header and `_meta` key.
pub const TRACESTATE: &str = "tracestate";

tokio::task_local! {
    static FROM_HTTP: Option<TraceContext>;
}

/// A valid W3C trace context: the trace, the parent span, its flags and trace state.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceContext(SpanContext);

impl TraceContext {
    /// Parses a `traceparent` (and `tracestate`); `None` when it is not a valid context.
    pub fn parse(traceparent: &str, tracestate: Option<&str>) -> Option<Self> {
        let carrier = Carrier {
            traceparent: Some(traceparent),
            tracestate,
        };
        let cx = TraceContextPropagator::new().extract(&carrier);
        let span = cx.span().span_context().clone();
        span.is_valid().then_some(Self(span))
    }

    /// The context of an OpenTelemetry span, when it is a real one.
    pub fn of(cx: &Context) -> Option<Self> {
        let span = cx.span().span_context().clone();
        span.is_valid().then_some(Self(span))
    }

    /// The trace context of HTTP request headers.
    pub fn from_headers(headers: &http::HeaderMap) -> Option<Self> {
        let get = |name| headers.get(name).and_then(|v| v.to_str().ok());
        Self::parse(get(TRACEPARENT)?, get(TRACESTATE))
    }

    /// The trace context in a message's `params._meta`.
    pub fn from_meta(msg: &Message) -> Option<Self> {
        let meta = msg.params_meta()?;
        let get = |key| meta.get(key).and_then(Value::as_str);
        Self::parse(get(TRACEPARENT)?, get(TRACESTATE))
    }

    /// The OpenTelemetry context whose remote parent this is.
    pub fn as_parent(&self) -> Context {
        Context::new().with_remote_span_context(self.0.clone())
    }

    /// The trace id, 32 lowercase hex digits.
    pub fn trace_id(&self) -> String {
        self.0.trace_id().to_string()
    }

    /// `traceparent` and, when not empty, `tracestate`, as W3C Trace Context writes them.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut out: HashMap<String, String> = HashMap::new();
        TraceContextPropagator::new().inject_context(&self.as_parent(), &mut out);
        [TRACEPARENT, TRACESTATE]
            .into_iter()
            .filter_map(|key| out.remove(key).map(|v| (key, v)))
            .filter(|(_, v)| !v.is_empty())
            .collect()
    }

    /// Sets `params._meta.traceparent` (and `tracestate`) of a request to this context.
    pub fn stamp(&self, msg: &mut Message) {
        let params = msg.params_mut();
        let meta = params
            .entry("_meta")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        let Some(meta) = meta.as_object_mut() else {
            return;
        };
        meta.remove(TRACESTATE);
        for (key, value) in self.to_pairs() {
            meta.insert(key.into(), Value::from(value));
        }
    }
}

/// The context a client sent with `msg`: its `_meta` one, else the HTTP request's.
pub(crate) fn inbound(msg: &Message) -> Option<TraceContext> {
    TraceContext::from_meta(msg).or_else(|| FROM_HTTP.try_with(Clone::clone).ok().flatten())
}

/// Runs `fut` with the trace context of the HTTP request it handles.
///
/// A plain function, not an `async fn`: an `async fn` would hold `fut` twice in its state
/// (as its argument and as the future it awaits), doubling the size of every request's
/// future at each such wrapper.
pub fn scope<F: std::future::Future>(
    from_http: Option<TraceContext>,
    fut: F,
) -> impl std::future::Future<Output = F::Output> {
    FROM_HTTP.scope(from_http, fut)
}

/// The HTTP request's trace context, for work that moves to a task of its own.
pub(crate) fn from_http() -> Option<TraceContext> {
    FROM_HTTP.try_with(Clone::clone).ok().flatten()
}

struct Carrier<'a> {
    traceparent: Option<&'a str>,
    tracestate: Option<&'a str>,
}

impl Extractor for Carrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            TRACEPARENT => self.traceparent,
            TRACESTATE => self.tracestate,
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT, TRACESTATE]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;
    use sallyport_mcp::RequestId;
    use serde_json::json;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn call(params: Value) -> Message {
        Message::request(RequestId::Number(1), "tools/call", Some(params))
    }

    #[test]
    fn a_valid_context_round_trips_unchanged() {
        let cx = TraceContext::parse(PARENT, Some("vendor=abc,other=1")).unwrap();
        assert_eq!(cx.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(
            cx.to_pairs(),
            vec![
                (TRACEPARENT, PARENT.to_owned()),
                (TRACESTATE, "vendor=abc,other=1".to_owned())
            ]
        );
    }

    #[test]
    fn malformed_contexts_are_ignored() {
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01\r\nx: y",
            "garbage",
        ] {
            assert_eq!(TraceContext::parse(bad, None), None, "{bad:?}");
        }
    }

    #[test]
    fn meta_wins_over_the_http_header() {
        let meta_parent = "00-11111111111111111111111111111111-2222222222222222-01";
        let msg = call(json!({"name":"x","_meta":{"traceparent": meta_parent}}));
        let header = TraceContext::parse(PARENT, None);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let got = rt.block_on(scope(header.clone(), async { inbound(&msg) }));
        assert_eq!(got.unwrap().trace_id(), "11111111111111111111111111111111");
        let plain = Message::request(RequestId::Number(1), "ping", None);
        let got = rt.block_on(scope(header, async { inbound(&plain) }));
        assert_eq!(got.unwrap().trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(inbound(&plain), None, "no HTTP request, no header context");
    }

    #[test]
    fn stamping_replaces_the_clients_context_and_keeps_other_meta() {
        let mut msg = call(
            json!({"name":"x","_meta":{"progressToken":7,"traceparent":"x","tracestate":"a=b"}}),
        );
        TraceContext::parse(PARENT, None).unwrap().stamp(&mut msg);
        let meta = msg.params_meta().unwrap();
        assert_eq!(meta["traceparent"], PARENT);
        assert_eq!(meta["progressToken"], 7);
        assert!(!meta.contains_key("tracestate"));
    }
}
