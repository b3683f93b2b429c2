//! The deprecated HTTP+SSE transport (2024-11-05) on both sides of the gateway: a Python SDK
//! server as an `sse:` upstream, and a 2024-11-05 client on the gateway's `/sse`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::python_http_fixture;
use sallyport_e2e::{GatewayProc, demo_stdio_server, ok, py_client, tool_names};
use serde_json::Value;

fn result_text(json: &Value) -> String {
    json["result"]["content"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn legacy_sse_upstream_is_federated_for_clients_of_both_eras() {
    let upstream = python_http_fixture("sse_server.py", &[]).await;
    assert!(upstream.url.ends_with("/sse"), "{}", upstream.url);
    let servers = format!(
        "servers:\n  - name: old\n    sse: {{ url: \"{}\" }}\n{}",
        upstream.url,
        demo_stdio_server("tools")
    );
    let gw = GatewayProc::start(&servers).await;
    let url = gw.mcp_url();
    for mode in ["legacy", "auto"] {
        let run = py_client(&["--url", &url, "--mode", mode, "list-tools"]).await;
        let names = tool_names(ok(&run));
        for expected in ["old__echo", "old__add", "old__whoami", "tools__add"] {
            assert!(
                names.iter().any(|n| n == expected),
                "{mode}: {expected} missing in {names:?}"
            );
        }

        let run = py_client(&[
            "--url",
            &url,
            "--mode",
            mode,
            "call-tool",
            "old__add",
            r#"{"a":40,"b":2}"#,
        ])
        .await;
        assert_eq!(result_text(ok(&run)), "42", "{mode}: {:#}", run.json);
        let run = py_client(&[
            "--url",
            &url,
            "--mode",
            mode,
            "call-tool",
            "old__echo",
            r#"{"text":"over sse"}"#,
        ])
        .await;
        assert_eq!(result_text(ok(&run)), "over sse", "{mode}: {:#}", run.json);

        let run = py_client(&[
            "--url",
            &url,
            "--mode",
            mode,
            "read-resource",
            "old+sse://greeting",
        ])
        .await;
        let json = ok(&run);
        assert_eq!(
            json["result"]["contents"][0]["uri"], "old+sse://greeting",
            "{mode}: {json:#}"
        );
        assert_eq!(
            json["result"]["contents"][0]["text"], "hello from the legacy SSE fixture",
            "{mode}: {json:#}"
        );

        let run = py_client(&[
            "--url",
            &url,
            "--mode",
            mode,
            "get-prompt",
            "old__sse_prompt",
            r#"{"topic":"gateways"}"#,
        ])
        .await;
        let json = ok(&run);
        assert!(
            json["result"]["messages"][0]["content"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("gateways")),
            "{mode}: {json:#}"
        );
    }
    // The client's own headers never reach the upstream: it sees the gateway's connection.
    let run = py_client(&[
        "--url",
        &url,
        "--mode",
        "legacy",
        "--header",
        "X-Client-Secret: do-not-forward",
        "call-tool",
        "old__whoami",
        "{}",
    ])
    .await;
    let seen: Value = serde_json::from_str(&result_text(ok(&run))).unwrap();
    assert!(
        seen.get("x-client-secret").is_none(),
        "client header leaked upstream: {seen:#}"
    );
    for era in ["legacy", "modern"] {
        gw.wait_decision(|d| {
            d["era"] == era && d["server"] == "old" && d["tool"] == "add" && d["outcome"] == "allow"
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2024_11_05_client_uses_the_gateway_sse_endpoint() {
    let servers = format!("servers:\n{}", demo_stdio_server("tools"));
    let gw = GatewayProc::start(&servers).await;
    let sse = format!("{}/sse", gw.base);

    let run = py_client(&["--sse", &sse, "info"]).await;
    let json = ok(&run);
    assert_eq!(
        json["result"]["serverInfo"]["name"], "sallyport",
        "{json:#}"
    );

    let run = py_client(&["--sse", &sse, "list-tools"]).await;
    let names = tool_names(ok(&run));
    assert!(
        names.iter().any(|n| n == "tools__add") && names.iter().any(|n| n == "tools__ask_model"),
        "{names:?}"
    );

    let run = py_client(&[
        "--sse",
        &sse,
        "call-tool",
        "tools__add",
        r#"{"a":2,"b":40}"#,
    ])
    .await;
    assert_eq!(
        ok(&run)["result"]["structuredContent"]["sum"],
        42.0,
        "{:#}",
        run.json
    );

    // Progress and a server→client request travel on the one event stream.
    let run = py_client(&[
        "--sse",
        &sse,
        "call-tool",
        "tools__slow_count",
        r#"{"to":3,"delay_ms":10}"#,
    ])
    .await;
    let json = ok(&run);
    let progress: Vec<f64> = json["result"]["_progress"]
        .as_array()
        .map(|p| p.iter().filter_map(|e| e["progress"].as_f64()).collect())
        .unwrap_or_default();
    assert_eq!(progress, [1.0, 2.0, 3.0], "{json:#}");

    let run = py_client(&[
        "--sse",
        &sse,
        "call-tool",
        "tools__ask_model",
        r#"{"question":"old transport?"}"#,
    ])
    .await;
    let json = ok(&run);
    assert_eq!(result_text(json), "sampled: old transport?", "{json:#}");
    assert_eq!(json["callbacks"][0]["type"], "sampling", "{json:#}");

    let run = py_client(&["--sse", &sse, "read-resource", "tools+demo://readme"]).await;
    assert_eq!(
        ok(&run)["result"]["contents"][0]["uri"],
        "tools+demo://readme",
        "{:#}",
        run.json
    );
    gw.wait_decision(|d| {
        d["server"] == "tools" && d["tool"] == "ask_model" && d["direction"] == "client_to_server"
    })
    .await;
    gw.wait_decision(|d| {
        d["server"] == "tools"
            && d["method"] == "sampling/createMessage"
            && d["direction"] == "server_to_client"
    })
    .await;
}
