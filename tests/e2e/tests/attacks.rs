//! Attacks on the protocol layer, each refused with a precise error and no harm done.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::StatusCode;
use sallyport_e2e::{GatewayProc, http_server};
use serde_json::{Value, json};

const ACCEPT: &str = "application/json, text/event-stream";

async fn gateway() -> GatewayProc {
    let url = sallyport_demo::spawn_http().await.unwrap();
    GatewayProc::start(&format!("servers:\n{}", http_server("notes", &url))).await
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

fn modern_call(name: &str) -> Value {
    json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":name,"arguments":{"text":"hi"},
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}})
}

async fn post(
    gw: &GatewayProc,
    headers: &[(&str, &str)],
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let mut rb = client()
        .post(gw.mcp_url())
        .header("content-type", "application/json")
        .header("accept", ACCEPT);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let resp = rb.body(body).send().await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let text = resp.text().await.unwrap();
    (status, sallyport_e2e::response_body(&text), headers)
}

async fn initialize(gw: &GatewayProc, version: &str) -> String {
    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":version,"capabilities":{},"clientInfo":{"name":"attacker","version":"1"}}});
    let (status, body, headers) = post(gw, &[], init.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    headers["mcp-session-id"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn modern_header_body_mismatch_is_refused_before_the_upstream() {
    let gw = gateway().await;
    let modern = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
    ];
    // The attack: headers say a harmless tool, the body calls another.
    let (status, body, _) = post(
        &gw,
        &[modern[0], modern[1], ("mcp-name", "notes__word_count")],
        modern_call("notes__echo").to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], -32020, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Mcp-Name"),
        "{body}"
    );
    // Method header mismatch too.
    let (status, body, _) = post(
        &gw,
        &[
            modern[0],
            ("mcp-method", "tools/list"),
            ("mcp-name", "notes__echo"),
        ],
        modern_call("notes__echo").to_string(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(-32020))
    );
    // Matching headers pass.
    let (status, body, _) = post(
        &gw,
        &[modern[0], modern[1], ("mcp-name", "notes__echo")],
        modern_call("notes__echo").to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["resultType"], "complete");
    gw.wait_decision(|d| d["deny_code"] == "header_mismatch")
        .await;
    assert!(
        !gw.decisions()
            .iter()
            .any(|d| d["deny_code"] == "header_mismatch" && d["server"].is_string()),
        "refused before routing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn modern_meta_version_and_verbs_are_validated() {
    let gw = gateway().await;
    let mut no_meta = modern_call("notes__echo");
    no_meta["params"].as_object_mut().unwrap().remove("_meta");
    let h = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "notes__echo"),
    ];
    let (status, body, _) = post(&gw, &h, no_meta.to_string()).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(-32602)),
        "{body}"
    );

    // Header and body disagree on the version: a header mismatch.
    let (status, body, _) = post(
        &gw,
        &[("mcp-protocol-version", "2099-01-01"), h[1], h[2]],
        modern_call("notes__echo").to_string(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(-32020)),
        "{body}"
    );
    // Both ask for a version nobody speaks: unsupported, with the supported list.
    let mut future = modern_call("notes__echo");
    future["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2099-01-01");
    let (status, body, _) = post(
        &gw,
        &[("mcp-protocol-version", "2099-01-01"), h[1], h[2]],
        future.to_string(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(-32022)),
        "{body}"
    );
    assert!(
        body["error"]["data"]["supported"]
            .as_array()
            .unwrap()
            .contains(&json!("2026-07-28"))
    );

    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let resp = client()
            .request(method.clone(), gw.mcp_url())
            .header("mcp-protocol-version", "2026-07-28")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
    }
    let unknown = json!({"jsonrpc":"2.0","id":9,"method":"no/such","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}});
    let (status, body, _) =
        post(&gw, &[h[0], ("mcp-method", "no/such")], unknown.to_string()).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!(-32601)),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_origin_and_host_are_403() {
    let gw = gateway().await;
    let body = json!({"jsonrpc":"2.0","id":1,"method":"ping"}).to_string();
    let (status, resp, _) = post(&gw, &[("origin", "http://evil.example")], body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{resp}");
    let (status, _, _) = post(&gw, &[("host", "evil.example:80")], body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // DNS rebinding through the legacy SSE endpoint is refused too.
    let resp = client()
        .get(format!("{}/sse", gw.base))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // A loopback page is fine.
    let (status, _, _) = post(&gw, &[("origin", "http://localhost:3000")], body).await;
    assert_ne!(status, StatusCode::FORBIDDEN);
    gw.wait_decision(|d| d["deny_code"] == "origin_not_allowed")
        .await;
    gw.wait_decision(|d| d["deny_code"] == "host_not_allowed")
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_and_ended_sessions_are_404_and_ids_are_random() {
    let gw = gateway().await;
    let ping = json!({"jsonrpc":"2.0","id":1,"method":"ping"}).to_string();
    let (status, _, _) = post(
        &gw,
        &[("mcp-session-id", "0123456789abcdef0123456789abcdef")],
        ping.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let a = initialize(&gw, "2025-11-25").await;
    let b = initialize(&gw, "2025-11-25").await;
    assert_ne!(a, b);
    assert!(
        a.len() >= 32 && a.chars().all(|c| c.is_ascii_hexdigit()),
        "≥128 random bits: {a}"
    );
    let (status, body, _) = post(
        &gw,
        &[
            ("mcp-session-id", &a),
            ("mcp-protocol-version", "2025-11-25"),
        ],
        ping.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let resp = client()
        .delete(gw.mcp_url())
        .header("mcp-session-id", &a)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    // Reuse after DELETE: the session is gone for good.
    let (status, _, _) = post(
        &gw,
        &[
            ("mcp-session-id", &a),
            ("mcp-protocol-version", "2025-11-25"),
        ],
        ping.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let resp = client()
        .get(gw.mcp_url())
        .header("mcp-session-id", &a)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // The other session is untouched.
    let (status, _, _) = post(
        &gw,
        &[
            ("mcp-session-id", &b),
            ("mcp-protocol-version", "2025-11-25"),
        ],
        ping,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_and_deep_bodies_are_refused() {
    let gw = gateway().await;
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(5 * 1024 * 1024)
    );
    let (status, _, _) = post(&gw, &[], big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    let sid = initialize(&gw, "2025-11-25").await;
    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"notes__echo","arguments":{{"text":{}1{}}}}}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    let (status, body, _) = post(&gw, &[("mcp-session-id", &sid)], deep).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], -32700, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nesting")
    );
    // Not JSON at all.
    let (status, body, _) = post(&gw, &[("mcp-session-id", &sid)], "{not json").await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(-32700))
    );
    // The gateway is still fine.
    let ok = reqwest::get(format!("{}/healthz", gw.base)).await.unwrap();
    assert!(ok.status().is_success());
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_only_on_2025_03_26() {
    let gw = gateway().await;
    let batch = json!([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"tools/list"}]).to_string();
    let (status, body, _) = post(
        &gw,
        &[("mcp-protocol-version", "2026-07-28")],
        batch.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let sid = initialize(&gw, "2025-11-25").await;
    let (status, body, _) = post(
        &gw,
        &[
            ("mcp-session-id", &sid),
            ("mcp-protocol-version", "2025-11-25"),
        ],
        batch.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2025-03-26")
    );

    let old = initialize(&gw, "2025-03-26").await;
    let (status, body, _) = post(
        &gw,
        &[
            ("mcp-session-id", &old),
            ("mcp-protocol-version", "2025-03-26"),
        ],
        batch,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answers = body.as_array().expect("batch answered with an array");
    assert_eq!(answers.len(), 2);
    assert!(
        answers
            .iter()
            .any(|a| a["id"] == 2 && a["result"]["tools"].is_array())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_request_id_in_flight_is_refused() {
    let gw = gateway().await;
    let sid = initialize(&gw, "2025-11-25").await;
    let slow = json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"notes__slow_count","arguments":{"to":3,"delay_ms":300}}}).to_string();
    let h = [
        ("mcp-session-id", sid.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let first = post(&gw, &h, slow.clone());
    let second = async {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        post(&gw, &h, slow.clone()).await
    };
    let ((s1, b1, _), (s2, b2, _)) = tokio::join!(first, second);
    assert_eq!(s1, StatusCode::OK);
    assert!(
        b1["result"].is_object() || b1.is_string(),
        "first completes: {b1}"
    );
    assert_eq!(s2, StatusCode::OK);
    assert_eq!(b2["error"]["code"], -32600, "{b2}");
    assert!(
        b2["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already in use")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stdio_line_with_embedded_newline_is_refused_and_the_stream_survives() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let url = sallyport_demo::spawn_http().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("s.yaml");
    std::fs::write(&cfg, format!("servers:\n{}", http_server("notes", &url))).unwrap();
    let mut child = tokio::process::Command::new(sallyport_e2e::sallyport_bin())
        .args(["stdio", "-c"])
        .arg(&cfg)
        .arg("--access-log")
        .arg(dir.path().join("a.jsonl"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // A JSON string broken by a raw newline: two invalid lines.
    stdin
        .write_all(
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":\"a\nb\"}}\n",
        )
        .await
        .unwrap();
    for _ in 0..2 {
        let line = lines.next_line().await.unwrap().unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v["error"]["code"], -32700,
            "parse error for each broken half: {v}"
        );
    }
    let init = json!({"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    stdin
        .write_all(format!("{init}\n").as_bytes())
        .await
        .unwrap();
    let line = lines.next_line().await.unwrap().unwrap();
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["id"], 2);
    assert_eq!(v["result"]["protocolVersion"], "2025-11-25", "{v}");
}

/// Stateless (2026-07-28) clients share no id space: two clients that both use id 1 at the
/// same moment are two requests, not a duplicate.
#[tokio::test(flavor = "multi_thread")]
async fn modern_clients_may_reuse_each_others_ids_concurrently() {
    let gw = gateway().await;
    let slow = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes__slow_count","arguments":{"to":3,"delay_ms":200},
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}});
    let headers = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "notes__slow_count"),
    ];
    let first = post(&gw, &headers, slow.to_string());
    let second = async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        post(&gw, &headers, slow.to_string()).await
    };
    let ((s1, b1, _), (s2, b2, _)) = tokio::join!(first, second);
    for (status, body) in [(s1, b1), (s2, b2)] {
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["result"]["content"][0]["text"], "counted to 3",
            "each client gets its own answer: {body}"
        );
    }
}
