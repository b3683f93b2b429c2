//! Long-running calls through the gateway: progress notifications reach the client under the
//! client's own progress token, and a client's cancellation reaches the upstream and stops
//! the work there — in both eras (legacy `notifications/cancelled`; 2026-07-28 closing the
//! response stream), for stdio and Streamable HTTP upstreams.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    Client, Era, Event, TestClient, args, call, connect, next_event, python_http_fixture,
    python_stdio_server, text, text_json, wait_for,
};
use rmcp::RoleClient;
use rmcp::model::{CallToolRequestParams, ClientRequest, Request, ServerResult};
use rmcp::service::{PeerRequestOptions, RequestHandle};
use sallyport_e2e::{GatewayProc, demo_stdio_server, http_server, ok, py_client};
use serde_json::{Value, json};

async fn start(client: &Client, tool: &str, arguments: Value) -> RequestHandle<RoleClient> {
    let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(args(arguments));
    client
        .send_cancellable_request(
            ClientRequest::CallToolRequest(Request::new(params)),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

/// Calls `tool` (which counts to 3 with progress) and checks the progress the client got.
async fn check_progress(
    client: &Client,
    events: &mut tokio::sync::mpsc::UnboundedReceiver<Event>,
    tool: &str,
    arguments: Value,
    era: Era,
) {
    let handle = start(client, tool, arguments).await;
    let token = handle.progress_token.clone();
    let response = tokio::time::timeout(common::PATIENCE, handle.await_response())
        .await
        .unwrap_or_else(|_| panic!("{era:?} {tool}: no answer"))
        .unwrap_or_else(|e| panic!("{era:?} {tool}: {e}"));
    let ServerResult::CallToolResult(result) = response else {
        panic!("{era:?} {tool}: answered {response:?}");
    };
    assert_ne!(
        result.is_error,
        Some(true),
        "{era:?} {tool}: {}",
        text(&result)
    );
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let Event::Progress(p) =
            next_event(events, "progress", |e| matches!(e, Event::Progress(_))).await
        else {
            unreachable!()
        };
        assert_eq!(
            p.progress_token, token,
            "{era:?} {tool}: progress for another token"
        );
        assert_eq!(p.total, Some(3.0), "{era:?} {tool}");
        seen.push(p.progress);
    }
    // rmcp hands each notification to its handler in a task of its own, so the client may
    // observe them out of order; the order on the wire is checked with the Python client.
    seen.sort_by(f64::total_cmp);
    assert_eq!(
        seen,
        [1.0, 2.0, 3.0],
        "{era:?} {tool}: progress went {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn progress_reaches_the_client_with_its_own_token_in_both_eras() {
    let servers = format!(
        "servers:\n{}{}",
        demo_stdio_server("tools"),
        python_stdio_server("slow", "slow_server.py", &[])
    );
    let gw = GatewayProc::start(&servers).await;
    for era in Era::BOTH {
        let (handler, mut events) = TestClient::bare();
        let client = connect(handler, &gw.mcp_url(), era).await;
        check_progress(
            &client,
            &mut events,
            "tools__slow_count",
            json!({"to": 3, "delay_ms": 20}),
            era,
        )
        .await;
        check_progress(
            &client,
            &mut events,
            "slow__slow",
            json!({"steps": 3, "delay_ms": 20}),
            era,
        )
        .await;
        client.cancel().await.unwrap();
    }
    // The Python SDK client too, which uses small integer tokens that collide across clients.
    for mode in ["legacy", "auto"] {
        let run = py_client(&[
            "--url",
            &gw.mcp_url(),
            "--mode",
            mode,
            "call-tool",
            "tools__slow_count",
            r#"{"to":4,"delay_ms":10}"#,
        ])
        .await;
        let json = ok(&run);
        let progress: Vec<f64> = json["result"]["_progress"]
            .as_array()
            .map(|p| p.iter().filter_map(|e| e["progress"].as_f64()).collect())
            .unwrap_or_default();
        assert_eq!(progress, [1.0, 2.0, 3.0, 4.0], "{mode}: {json:#}");
    }
}

/// Starts a long `slow` call on `server`, cancels it after some progress, and waits until the
/// upstream itself reports that the call was cancelled part-way.
async fn check_cancellation(gw: &GatewayProc, server: &str, era: Era) {
    let (handler, mut events) = TestClient::bare();
    let client = connect(handler, &gw.mcp_url(), era).await;
    let before = text_json(&call(&client, &format!("{server}__cancellations"), json!({})).await);
    let cancelled_before = before["cancelled"].as_array().map_or(0, Vec::len);

    let tool = format!("{server}__slow");
    let handle = start(&client, &tool, json!({"steps": 600, "delay_ms": 50})).await;
    let token = handle.progress_token.clone();
    for _ in 0..2 {
        next_event(
            &mut events,
            "progress before cancelling",
            |e| matches!(e, Event::Progress(p) if p.progress_token == token),
        )
        .await;
    }
    handle
        .cancel(Some("the e2e test is done".into()))
        .await
        .unwrap_or_else(|e| panic!("{era:?} {server}: cancel: {e}"));

    let seen = wait_for(
        &format!("{era:?} {server}: the upstream to see the cancellation"),
        || async {
            let seen =
                text_json(&call(&client, &format!("{server}__cancellations"), json!({})).await);
            let n = seen["cancelled"].as_array().map_or(0, Vec::len);
            (n > cancelled_before).then_some(seen)
        },
    )
    .await;
    let last = &seen["cancelled"][cancelled_before];
    assert_eq!(last["steps"], 600, "{era:?} {server}: {seen:#}");
    let done = last["done"].as_u64().unwrap_or(u64::MAX);
    assert!(
        (2..600).contains(&done),
        "{era:?} {server}: stopped after {done} steps: {seen:#}"
    );
    assert_eq!(
        seen["finished"], before["finished"],
        "{era:?} {server}: the call ran to the end: {seen:#}"
    );
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_a_call_stops_it_upstream_in_both_eras() {
    let http_slow =
        python_http_fixture("slow_server.py", &["--transport", "streamable-http"]).await;
    let servers = format!(
        "servers:\n{}{}",
        python_stdio_server("slow", "slow_server.py", &[]),
        http_server("hslow", &http_slow.url)
    );
    let gw = GatewayProc::start(&servers).await;
    for era in Era::BOTH {
        for server in ["slow", "hslow"] {
            check_cancellation(&gw, server, era).await;
        }
    }
}
