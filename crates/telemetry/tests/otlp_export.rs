//! The OTLP export against a fake collector: a local HTTP server that decodes what the
//! exporter POSTs (OTLP/HTTP protobuf) and hands the spans to the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use prost::Message as _;
use sallyport_telemetry::otlp::{OtlpExport, OtlpSettings};
use tokio::sync::mpsc;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

/// A span as the collector saw it, with the resource's service name and the headers of the
/// request that carried it.
struct Received {
    span: Span,
    service_name: String,
    authorization: Option<String>,
}

/// Serves `POST /v1/traces` on a free port; returns the endpoint and the received spans.
async fn collector() -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let tx = tx.clone();
                async move {
                    let request = ExportTraceServiceRequest::decode(body).unwrap();
                    let authorization = headers
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_owned());
                    for resource_spans in request.resource_spans {
                        let service_name = resource_spans
                            .resource
                            .as_ref()
                            .and_then(|r| string_attr(&r.attributes, "service.name"))
                            .unwrap_or_default();
                        for scope in resource_spans.scope_spans {
                            for span in scope.spans {
                                let _ = tx.send(Received {
                                    span,
                                    service_name: service_name.clone(),
                                    authorization: authorization.clone(),
                                });
                            }
                        }
                    }
                    (
                        [("content-type", "application/x-protobuf")],
                        Vec::<u8>::new(),
                    )
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/v1/traces"), rx)
}

fn string_attr(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
        .and_then(|v| match v {
            AnyValue::StringValue(s) => Some(s.clone()),
            _ => None,
        })
}

async fn shutdown(export: OtlpExport) {
    tokio::task::spawn_blocking(move || export.shutdown())
        .await
        .unwrap()
        .unwrap();
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the collector received no span")
        .unwrap()
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// Runs `f` with the export's layer as the subscriber.
fn traced(export: &OtlpExport, f: impl FnOnce()) {
    let subscriber = tracing_subscriber::registry().with(export.layer());
    tracing::subscriber::with_default(subscriber, f);
}

fn remote_parent(flags: &str) -> opentelemetry::Context {
    let carrier = HashMap::from([(
        "traceparent".to_owned(),
        format!("00-{TRACE_ID}-{PARENT_ID}-{flags}"),
    )]);
    TraceContextPropagator::new().extract(&carrier)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_span_reaches_the_collector_with_its_name_attributes_and_parent() {
    let (endpoint, mut rx) = collector().await;
    let mut settings = OtlpSettings::new(endpoint);
    settings.service_name = "gateway-under-test".into();
    settings.headers = vec![("authorization".into(), "Bearer collector-token".into())];
    let export = OtlpExport::start(settings).unwrap();
    traced(&export, || {
        let span = tracing::info_span!(
            "exchange",
            otel.name = "tools/call get_weather",
            otel.kind = "server",
            mcp.method.name = "tools/call",
            gen_ai.tool.name = "get_weather",
        );
        span.set_parent(remote_parent("01")).unwrap();
        span.set_attribute("mcp.protocol.version", "2025-11-25");
        span.in_scope(|| tracing::warn!("Inside the exchange."));
    });
    shutdown(export).await;
    let got = next(&mut rx).await;
    assert_eq!(got.span.name, "tools/call get_weather");
    assert_eq!(got.service_name, "gateway-under-test");
    assert_eq!(got.authorization.as_deref(), Some("Bearer collector-token"));
    assert_eq!(hex(&got.span.trace_id), TRACE_ID);
    assert_eq!(hex(&got.span.parent_span_id), PARENT_ID);
    // SPAN_KIND_SERVER
    assert_eq!(got.span.kind, 2);
    let attrs = &got.span.attributes;
    assert_eq!(
        string_attr(attrs, "mcp.method.name").as_deref(),
        Some("tools/call")
    );
    assert_eq!(
        string_attr(attrs, "gen_ai.tool.name").as_deref(),
        Some("get_weather")
    );
    assert_eq!(
        string_attr(attrs, "mcp.protocol.version").as_deref(),
        Some("2025-11-25")
    );
    assert_eq!(got.span.events.len(), 1, "the warning is a span event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_sampling_only_continued_sampled_traces_are_exported() {
    let (endpoint, mut rx) = collector().await;
    let mut settings = OtlpSettings::new(endpoint);
    settings.sample_ratio = 0.0;
    let export = OtlpExport::start(settings).unwrap();
    traced(&export, || {
        tracing::info_span!("exchange", otel.name = "root").in_scope(|| {});
        let unsampled = tracing::info_span!("exchange", otel.name = "unsampled parent");
        unsampled.set_parent(remote_parent("00")).unwrap();
        unsampled.in_scope(|| {});
        let sampled = tracing::info_span!("exchange", otel.name = "sampled parent");
        sampled.set_parent(remote_parent("01")).unwrap();
        sampled.in_scope(|| {});
    });
    shutdown(export).await;
    let got = next(&mut rx).await;
    assert_eq!(got.span.name, "sampled parent");
    assert!(rx.try_recv().is_err(), "only the sampled trace is exported");
}

#[test]
fn an_unreachable_collector_neither_blocks_nor_fails_the_caller() {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    let mut settings = OtlpSettings::new("http://127.0.0.1:9/v1/traces");
    settings.timeout = Duration::from_secs(2);
    let export = OtlpExport::start(settings).unwrap();
    traced(&export, || tracing::info_span!("exchange").in_scope(|| {}));
    let started = std::time::Instant::now();
    // The failed batch is logged and dropped; shutdown still returns.
    let _ = export.shutdown();
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn settings_never_show_header_values() {
    let mut settings = OtlpSettings::new("http://127.0.0.1:4318/v1/traces");
    settings.headers = vec![("authorization".into(), "Bearer s3cr3t".into())];
    let shown = format!("{settings:?}");
    assert!(shown.contains("authorization"));
    assert!(!shown.contains("s3cr3t"));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
