//! rmcp (the Rust SDK, 3.9) on both sides of the gateway: as a client in each of its lifecycle
//! modes (initialize, discover, auto), and as upstream servers (the demo crate, over Streamable
//! HTTP and stdio) pinned to each era with `era: legacy | modern`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    Client, Era, Event, MODEL, PATIENCE, ROOT, TestClient, args, call, connect, next_event, readyz,
    text,
};
use rmcp::model::{
    CallToolRequestParams, ClientRequest, GetPromptRequestParams, ProtocolVersion,
    ReadResourceRequestParams, Request, ResourceContents, ServerResult,
};
use rmcp::service::PeerRequestOptions;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientLifecycleMode, ClientServiceExt};
use sallyport_e2e::{GatewayProc, demo_stdio_server, http_server, sallyport_bin};
use serde_json::json;

async fn two_demo_gateway() -> GatewayProc {
    let url = sallyport_demo::spawn_http().await.unwrap();
    let servers = format!(
        "servers:\n{}{}",
        http_server("notes", &url),
        demo_stdio_server("tools")
    );
    GatewayProc::start(&servers).await
}

async fn check_federation(client: &Client, label: &str) {
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for expected in [
        "notes__add",
        "tools__add",
        "notes__slow_count",
        "tools__confirm",
    ] {
        assert!(
            names.contains(&expected),
            "{label}: {expected} missing in {names:?}"
        );
    }
    let add = tools.iter().find(|t| t.name == "tools__add").unwrap();
    assert!(
        add.output_schema.is_some(),
        "{label}: outputSchema survives the gateway"
    );
    for server in ["notes", "tools"] {
        let sum = call(client, &format!("{server}__add"), json!({"a": 20, "b": 22})).await;
        assert_eq!(
            sum.structured_content,
            Some(json!({"sum": 42})),
            "{label} {server}"
        );
    }
    let readme = client
        .read_resource(ReadResourceRequestParams::new("notes+demo://readme"))
        .await
        .expect("resources/read");
    let [ResourceContents::TextResourceContents { uri, text, .. }] = readme.contents.as_slice()
    else {
        panic!("{label}: readme is not one text: {readme:?}");
    };
    assert_eq!(uri, "notes+demo://readme", "{label}");
    assert!(text.contains("Sallyport demo server"), "{label}: {text}");
    let prompt = client
        .get_prompt(
            GetPromptRequestParams::new("tools__summarize")
                .with_arguments(args(json!({"text": "rmcp through the gateway"}))),
        )
        .await
        .expect("prompts/get");
    let first = prompt.messages[0].content.as_text().map(|t| t.text.clone());
    assert!(
        first.is_some_and(|t| t.contains("rmcp through the gateway")),
        "{label}: {prompt:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rmcp_client_in_each_lifecycle_mode() {
    let gw = two_demo_gateway().await;
    for era in Era::BOTH {
        let (handler, _events) = TestClient::bare();
        let client = connect(handler, &gw.mcp_url(), era).await;
        check_federation(&client, &format!("{era:?}")).await;
        client.cancel().await.unwrap();
    }
    // Auto: probes server/discover, which the gateway answers, so it settles on 2026-07-28.
    let (handler, _events) = TestClient::bare();
    let transport = StreamableHttpClientTransport::from_uri(gw.mcp_url());
    let lifecycle = ClientLifecycleMode::Auto {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        legacy_version: Some(ProtocolVersion::V_2025_11_25),
    };
    let client = tokio::time::timeout(PATIENCE, handler.serve_with_lifecycle(transport, lifecycle))
        .await
        .expect("auto connect timed out")
        .expect("auto connect");
    let version = client.peer_info().unwrap().protocol_version.clone();
    assert_eq!(version, ProtocolVersion::V_2026_07_28);
    check_federation(&client, "Auto").await;
    client.cancel().await.unwrap();
    gw.wait_decision(|d| d["era"] == "legacy" && d["server"] == "notes" && d["tool"] == "add")
        .await;
    gw.wait_decision(|d| d["era"] == "modern" && d["server"] == "tools" && d["tool"] == "add")
        .await;
}

/// Sampling, elicitation and roots answered by the rmcp client: real server→client requests
/// for a legacy session, MRTR rounds (driven by rmcp's `call_tool`) for 2026-07-28.
#[tokio::test(flavor = "multi_thread")]
async fn rmcp_client_answers_what_upstreams_ask_in_both_eras() {
    let gw = two_demo_gateway().await;
    for era in Era::BOTH {
        let (handler, mut events) = TestClient::capable();
        let client = connect(handler, &gw.mcp_url(), era).await;
        for server in ["notes", "tools"] {
            let label = format!("{era:?} {server}");
            let answer = call(
                &client,
                &format!("{server}__ask_model"),
                json!({"question": "why?"}),
            )
            .await;
            assert_eq!(text(&answer), "rmcp answer to: why?", "{label}");
            assert_eq!(
                answer.structured_content.as_ref().unwrap()["model"],
                MODEL,
                "{label}"
            );
            next_event(&mut events, "the sampling callback", |e| {
                matches!(e, Event::Answered("sampling"))
            })
            .await;

            let yes = call(
                &client,
                &format!("{server}__confirm"),
                json!({"question": "ok?"}),
            )
            .await;
            assert_eq!(text(&yes), "the user confirmed", "{label}");
            let roots = call(&client, &format!("{server}__list_roots"), json!({})).await;
            assert_eq!(text(&roots), ROOT, "{label}");
        }
        client.cancel().await.unwrap();
    }
}

/// The demo server (rmcp) as an upstream pinned to one era, over each transport; clients of
/// the same era use every feature, clients of the other era the era-independent ones.
#[tokio::test(flavor = "multi_thread")]
async fn rmcp_upstreams_pinned_to_each_era() {
    let url = sallyport_demo::spawn_http().await.unwrap();
    let bin = sallyport_bin().display().to_string();
    let mut servers = String::from("servers:\n");
    for (name, era) in [("lhttp", "legacy"), ("mhttp", "modern")] {
        servers += &format!("  - name: {name}\n    era: {era}\n    http: {{ url: \"{url}\" }}\n");
    }
    for (name, era) in [("lstdio", "legacy"), ("mstdio", "modern")] {
        servers += &format!(
            "  - name: {name}\n    era: {era}\n    stdio: {{ command: \"{bin}\", args: [\"demo-server\"] }}\n"
        );
    }
    let gw = GatewayProc::start(&servers).await;
    let ready = readyz(&gw.base).await;
    for (name, era) in [
        ("lhttp", "legacy"),
        ("mhttp", "modern"),
        ("lstdio", "legacy"),
        ("mstdio", "modern"),
    ] {
        assert_eq!(ready["servers"][name]["era"], era, "{ready:#}");
    }
    for era in Era::BOTH {
        let (handler, mut events) = TestClient::capable();
        let client = connect(handler, &gw.mcp_url(), era).await;
        for server in ["lhttp", "mhttp", "lstdio", "mstdio"] {
            let label = format!("{era:?} client, {server}");
            let echoed = call(&client, &format!("{server}__echo"), json!({"text": label})).await;
            assert_eq!(text(&echoed), label);

            let params = CallToolRequestParams::new(format!("{server}__slow_count"))
                .with_arguments(args(json!({"to": 2, "delay_ms": 10})));
            let handle = client
                .send_cancellable_request(
                    ClientRequest::CallToolRequest(Request::new(params)),
                    PeerRequestOptions::no_options(),
                )
                .await
                .unwrap();
            let token = handle.progress_token.clone();
            let ServerResult::CallToolResult(done) =
                tokio::time::timeout(PATIENCE, handle.await_response())
                    .await
                    .unwrap()
                    .unwrap()
            else {
                panic!("{label}: slow_count answered something else");
            };
            assert_eq!(text(&done), "counted to 2", "{label}");
            // rmcp runs each notification handler in its own task: compare as a set.
            let mut steps = Vec::new();
            for _ in 0..2 {
                let Event::Progress(p) = next_event(
                    &mut events,
                    "progress",
                    |e| matches!(e, Event::Progress(p) if p.progress_token == token),
                )
                .await
                else {
                    unreachable!()
                };
                steps.push(p.progress);
            }
            steps.sort_by(f64::total_cmp);
            assert_eq!(steps, [1.0, 2.0], "{label}");

            // Questions to the client are bridged within one era only: a legacy client does
            // not get MRTR rounds translated into server requests, nor the reverse.
            let same_era = server.starts_with(if era == Era::Legacy { 'l' } else { 'm' });
            if same_era {
                let answer = call(
                    &client,
                    &format!("{server}__ask_model"),
                    json!({"question": "hi"}),
                )
                .await;
                assert_eq!(text(&answer), "rmcp answer to: hi", "{label}");
            }
        }
        client.cancel().await.unwrap();
    }
}
