//! Tracing through the real binary: a span per exchange exported over OTLP/HTTP to a fake
//! collector, W3C `traceparent` continued from the client and propagated to an HTTP upstream
//! (header and `_meta`), pass-through without `tracing:`, and JSON logs carrying the
//! exchange id.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use sallyport_e2e::{free_port, http_server, read_jsonl, response_body, sallyport_bin, wait_jsonl};
use serde_json::{Value, json};

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const CLIENT_SPAN: &str = "b7ad6b7169203331";
const TRACESTATE: &str = "congo=t61rcWkgMzE";

fn client_traceparent() -> String {
    format!("00-{TRACE_ID}-{CLIENT_SPAN}-01")
}

// === fake OTLP collector ===

type Spans = Arc<Mutex<Vec<Span>>>;

/// Serves `POST /v1/traces`, decoding each protobuf export into its spans.
async fn collector() -> (String, Spans) {
    let spans: Spans = Arc::default();
    let sink = spans.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).unwrap();
                let received = request
                    .resource_spans
                    .into_iter()
                    .flat_map(|r| r.scope_spans)
                    .flat_map(|s| s.spans);
                sink.lock().unwrap().extend(received);
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/v1/traces"), spans)
}

fn attr(span: &Span, key: &str) -> Option<String> {
    let value = span.attributes.iter().find(|kv| kv.key == key)?;
    match value.value.as_ref()?.value.as_ref()? {
        AnyValue::StringValue(s) => Some(s.clone()),
        other => panic!("{key} is not a string: {other:?}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// === fake HTTP upstream that records trace context ===

/// What the upstream saw of one `tools/call`: its trace headers and `params._meta`.
#[derive(Debug, Clone)]
struct Seen {
    traceparent: Option<String>,
    tracestate: Option<String>,
    meta: Value,
}

/// A 2025-11-25 Streamable HTTP server with one tool, `echo`, listed twice (the gateway warns
/// about the duplicate inside the `tools/list` exchange).
async fn upstream() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let record = seen.clone();
    let mcp = move |headers: axum::http::HeaderMap, axum::Json(msg): axum::Json<Value>| {
        let record = record.clone();
        async move {
            use axum::response::IntoResponse;
            let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
            let id = msg["id"].clone();
            let tool = json!({"name":"echo","inputSchema":{"type":"object"}});
            let result = match msg["method"].as_str().unwrap_or_default() {
                "initialize" => {
                    json!({"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"rec","version":"1"}})
                }
                "tools/list" => json!({"tools":[tool, tool]}),
                "tools/call" => {
                    record.lock().unwrap().push(Seen {
                        traceparent: header("traceparent"),
                        tracestate: header("tracestate"),
                        meta: msg["params"]["_meta"].clone(),
                    });
                    json!({"content":[{"type":"text","text":"hi"}]})
                }
                _ if id.is_null() => return axum::http::StatusCode::ACCEPTED.into_response(),
                _ => json!({}),
            };
            axum::Json(json!({"jsonrpc":"2.0","id":id,"result":result})).into_response()
        }
    };
    let app = axum::Router::new().route(
        "/mcp",
        axum::routing::post(mcp).get(|| async { axum::http::StatusCode::METHOD_NOT_ALLOWED }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/mcp"), seen)
}

// === the gateway, with JSON logs ===

/// `sallyport --log-format json serve`, stopped with SIGTERM (so it flushes its spans).
struct Gateway {
    child: Child,
    base: String,
    access_log: PathBuf,
    dir: tempfile::TempDir,
}

impl Gateway {
    async fn start(rest_yaml: &str) -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("sallyport.yaml");
        std::fs::write(
            &config,
            format!("listen: {{ http: \"127.0.0.1:{port}\" }}\n{rest_yaml}"),
        )
        .unwrap();
        let access_log = dir.path().join("access.jsonl");
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let child = Command::new(sallyport_bin())
            .args(["--log-format", "json", "serve", "-c"])
            .arg(&config)
            .arg("--access-log")
            .arg(&access_log)
            .env("SALLYPORT_LOG", "info")
            .stdin(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let gw = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            access_log,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !reqwest::get(format!("{}/healthz", gw.base))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(Instant::now() < deadline, "not healthy:\n{}", gw.logs());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        gw
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    fn log_lines(&self) -> Vec<Value> {
        self.logs()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn decisions(&self) -> Vec<Value> {
        read_jsonl(&self.access_log)
    }

    /// SIGTERM, then waits for the process to exit.
    async fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "no exit:\n{}", self.logs());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A stateless (2026-07-28) request with optional trace headers and extra `_meta`.
async fn modern(
    gw: &Gateway,
    method: &str,
    params: Value,
    trace_headers: &[(&str, &str)],
) -> Value {
    let mut params = params;
    params["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2026-07-28");
    params["_meta"]["io.modelcontextprotocol/clientCapabilities"] = json!({});
    let body = json!({"jsonrpc":"2.0","id":7,"method":method,"params":params});
    let mut request = reqwest::Client::new()
        .post(format!("{}/mcp", gw.base))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method);
    if let Some(name) = params["name"].as_str() {
        request = request.header("mcp-name", name);
    }
    for (name, value) in trace_headers {
        request = request.header(*name, *value);
    }
    let resp = request.body(body.to_string()).send().await.unwrap();
    response_body(&resp.text().await.unwrap())
}

fn config(upstream_url: &str, tracing_yaml: &str) -> String {
    format!(
        "servers:\n{}{tracing_yaml}",
        http_server("rec", upstream_url)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_continues_the_clients_trace_up_to_the_collector_and_the_upstream() {
    let (endpoint, spans) = collector().await;
    let (url, seen) = upstream().await;
    let tracing_yaml =
        format!("tracing:\n  otlp_endpoint: \"{endpoint}\"\n  service_name: e2e-gateway\n");
    let mut gw = Gateway::start(&config(&url, &tracing_yaml)).await;
    let parent = client_traceparent();
    let trace_headers = [("traceparent", parent.as_str()), ("tracestate", TRACESTATE)];
    let answer = modern(
        &gw,
        "tools/call",
        json!({"name":"rec__echo","arguments":{}}),
        &trace_headers,
    )
    .await;
    assert_eq!(answer["result"]["content"][0]["text"], "hi", "{answer}");

    // The upstream got our span as its parent, in the header and in `_meta`.
    let got = seen
        .lock()
        .unwrap()
        .last()
        .cloned()
        .expect("upstream saw the call");
    let header = got.traceparent.clone().expect("traceparent header");
    let parts: Vec<&str> = header.split('-').collect();
    assert_eq!(parts.len(), 4, "{header}");
    assert_eq!(
        parts[1], TRACE_ID,
        "the upstream continues the client's trace"
    );
    assert_ne!(parts[2], CLIENT_SPAN, "its parent is the gateway's span");
    assert_eq!(parts[3], "01");
    assert_eq!(got.tracestate.as_deref(), Some(TRACESTATE));
    assert_eq!(got.meta["traceparent"], header.as_str(), "{:?}", got.meta);

    gw.stop().await;
    let exported = spans.lock().unwrap().clone();
    let span = exported
        .iter()
        .find(|s| s.name == "tools/call rec__echo")
        .unwrap_or_else(|| panic!("no exchange span among {exported:?}\n{}", gw.logs()));
    assert_eq!(hex(&span.trace_id), TRACE_ID);
    assert_eq!(hex(&span.parent_span_id), CLIENT_SPAN);
    assert_eq!(
        hex(&span.span_id),
        parts[2],
        "the upstream's parent is this span"
    );
    assert_eq!(span.kind, 2, "SPAN_KIND_SERVER");
    let mut keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
    keys.sort_unstable();
    let before = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), before, "an attribute exported twice: {span:?}");
    for (key, value) in [
        ("mcp.method.name", "tools/call"),
        ("gen_ai.tool.name", "rec__echo"),
        ("gen_ai.operation.name", "execute_tool"),
        ("mcp.protocol.version", "2026-07-28"),
        ("jsonrpc.request.id", "7"),
        ("sallyport.upstream", "rec"),
        ("sallyport.outcome", "allow"),
    ] {
        assert_eq!(attr(span, key).as_deref(), Some(value), "{key} in {span:?}");
    }
    if std::env::var_os("SALLYPORT_TEST_SHOW_SPAN").is_some() {
        eprintln!("{span:#?}\n{}", gw.logs());
    }
    // The span and every decision record of the call share the exchange id.
    let exchange_id = attr(span, "exchange_id").expect("exchange_id attribute");
    let of_call = |d: &Value| d["exchange_id"] == exchange_id.as_str();
    // The response's record is logged after the request's.
    wait_jsonl(&gw.access_log, |d| {
        of_call(d) && d["direction"] == "server_to_client"
    })
    .await;
    let records: Vec<Value> = gw.decisions().into_iter().filter(of_call).collect();
    assert!(
        records.len() >= 2,
        "request and response records: {records:?}"
    );
    assert!(
        records.iter().all(|d| d["method"] == "tools/call"),
        "{records:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_call_is_an_error_span() {
    let (endpoint, spans) = collector().await;
    let (url, _) = upstream().await;
    let tracing_yaml = format!("tracing:\n  otlp_endpoint: \"{endpoint}\"\n");
    let mut gw = Gateway::start(&config(&url, &tracing_yaml)).await;
    let answer = modern(&gw, "tools/call", json!({"name":"rec__nope"}), &[]).await;
    assert!(answer.get("error").is_some(), "{answer}");
    gw.stop().await;
    let exported = spans.lock().unwrap().clone();
    let span = exported
        .iter()
        .find(|s| s.name == "tools/call rec__nope")
        .unwrap_or_else(|| panic!("no span among {exported:?}"));
    assert_eq!(attr(span, "sallyport.outcome").as_deref(), Some("deny"));
    assert_eq!(
        attr(span, "error.type").as_deref(),
        Some("tool_not_allowed")
    );
    // STATUS_CODE_ERROR
    assert_eq!(span.status.as_ref().map(|s| s.code), Some(2), "{span:?}");
    assert_eq!(span.parent_span_id, Vec::<u8>::new(), "a root span");
}

/// The legacy handshake is an exchange too: `initialize` gets its span, continuing the
/// client's trace, with the protocol version it asked for.
#[tokio::test(flavor = "multi_thread")]
async fn a_legacy_initialize_is_a_span_too() {
    let (endpoint, spans) = collector().await;
    let (url, _) = upstream().await;
    let tracing_yaml = format!("tracing:\n  otlp_endpoint: \"{endpoint}\"\n");
    let mut gw = Gateway::start(&config(&url, &tracing_yaml)).await;
    let parent = client_traceparent();
    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    let resp = reqwest::Client::new()
        .post(format!("{}/mcp", gw.base))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("traceparent", parent.as_str())
        .body(init.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("mcp-session-id"));
    gw.stop().await;
    let exported = spans.lock().unwrap().clone();
    let span = exported
        .iter()
        .find(|s| s.name == "initialize")
        .unwrap_or_else(|| panic!("no initialize span among {exported:?}"));
    assert_eq!(hex(&span.trace_id), parent.split('-').nth(1).unwrap());
    assert_eq!(attr(span, "mcp.method.name").as_deref(), Some("initialize"));
    assert_eq!(
        attr(span, "mcp.protocol.version").as_deref(),
        Some("2025-11-25")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_tracing_the_clients_context_passes_through_unchanged() {
    let (url, seen) = upstream().await;
    let gw = Gateway::start(&config(&url, "")).await;
    // From the HTTP headers: the same header reaches the upstream; the body is untouched.
    let parent = client_traceparent();
    let trace_headers = [("traceparent", parent.as_str()), ("tracestate", TRACESTATE)];
    let args = json!({"name":"rec__echo","arguments":{}});
    modern(&gw, "tools/call", args.clone(), &trace_headers).await;
    let got = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(got.traceparent.as_deref(), Some(parent.as_str()));
    assert_eq!(got.tracestate.as_deref(), Some(TRACESTATE));
    assert!(got.meta.get("traceparent").is_none(), "{:?}", got.meta);

    // From `_meta`: it stays in the body and becomes the header too.
    let meta_parent = "00-11111111111111111111111111111111-2222222222222222-00";
    let mut with_meta = args.clone();
    with_meta["_meta"] = json!({"traceparent": meta_parent});
    modern(&gw, "tools/call", with_meta, &trace_headers).await;
    let got = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(got.traceparent.as_deref(), Some(meta_parent), "_meta wins");
    assert_eq!(got.meta["traceparent"], meta_parent);

    // A malformed context is dropped, not forwarded.
    modern(&gw, "tools/call", args, &[("traceparent", "00-zz-yy-01")]).await;
    let got = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(got.traceparent, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_inside_an_exchange_carry_its_id() {
    let (url, _) = upstream().await;
    let gw = Gateway::start(&config(&url, "")).await;
    let answer = modern(&gw, "tools/list", json!({}), &[]).await;
    assert!(answer.get("result").is_some(), "{answer}");
    let record = wait_jsonl(&gw.access_log, |d| {
        d["method"] == "tools/list" && d["direction"] == "client_to_server"
    })
    .await;
    let exchange_id = record["exchange_id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // The duplicate `echo` is reported while the list is merged, inside the exchange.
        let inside = gw.log_lines().into_iter().find(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Duplicate name"))
                && l["span"]["exchange_id"] == exchange_id.as_str()
        });
        if let Some(line) = inside {
            assert_eq!(line["span"]["name"], "exchange", "{line}");
            assert_eq!(line["span"]["mcp.method.name"], "tools/list", "{line}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no log line with exchange_id {exchange_id}:\n{}",
            gw.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
