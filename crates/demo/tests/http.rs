//! The demo server over Streamable HTTP with a real rmcp client in both protocol eras, plus
//! raw-HTTP checks of what the wire looks like (JSON replies, Host validation).

mod common;

use std::time::Duration;

use anyhow::{Context as _, ensure};
use common::{Era, TestClient, connect_http};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

async fn basics(era: Era) -> anyhow::Result<()> {
    let url = sallyport_demo::spawn_http().await?;
    let (handler, mut events) = TestClient::capable();
    let client = connect_http(handler, &url, era).await?;
    common::check_basics(&client).await?;
    common::check_errors(&client).await?;
    common::check_progress(&client, &mut events).await?;
    client.cancel().await?;
    Ok(())
}

async fn client_requests(era: Era) -> anyhow::Result<()> {
    let url = sallyport_demo::spawn_http().await?;
    let (handler, _events) = TestClient::capable();
    let client = connect_http(handler, &url, era).await?;
    common::check_client_requests(&client).await?;
    client.cancel().await?;

    let (bare, _events) = TestClient::bare();
    let client = connect_http(bare, &url, era).await?;
    common::check_undeclared_capabilities(&client).await?;
    client.cancel().await?;
    Ok(())
}

async fn list_changed(era: Era) -> anyhow::Result<()> {
    let url = sallyport_demo::spawn_http().await?;
    let (handler, mut events) = TestClient::capable();
    let client = connect_http(handler, &url, era).await?;
    common::check_list_changed(&client, &mut events, era).await?;
    client.cancel().await?;
    Ok(())
}

async fn cancellation(era: Era) -> anyhow::Result<()> {
    let url = sallyport_demo::spawn_http().await?;
    let (handler, mut events) = TestClient::capable();
    let client = connect_http(handler, &url, era).await?;
    common::check_cancellation(&client, &mut events).await?;
    client.cancel().await?;
    Ok(())
}

#[tokio::test]
async fn legacy_basics() -> anyhow::Result<()> {
    basics(Era::Legacy).await
}

#[tokio::test]
async fn modern_basics() -> anyhow::Result<()> {
    basics(Era::Modern).await
}

#[tokio::test]
async fn legacy_server_to_client_requests() -> anyhow::Result<()> {
    client_requests(Era::Legacy).await
}

#[tokio::test]
async fn modern_input_required_rounds() -> anyhow::Result<()> {
    client_requests(Era::Modern).await
}

#[tokio::test]
async fn legacy_list_changed() -> anyhow::Result<()> {
    list_changed(Era::Legacy).await
}

#[tokio::test]
async fn modern_list_changed_on_listen_stream() -> anyhow::Result<()> {
    list_changed(Era::Modern).await
}

#[tokio::test]
async fn legacy_cancellation_stops_the_count() -> anyhow::Result<()> {
    cancellation(Era::Legacy).await
}

#[tokio::test]
async fn modern_cancellation_stops_the_count() -> anyhow::Result<()> {
    cancellation(Era::Modern).await
}

/// One raw HTTP/1.1 POST to `url` with `host` as the Host header; returns the status code,
/// the lower-cased head and the body.
async fn raw_post(
    url: &str,
    host: &str,
    extra_headers: &str,
    body: &str,
) -> anyhow::Result<(u16, String, String)> {
    let authority = url
        .strip_prefix("http://")
        .and_then(|rest| rest.strip_suffix("/mcp"))
        .context("unexpected URL shape")?;
    let mut stream = tokio::net::TcpStream::connect(authority).await?;
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nConnection: close\r\n{extra_headers}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    tokio::time::timeout(common::PATIENCE, stream.read_to_end(&mut response)).await??;
    let response = String::from_utf8(response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .context("no end of headers")?;
    let status = head.split(' ').nth(1).context("no status code")?.parse()?;
    Ok((status, head.to_ascii_lowercase(), body.to_owned()))
}

fn modern_call(id: u32, tool: &str, arguments: serde_json::Value) -> String {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "tools/call",
        "params": {
            "name": tool,
            "arguments": arguments,
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": { "name": "raw", "version": "0" }
            }
        }
    })
    .to_string()
}

const MODERN_HEADERS: &str = "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\n";

#[tokio::test]
async fn modern_calls_are_answered_with_plain_json() -> anyhow::Result<()> {
    let url = sallyport_demo::spawn_http().await?;
    let host = url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_owned();
    let headers = format!("{MODERN_HEADERS}Mcp-Name: add\r\n");
    let (status, head, body) = raw_post(
        &url,
        &host,
        &headers,
        &modern_call(7, "add", json!({ "a": 1, "b": 2 })),
    )
    .await?;
    ensure!(status == 200, "status {status}: {body}");
    ensure!(
        head.contains("content-type: application/json"),
        "not JSON: {head}"
    );
    let reply: serde_json::Value = serde_json::from_str(&body)?;
    ensure!(reply["id"] == 7, "reply {reply}");
    ensure!(
        reply["result"]["structuredContent"] == json!({ "sum": 3 }),
        "reply {reply}"
    );
    ensure!(reply["result"]["resultType"] == "complete", "reply {reply}");
    Ok(())
}

#[tokio::test]
async fn progress_falls_back_to_sse() -> anyhow::Result<()> {
    let url = sallyport_demo::spawn_http().await?;
    let host = url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_owned();
    let mut call: serde_json::Value = serde_json::from_str(&modern_call(
        8,
        "slow_count",
        json!({ "to": 2, "delay_ms": 1 }),
    ))?;
    call["params"]["_meta"]["progressToken"] = json!("p1");
    let headers = format!("{MODERN_HEADERS}Mcp-Name: slow_count\r\n");
    let (status, head, body) = raw_post(&url, &host, &headers, &call.to_string()).await?;
    ensure!(status == 200, "status {status}: {body}");
    ensure!(
        head.contains("content-type: text/event-stream"),
        "not SSE: {head}"
    );
    ensure!(
        body.contains("notifications/progress"),
        "no progress in {body}"
    );
    ensure!(body.contains("counted to 2"), "no result in {body}");
    Ok(())
}

#[tokio::test]
async fn foreign_host_is_forbidden() -> anyhow::Result<()> {
    let url = sallyport_demo::spawn_http().await?;
    let headers = format!("{MODERN_HEADERS}Mcp-Name: echo\r\n");
    let body = modern_call(9, "echo", json!({ "text": "hi" }));
    let (status, _, _) = raw_post(&url, "evil.example", &headers, &body).await?;
    ensure!(status == 403, "a rebinding Host got {status}");
    let (status, _, _) = raw_post(&url, "localhost", &headers, &body).await?;
    ensure!(status == 200, "localhost got {status}");
    Ok(())
}

#[tokio::test]
async fn serve_http_with_can_allow_any_host_and_check_origin() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/mcp", listener.local_addr()?);
    let options = sallyport_demo::HttpOptions::default()
        .with_allowed_hosts(Vec::<String>::new())
        .with_allowed_origins(["http://localhost:*"]);
    tokio::spawn(sallyport_demo::serve_http_with(listener, options));
    // Give the spawned server a moment to start polling its listener.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let headers = format!("{MODERN_HEADERS}Mcp-Name: echo\r\n");
    let body = modern_call(10, "echo", json!({ "text": "hi" }));
    let (status, _, reply) = raw_post(&url, "mcp.example", &headers, &body).await?;
    ensure!(status == 200, "any Host should pass, got {status}: {reply}");
    let evil = format!("{headers}Origin: http://evil.example\r\n");
    let (status, _, _) = raw_post(&url, "mcp.example", &evil, &body).await?;
    ensure!(status == 403, "a foreign Origin got {status}");
    let good = format!("{headers}Origin: http://localhost:3000\r\n");
    let (status, _, _) = raw_post(&url, "mcp.example", &good, &body).await?;
    ensure!(status == 200, "an allowed Origin got {status}");
    Ok(())
}

#[tokio::test]
async fn modern_sampling_is_an_input_required_round_trip_on_the_wire() -> anyhow::Result<()> {
    let url = sallyport_demo::spawn_http().await?;
    let host = url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_owned();
    let headers = format!("{MODERN_HEADERS}Mcp-Name: ask_model\r\n");
    let mut call: serde_json::Value =
        serde_json::from_str(&modern_call(11, "ask_model", json!({ "question": "2+2?" })))?;
    call["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] =
        json!({ "sampling": {} });

    let (status, _, body) = raw_post(&url, &host, &headers, &call.to_string()).await?;
    ensure!(status == 200, "status {status}: {body}");
    let first: serde_json::Value = serde_json::from_str(&body)?;
    let result = &first["result"];
    ensure!(
        result["resultType"] == "input_required",
        "first round {first}"
    );
    let request = &result["inputRequests"]["demo"];
    ensure!(
        request["method"] == "sampling/createMessage",
        "first round {first}"
    );
    let question = &request["params"]["messages"][0]["content"]["text"];
    ensure!(question == "2+2?", "first round {first}");

    // Retry with a new id and the client's answer, as MRTR prescribes.
    call["id"] = json!(12);
    call["params"]["inputResponses"] = json!({
        "demo": {
            "role": "assistant",
            "content": { "type": "text", "text": "4" },
            "model": "raw-model"
        }
    });
    if let Some(state) = result.get("requestState") {
        call["params"]["requestState"] = state.clone();
    }
    let (status, _, body) = raw_post(&url, &host, &headers, &call.to_string()).await?;
    ensure!(status == 200, "status {status}: {body}");
    let second: serde_json::Value = serde_json::from_str(&body)?;
    ensure!(
        second["result"]["resultType"] == "complete",
        "second round {second}"
    );
    ensure!(
        second["result"]["content"][0]["text"] == "4",
        "second round {second}"
    );
    ensure!(
        second["result"]["structuredContent"]["model"] == "raw-model",
        "second round {second}"
    );
    Ok(())
}
