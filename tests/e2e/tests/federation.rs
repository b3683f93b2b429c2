//! Two federated upstreams (the demo server over Streamable HTTP in-process and over stdio as
//! a child process) through the gateway, driven by the official Python SDK client in both eras.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sallyport_e2e::{GatewayProc, demo_stdio_server, http_server, ok, py_client, tool_names};

async fn two_server_gateway() -> GatewayProc {
    let url = sallyport_demo::spawn_http().await.unwrap();
    let servers = format!(
        "servers:\n{}{}",
        http_server("notes", &url),
        demo_stdio_server("tools")
    );
    GatewayProc::start(&servers).await
}

#[tokio::test(flavor = "multi_thread")]
async fn python_client_lists_and_calls_tools_across_two_servers_in_both_eras() {
    let gw = two_server_gateway().await;
    for mode in ["legacy", "auto"] {
        let run = py_client(&["--url", &gw.mcp_url(), "--mode", mode, "list-tools"]).await;
        let names = tool_names(ok(&run));
        assert!(
            names.contains(&"notes__add".to_owned()),
            "{mode}: {names:?}"
        );
        assert!(
            names.contains(&"tools__add".to_owned()),
            "{mode}: {names:?}"
        );
        assert!(
            !names.iter().any(|n| n == "add"),
            "names must be prefixed: {names:?}"
        );

        for server in ["notes", "tools"] {
            let tool = format!("{server}__add");
            let run = py_client(&[
                "--url",
                &gw.mcp_url(),
                "--mode",
                mode,
                "call-tool",
                &tool,
                r#"{"a":2,"b":40}"#,
            ])
            .await;
            let json = ok(&run);
            assert_eq!(
                json["result"]["structuredContent"]["sum"], 42.0,
                "{mode} {server}: {json:#}"
            );
        }
    }
    // Every exchange was decided and logged, in both eras.
    gw.wait_decision(|d| d["era"] == "legacy" && d["tool"] == "add" && d["outcome"] == "allow")
        .await;
    gw.wait_decision(|d| d["era"] == "modern" && d["tool"] == "add" && d["outcome"] == "allow")
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn resources_and_prompts_are_federated_with_reversible_names() {
    let gw = two_server_gateway().await;
    for mode in ["legacy", "auto"] {
        let run = py_client(&["--url", &gw.mcp_url(), "--mode", mode, "list-resources"]).await;
        let json = ok(&run);
        let uris: Vec<&str> = json["result"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["uri"].as_str())
            .collect();
        assert!(
            uris.contains(&"notes+demo://readme") && uris.contains(&"tools+demo://readme"),
            "{uris:?}"
        );

        let run = py_client(&[
            "--url",
            &gw.mcp_url(),
            "--mode",
            mode,
            "read-resource",
            "tools+demo://readme",
        ])
        .await;
        let json = ok(&run);
        let content = &json["result"]["contents"][0];
        assert_eq!(
            content["uri"], "tools+demo://readme",
            "URIs in results are exposed too: {json:#}"
        );
        assert!(content["text"].as_str().unwrap().len() > 10);

        let run = py_client(&[
            "--url",
            &gw.mcp_url(),
            "--mode",
            mode,
            "get-prompt",
            "notes__summarize",
            r#"{"text":"a b c"}"#,
        ])
        .await;
        let json = ok(&run);
        assert!(
            json["result"]["messages"]
                .as_array()
                .is_some_and(|m| !m.is_empty()),
            "{json:#}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_tool_and_unknown_server_are_json_rpc_errors() {
    let gw = two_server_gateway().await;
    for name in ["notes__nope", "ghost__add", "add"] {
        let run = py_client(&[
            "--url",
            &gw.mcp_url(),
            "--mode",
            "legacy",
            "call-tool",
            name,
            "{}",
        ])
        .await;
        assert_ne!(run.code, 0, "{name} must fail");
        assert_eq!(run.json["error"]["code"], -32602, "{name}: {:#}", run.json);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn collisions_and_readiness_are_reported_at_start() {
    let gw = two_server_gateway().await;
    // Both demo servers offer `add`: the prefixes keep them apart, and the operator is told.
    let logs = gw.wait_log("Name collision").await;
    assert!(
        logs.contains("tool \"add\" is offered by notes, tools"),
        "{logs}"
    );
    let ready = reqwest::get(format!("{}/readyz", gw.base)).await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["servers"]["notes"]["ready"], true, "{body}");
    assert_eq!(body["servers"]["tools"]["ready"], true, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_fails_when_an_upstream_is_down() {
    let port = sallyport_e2e::free_port();
    let servers = format!(
        "servers:\n{}",
        http_server("gone", &format!("http://127.0.0.1:{port}/mcp"))
    );
    let gw = GatewayProc::start(&servers).await;
    let ready = reqwest::get(format!("{}/readyz", gw.base)).await.unwrap();
    assert_eq!(ready.status(), 503);
    let health = reqwest::get(format!("{}/healthz", gw.base)).await.unwrap();
    assert_eq!(health.status(), 200, "the process itself is up");
    gw.wait_log("not reachable at start").await;
}
