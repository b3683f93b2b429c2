//! Traffic protection on the request path, through the real binary: rate limits (one
//! process and a fleet sharing the real Redis on 127.0.0.1:6379), Redis failure modes,
//! circuit breakers and per-tool timeouts.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use sallyport_e2e::{GatewayProc, free_port, http_server};
use serde_json::{Value, json};

const ACCEPT: &str = "application/json, text/event-stream";
const REDIS: &str = "redis://127.0.0.1:6379";

/// A stateless (2026-07-28) `tools/call`.
async fn call(gw: &GatewayProc, tool: &str, arguments: Value) -> (StatusCode, Value) {
    sallyport_e2e::modern_tool_call(&gw.mcp_url(), json!(1), tool, arguments).await
}

async fn echo(gw: &GatewayProc) -> (StatusCode, Value) {
    call(gw, "notes__echo", json!({"text": "hi"})).await
}

fn is_ok(body: &Value) -> bool {
    body.get("result").is_some() && body["result"]["isError"] != true
}

/// A key prefix no other test run shares.
fn unique_prefix(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("sallyport-e2e:{test}:{}:{nanos}", std::process::id())
}

async fn gateway_with(upstream_url: &str, limits_yaml: &str) -> GatewayProc {
    GatewayProc::start(&format!(
        "servers:\n{}limits:\n{limits_yaml}",
        http_server("notes", upstream_url)
    ))
    .await
}

async fn readyz(gw: &GatewayProc) -> (StatusCode, Value) {
    let resp = reqwest::get(format!("{}/readyz", gw.base)).await.unwrap();
    (resp.status(), resp.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_per_tool_limit_stricter_than_the_per_principal_limit_wins() {
    let url = sallyport_demo::spawn_http().await.unwrap();
    let gw = gateway_with(
        &url,
        "  rate_limits:\n    per_principal: { requests_per_minute: 600, burst_size: 100 }\n    per_tool:\n      echo: { requests_per_minute: 2, burst_size: 2 }\n",
    )
    .await;
    for _ in 0..2 {
        let (status, body) = echo(&gw).await;
        assert!(is_ok(&body), "{status} {body}");
    }
    let (status, body) = echo(&gw).await;
    // After parsing, a refusal is a JSON-RPC error (not an HTTP 429).
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["error"]["code"], -32011, "{body}");
    assert_eq!(body["error"]["data"]["limit"], "per_tool:echo:per_minute");
    let retry = body["error"]["data"]["retry_after"].as_u64().unwrap();
    assert!((1..=30).contains(&retry), "{body}");
    // Only the rule and the wait: nothing about anyone's usage.
    let data = body["error"]["data"].as_object().unwrap();
    assert_eq!(data.len(), 2, "{body}");
    // Other tools still pass: the caller's own budget is far from spent.
    let (_, body) = call(&gw, "notes__add", json!({"a": 1, "b": 2})).await;
    assert!(is_ok(&body), "{body}");
    let record = gw.wait_decision(|d| d["deny_code"] == "rate_limited").await;
    assert_eq!(record["tool"], "echo", "{record}");
    assert_eq!(record["server"], "notes", "{record}");
    assert!(
        record["reason"]
            .as_str()
            .unwrap()
            .contains("per_tool:echo:per_minute"),
        "{record}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_gateways_sharing_redis_enforce_one_combined_limit() {
    let url = sallyport_demo::spawn_http().await.unwrap();
    let limits = format!(
        "  rate_limits:\n    per_tool:\n      echo: {{ requests_per_minute: 4, burst_size: 4 }}\n  redis: {{ url: \"{REDIS}\", key_prefix: \"{}\" }}\n",
        unique_prefix("fleet")
    );
    let a = gateway_with(&url, &limits).await;
    let b = gateway_with(&url, &limits).await;
    let mut allowed = 0;
    let mut refused = 0;
    for i in 0..8 {
        let gw = if i % 2 == 0 { &a } else { &b };
        let (_, body) = echo(gw).await;
        if is_ok(&body) {
            allowed += 1;
        } else {
            assert_eq!(body["error"]["code"], -32011, "{body}");
            refused += 1;
        }
    }
    // Each process alone would have allowed 4 (8 in all): together they allow 4.
    assert_eq!((allowed, refused), (4, 4));
    let (status, ready) = readyz(&a).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["limits"]["redis"]["ready"], true, "{ready}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_redis_fails_closed_by_default_and_open_when_configured() {
    let url = sallyport_demo::spawn_http().await.unwrap();
    let dead = format!("redis://127.0.0.1:{}", free_port());
    let closed = gateway_with(
        &url,
        &format!("  rate_limits:\n    per_principal: {{ requests_per_minute: 600 }}\n  redis: {{ url: \"{dead}\" }}\n"),
    )
    .await;
    let (_, body) = echo(&closed).await;
    assert_eq!(body["error"]["code"], -32011, "{body}");
    assert_eq!(
        body["error"]["data"]["limit"], "redis_unavailable",
        "{body}"
    );
    let (status, ready) = readyz(&closed).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["limits"]["redis"]["ready"], false, "{ready}");
    assert_eq!(ready["limits"]["redis"]["on_failure"], "closed", "{ready}");

    let open = gateway_with(
        &url,
        &format!("  rate_limits:\n    per_principal: {{ requests_per_minute: 600 }}\n  redis: {{ url: \"{dead}\", on_redis_failure: open }}\n"),
    )
    .await;
    let (_, body) = echo(&open).await;
    assert!(is_ok(&body), "{body}");
    let (status, ready) = readyz(&open).await;
    // Calls still pass, so the gateway stays ready; the outage is visible all the same.
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["limits"]["redis"]["ready"], false, "{ready}");
    assert_eq!(ready["limits"]["redis"]["on_failure"], "open", "{ready}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_breaker_opens_on_upstream_5xx_probes_and_closes() {
    let failing = Arc::new(AtomicBool::new(true));
    let url = flaky_upstream(failing.clone()).await;
    let gw = GatewayProc::start(&format!(
        "servers:\n  - name: notes\n    http: {{ url: \"{url}\" }}\n    era: legacy\nlimits:\n  circuit_breakers:\n    profiles:\n      fast: {{ failure_threshold: 2, recovery_timeout_secs: 2, include_retry_after: true }}\n    default_profile: fast\n"
    ))
    .await;
    // The upstream answers tools/call with HTTP 500: two failures open the breaker.
    for _ in 0..2 {
        let (_, body) = echo(&gw).await;
        assert_eq!(body["error"]["code"], -32603, "{body}");
    }
    let (status, body) = echo(&gw).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["error"]["code"], -32014, "{body}");
    assert_eq!(
        body["error"]["data"]["limit"],
        "circuit_breaker:server:notes"
    );
    assert!(
        body["error"]["data"]["retry_after"].as_u64().unwrap() <= 2,
        "{body}"
    );
    let refused_calls = calls_seen(&url).await;
    let (_, body) = echo(&gw).await;
    assert_eq!(body["error"]["code"], -32014, "{body}");
    assert_eq!(
        calls_seen(&url).await,
        refused_calls,
        "an open breaker sends nothing upstream"
    );
    gw.wait_decision(|d| d["deny_code"] == "circuit_open").await;
    // The upstream recovers; after the recovery time one probe goes through and closes it.
    failing.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let (_, body) = echo(&gw).await;
    assert!(is_ok(&body), "probe: {body}");
    for _ in 0..3 {
        let (_, body) = echo(&gw).await;
        assert!(is_ok(&body), "closed again: {body}");
    }
}

/// A legacy Streamable HTTP upstream with one tool, `echo`, whose calls get HTTP 500 while
/// `failing` is set. `GET /calls` says how many calls reached it.
async fn flaky_upstream(failing: Arc<AtomicBool>) -> String {
    use axum::http::StatusCode as Status;
    use axum::response::IntoResponse;
    let calls = Arc::new(AtomicU64::new(0));
    let counter = calls.clone();
    let mcp = move |axum::Json(msg): axum::Json<Value>| {
        let failing = failing.clone();
        let calls = calls.clone();
        async move {
            let id = msg["id"].clone();
            let result = match msg["method"].as_str().unwrap_or_default() {
                "initialize" => {
                    json!({"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"flaky","version":"1"}})
                }
                "tools/list" => json!({"tools":[{"name":"echo","inputSchema":{"type":"object"}}]}),
                "tools/call" => {
                    calls.fetch_add(1, Ordering::SeqCst);
                    if failing.load(Ordering::SeqCst) {
                        return (Status::INTERNAL_SERVER_ERROR, "upstream broke").into_response();
                    }
                    json!({"content":[{"type":"text","text":"hi"}]})
                }
                _ if id.is_null() => return Status::ACCEPTED.into_response(),
                _ => json!({}),
            };
            axum::Json(json!({"jsonrpc":"2.0","id":id,"result":result})).into_response()
        }
    };
    let app = axum::Router::new()
        .route(
            "/mcp",
            axum::routing::post(mcp).get(|| async { Status::METHOD_NOT_ALLOWED }),
        )
        .route(
            "/calls",
            axum::routing::get(move || async move { counter.load(Ordering::SeqCst).to_string() }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/mcp")
}

async fn calls_seen(mcp_url: &str) -> u64 {
    let url = mcp_url.replace("/mcp", "/calls");
    reqwest::get(url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_with_is_error_does_not_open_the_breaker() {
    let url = sallyport_demo::spawn_http().await.unwrap();
    let gw = gateway_with(
        &url,
        "  circuit_breakers:\n    profiles:\n      fast: { failure_threshold: 1, recovery_timeout_secs: 60 }\n    default_profile: fast\n",
    )
    .await;
    for _ in 0..3 {
        let (_, body) = call(&gw, "notes__fail", json!({})).await;
        assert_eq!(body["result"]["isError"], true, "{body}");
    }
    let (_, body) = echo(&gw).await;
    assert!(is_ok(&body), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_upstream_is_cut_off_by_the_per_tool_timeout_without_leaking() {
    let url = sallyport_demo::spawn_http().await.unwrap();
    let gw = gateway_with(
        &url,
        "  timeouts:\n    request_timeout_secs: 30\n    per_tool_request_timeout_secs: { slow_count: 1 }\n",
    )
    .await;
    let session = legacy_session(&gw).await;
    let hang = json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"notes__slow_count","arguments":{"to":1,"delay_ms":10000}}});
    for attempt in 0..2 {
        let started = Instant::now();
        let body = legacy_post(&gw, &session, &hang).await;
        let took = started.elapsed();
        assert_eq!(body["error"]["code"], -32015, "attempt {attempt}: {body}");
        assert_eq!(body["error"]["data"]["limit"], "timeout:notes:slow_count");
        assert!(took < Duration::from_secs(4), "held for {took:?}");
        // The same id again: had the first request stayed in flight, it would be refused
        // as a duplicate id.
    }
    let record = gw
        .wait_decision(|d| d["deny_code"] == "upstream_timeout")
        .await;
    assert_eq!(record["tool"], "slow_count", "{record}");
    // Other tools are unaffected by the per-tool timeout.
    let echo_call = json!({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"notes__echo","arguments":{"text":"still here"}}});
    let body = legacy_post(&gw, &session, &echo_call).await;
    assert!(is_ok(&body), "{body}");
}

async fn legacy_post(gw: &GatewayProc, session: &str, body: &Value) -> Value {
    let resp = reqwest::Client::new()
        .post(gw.mcp_url())
        .header("content-type", "application/json")
        .header("accept", ACCEPT)
        .header("mcp-protocol-version", "2025-11-25")
        .header("mcp-session-id", session)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    sallyport_e2e::response_body(&resp.text().await.unwrap())
}

async fn legacy_session(gw: &GatewayProc) -> String {
    sallyport_e2e::legacy_session(&gw.mcp_url()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn health_checks_feed_readiness_and_open_the_breaker_early() {
    let dead = format!("http://127.0.0.1:{}/mcp", free_port());
    let gw = gateway_with(
        &dead,
        "  health_check: { interval_secs: 1, timeout_secs: 1 }\n  circuit_breakers:\n    per_tool: { echo: critical_tools }\n",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, ready) = readyz(&gw).await;
        if ready["health_checks"]["notes"]["healthy"] == false {
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
            break;
        }
        assert!(Instant::now() < deadline, "no failed health check: {ready}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The failed check opened the upstream's breaker: the very first call is refused
    // without trying the dead upstream.
    let (_, body) = echo(&gw).await;
    assert_eq!(body["error"]["code"], -32014, "{body}");
}
