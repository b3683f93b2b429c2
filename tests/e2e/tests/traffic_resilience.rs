//! Traffic protection when things go wrong, through the real binary: a Redis server killed
//! in the middle of a run and brought back, upstreams that never accept a connection, and
//! long-lived SSE streams cut off by the idle and lifetime limits of `limits.timeouts`.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sallyport_e2e::redis::RedisProc;
use sallyport_e2e::{GatewayProc, free_port, http_server};
use serde_json::{Value, json};

async fn echo(gw: &GatewayProc) -> Value {
    sallyport_e2e::modern_tool_call(
        &gw.mcp_url(),
        json!(1),
        "notes__echo",
        json!({"text": "hi"}),
    )
    .await
    .1
}

fn is_ok(body: &Value) -> bool {
    body.get("result").is_some() && body["result"]["isError"] != true
}

fn is_redis_refusal(body: &Value) -> bool {
    body["error"]["code"] == -32011 && body["error"]["data"]["limit"] == "redis_unavailable"
}

/// Calls until `want` holds for an answer, for at most `within`; the last answer.
async fn echo_until(gw: &GatewayProc, within: Duration, want: fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let body = echo(gw).await;
        if want(&body) || Instant::now() > deadline {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn redis_ready(gw: &GatewayProc) -> (StatusCode, Value) {
    let resp = reqwest::get(format!("{}/readyz", gw.base)).await.unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    (status, body["limits"]["redis"].clone())
}

async fn gateway_on_redis(redis: &RedisProc, on_failure: &str) -> GatewayProc {
    let upstream = sallyport_demo::spawn_http().await.unwrap();
    GatewayProc::start(&format!(
        "servers:\n{}limits:\n  rate_limits:\n    per_principal: {{ requests_per_minute: 6000, burst_size: 100 }}\n  redis: {{ url: \"{}\", on_redis_failure: {on_failure} }}\n",
        http_server("notes", &upstream),
        redis.url()
    ))
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_killed_mid_run_fails_closed_and_recovers_when_it_returns() {
    let mut redis = RedisProc::start_on(free_port()).await;
    let gw = gateway_on_redis(&redis, "closed").await;
    assert!(is_ok(&echo(&gw).await), "calls pass while Redis is up");

    redis.kill();
    let body = echo_until(&gw, Duration::from_secs(10), is_redis_refusal).await;
    assert!(is_redis_refusal(&body), "Redis down, fail closed: {body}");
    let (status, ready) = redis_ready(&gw).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["ready"], false, "{ready}");
    assert_eq!(
        backend_up(&gw, 0.0).await,
        Some(0.0),
        "metric after the kill"
    );
    let decision = gw
        .wait_decision(|d| d.to_string().contains("redis_unavailable"))
        .await;
    assert_eq!(decision["outcome"], "deny", "{decision}");
    assert_eq!(decision["deny_code"], "rate_limited", "{decision}");

    let _back = RedisProc::start_on(redis.port).await;
    let body = echo_until(&gw, Duration::from_secs(30), is_ok).await;
    assert!(is_ok(&body), "Redis back, calls pass again: {body}");
    let (status, ready) = redis_ready(&gw).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(
        backend_up(&gw, 1.0).await,
        Some(1.0),
        "metric after the return"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_killed_mid_run_with_fail_open_lets_calls_through_and_reports_it() {
    let mut redis = RedisProc::start_on(free_port()).await;
    let gw = gateway_on_redis(&redis, "open").await;
    assert!(is_ok(&echo(&gw).await));

    redis.kill();
    // Every call while Redis is down passes; the outage shows in readiness.
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let body = echo(&gw).await;
        assert!(is_ok(&body), "fail open: {body}");
    }
    let (status, ready) = redis_ready(&gw).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["ready"], false, "{ready}");
    assert_eq!(ready["on_failure"], "open", "{ready}");
    assert_eq!(
        backend_up(&gw, 0.0).await,
        Some(0.0),
        "metric after the kill"
    );
}

const BACKEND_UP: &str = "sallyport_rate_limit_backend_up{backend=\"redis\"}";

/// `sallyport_rate_limit_backend_up{backend="redis"}` once it reads `want` (it is polled every
/// few seconds), or its last reading after 20 s.
async fn backend_up(gw: &GatewayProc, want: f64) -> Option<f64> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, _, page) = gw.scrape_metrics().await;
        let value = sallyport_e2e::metric_sample(&page, BACKEND_UP);
        if value == Some(want) || Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A TCP listener that never accepts and whose accept queue is full, so a new connection
/// attempt hangs in the handshake (the kernel drops its SYNs). The fillers keep it full.
async fn blackhole() -> (
    std::net::SocketAddr,
    Vec<tokio::net::TcpStream>,
    tokio::net::TcpListener,
) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    loop {
        let attempt = tokio::time::timeout(
            Duration::from_millis(300),
            tokio::net::TcpStream::connect(addr),
        )
        .await;
        match attempt {
            Ok(Ok(stream)) => fillers.push(stream),
            Ok(Err(e)) => panic!("connect to the blackhole failed outright: {e}"),
            Err(_) => break,
        }
        assert!(fillers.len() < 64, "the accept queue never filled");
    }
    (addr, fillers, listener)
}

async fn time_to_list_tools(gw: &GatewayProc) -> Duration {
    let body = json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}});
    let started = Instant::now();
    let resp = reqwest::Client::new()
        .post(gw.mcp_url())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/list")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let _ = resp.text().await.unwrap();
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_that_never_accepts_is_given_up_after_the_connect_timeout() {
    let (addr, _fillers, _listener) = blackhole().await;
    let url = format!("http://{addr}/mcp");
    // From `limits.timeouts`, for every upstream that sets none of its own…
    let global = GatewayProc::start(&format!(
        "servers:\n{}limits:\n  timeouts: {{ connect_timeout_secs: 1 }}\n",
        http_server("stuck", &url)
    ))
    .await;
    let took = time_to_list_tools(&global).await;
    assert!(
        took < Duration::from_secs(6),
        "took {took:?} (default is 10 s)"
    );
    // …and from the server's own `connect_timeout_secs`.
    let own = GatewayProc::start(&format!(
        "servers:\n  - name: stuck\n    http: {{ url: \"{url}\", connect_timeout_secs: 1 }}\n"
    ))
    .await;
    let took = time_to_list_tools(&own).await;
    assert!(
        took < Duration::from_secs(6),
        "took {took:?} (default is 10 s)"
    );
}

/// Opens a long-lived SSE stream at `url` and returns how long it stayed open (at most
/// `patience`, after which the stream is abandoned) and what it carried.
async fn stream_lifetime(
    request: reqwest::RequestBuilder,
    patience: Duration,
) -> (Duration, String) {
    let started = Instant::now();
    let mut resp = request
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut text = String::new();
    loop {
        match tokio::time::timeout_at((started + patience).into(), resp.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(Ok(None) | Err(_)) | Err(_) => return (started.elapsed(), text),
        }
    }
}

async fn session_get_stream(gw: &GatewayProc, patience: Duration) -> (Duration, String) {
    let session = sallyport_e2e::legacy_session(&gw.mcp_url()).await;
    let request = reqwest::Client::new()
        .get(gw.mcp_url())
        .header("mcp-protocol-version", "2025-11-25")
        .header("mcp-session-id", session);
    stream_lifetime(request, patience).await
}

async fn gateway_with_timeouts(timeouts_yaml: &str) -> GatewayProc {
    let upstream = sallyport_demo::spawn_http().await.unwrap();
    let limits = if timeouts_yaml.is_empty() {
        String::new()
    } else {
        format!("limits:\n  timeouts: {timeouts_yaml}\n")
    };
    GatewayProc::start(&format!(
        "servers:\n{}{limits}",
        http_server("notes", &upstream)
    ))
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quiet_session_stream_is_closed_after_the_idle_timeout() {
    let gw =
        gateway_with_timeouts("{ idle_stream_timeout_secs: 1, max_stream_life_secs: 600 }").await;
    let (lived, _) = session_get_stream(&gw, Duration::from_secs(20)).await;
    assert!(
        lived >= Duration::from_millis(900),
        "closed early: {lived:?}"
    );
    assert!(lived < Duration::from_secs(10), "open for {lived:?}");
    // The legacy /sse stream too, though its endpoint event was sent.
    let request = reqwest::Client::new().get(format!("{}/sse", gw.base));
    let (lived, text) = stream_lifetime(request, Duration::from_secs(20)).await;
    assert!(text.contains("event: endpoint"), "{text}");
    assert!(lived < Duration::from_secs(10), "open for {lived:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_stream_is_closed_at_the_end_of_its_life_even_with_keepalives() {
    let gw =
        gateway_with_timeouts("{ idle_stream_timeout_secs: 600, max_stream_life_secs: 2 }").await;
    let (lived, _) = session_get_stream(&gw, Duration::from_secs(20)).await;
    assert!(
        lived >= Duration::from_millis(1900),
        "closed early: {lived:?}"
    );
    assert!(lived < Duration::from_secs(10), "open for {lived:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_limits_timeouts_a_session_stream_stays_open() {
    let gw = gateway_with_timeouts("").await;
    let (lived, _) = session_get_stream(&gw, Duration::from_secs(4)).await;
    assert!(lived >= Duration::from_secs(4), "closed after {lived:?}");
}
