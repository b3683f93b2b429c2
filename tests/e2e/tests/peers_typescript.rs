//! The official TypeScript SDK v1 client (`@modelcontextprotocol/sdk` 1.32, legacy era only)
//! through the gateway, against federated servers and a full-feature Python fixture.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{python_stdio_server, stdio_server, ts_client};
use sallyport_e2e::{GatewayProc, demo_stdio_server, node_bin, ok, py_client, tool_names};
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

fn failed_steps(json: &Value) -> Vec<Value> {
    json["steps"]
        .as_array()
        .map(|s| s.iter().filter(|s| s["ok"] != true).cloned().collect())
        .unwrap_or_default()
}

/// The conformance fixture behind the gateway with unprefixed names: text, image, sampling,
/// elicitation, roots, errors, progress, resources, prompts, completion and ping, in one session
/// per client.
#[tokio::test(flavor = "multi_thread")]
async fn ts_and_python_clients_drive_the_fixture_scenario_through_the_gateway() {
    let servers = format!(
        "servers:\n{}    prefix: false\n",
        python_stdio_server(
            "fixture",
            "conformance_server.py",
            &["--transport", "stdio"]
        )
    );
    let gw = GatewayProc::start(&servers).await;
    let url = gw.mcp_url();

    let run = ts_client(&["--url", &url, "scenario", "fixture"]).await;
    let json = ok(&run);
    assert_eq!(
        json["ok"],
        true,
        "failed steps: {:#}",
        Value::from(failed_steps(json))
    );
    assert_eq!(json["protocolVersion"], "2025-11-25", "{json:#}");

    for mode in ["legacy", "auto"] {
        let run = py_client(&["--url", &url, "--mode", mode, "scenario", "fixture"]).await;
        let json = ok(&run);
        assert_eq!(
            json["ok"],
            true,
            "{mode}: failed steps: {:#}",
            Value::from(failed_steps(json))
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ts_client_uses_federated_servers() {
    let servers = format!(
        "servers:\n{}{}",
        demo_stdio_server("tools"),
        stdio_server("every", &node_bin("mcp-server-everything"), &["stdio"])
    );
    let gw = GatewayProc::start(&servers).await;
    let url = gw.mcp_url();

    let run = ts_client(&["--url", &url, "list-tools"]).await;
    let names = tool_names(ok(&run));
    for expected in [
        "tools__add",
        "tools__ask_model",
        "every__echo",
        "every__trigger-sampling-request",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing in {names:?}"
        );
    }

    let run = ts_client(&[
        "--url",
        &url,
        "call-tool",
        "tools__add",
        r#"{"a":1.5,"b":2}"#,
    ])
    .await;
    assert_eq!(
        ok(&run)["result"]["structuredContent"]["sum"],
        3.5,
        "{:#}",
        run.json
    );
    let run = ts_client(&[
        "--url",
        &url,
        "call-tool",
        "every__echo",
        r#"{"message":"from ts"}"#,
    ])
    .await;
    assert_eq!(result_text(ok(&run)), "Echo: from ts", "{:#}", run.json);

    let run = ts_client(&[
        "--url",
        &url,
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

    for tool in ["tools__ask_model", "every__trigger-sampling-request"] {
        let args = if tool.starts_with("tools") {
            r#"{"question":"ts?"}"#
        } else {
            r#"{"prompt":"ts?"}"#
        };
        let run = ts_client(&["--url", &url, "call-tool", tool, args]).await;
        let json = ok(&run);
        assert!(result_text(json).contains("sampled: "), "{tool}: {json:#}");
        // server-everything also asks for roots when its session starts.
        let kinds: Vec<&str> = json["callbacks"]
            .as_array()
            .map(|c| c.iter().filter_map(|e| e["type"].as_str()).collect())
            .unwrap_or_default();
        assert!(kinds.contains(&"sampling"), "{tool}: {json:#}");
    }

    let run = ts_client(&["--url", &url, "read-resource", "tools+demo://readme"]).await;
    assert_eq!(
        ok(&run)["result"]["contents"][0]["uri"],
        "tools+demo://readme",
        "{:#}",
        run.json
    );
    let run = ts_client(&["--url", &url, "ping"]).await;
    ok(&run);
}
