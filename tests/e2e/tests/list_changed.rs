//! A tool list that changes upstream: the demo's `toggle_extra_tool` shows or hides `extra`
//! and announces `notifications/tools/list_changed`. Through the gateway the client hears the
//! announcement (legacy: on its session; 2026-07-28: on a `subscriptions/listen` stream), and
//! its next list shows the change, for stdio and Streamable HTTP upstreams.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Client, Era, Event, TestClient, call, connect, next_event, try_call};
use rmcp::model::{ServerNotification, SubscriptionFilter};
use sallyport_e2e::{GatewayProc, demo_stdio_server, http_server, ok, py_client};
use serde_json::json;

async fn listed(client: &Client, name: &str) -> bool {
    let tools = client.list_all_tools().await.expect("tools/list");
    tools.iter().any(|t| t.name == name)
}

async fn toggle_and_follow(
    client: &Client,
    events: &mut tokio::sync::mpsc::UnboundedReceiver<Event>,
    server: &str,
    era: Era,
) {
    let extra = format!("{server}__extra");
    let mut subscription = match era {
        Era::Legacy => None,
        Era::Modern => {
            let filter = SubscriptionFilter::builder().tools_list_changed().build();
            Some(client.listen(filter).await.expect("subscriptions/listen"))
        }
    };
    let initially = listed(client, &extra).await;
    for expect_listed in [!initially, initially] {
        let toggled = call(client, &format!("{server}__toggle_extra_tool"), json!({})).await;
        let state = toggled.structured_content.expect("structuredContent");
        assert_eq!(
            state["extra_enabled"], expect_listed,
            "{era:?} {server}: {state}"
        );
        match subscription.as_mut() {
            None => {
                next_event(events, "tools/list_changed", |e| {
                    matches!(e, Event::ToolListChanged)
                })
                .await;
            }
            Some(sub) => {
                let note = tokio::time::timeout(common::PATIENCE, sub.next())
                    .await
                    .unwrap_or_else(|_| {
                        panic!("{era:?} {server}: no list_changed on the listen stream")
                    })
                    .expect("listen stream failed")
                    .expect("listen stream ended");
                assert!(
                    matches!(note, ServerNotification::ToolListChangedNotification(_)),
                    "{era:?} {server}: unexpected {note:?}"
                );
            }
        }
        assert_eq!(
            listed(client, &extra).await,
            expect_listed,
            "{era:?} {server}: {extra} listed"
        );
        let answer = try_call(client, &extra, json!({})).await;
        assert_eq!(
            answer.is_ok(),
            expect_listed,
            "{era:?} {server}: {extra} answered {answer:?}"
        );
    }
    if let Some(mut sub) = subscription {
        sub.cancel().await.expect("ending the listen stream");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn list_changed_reaches_the_client_and_the_next_list_follows_in_both_eras() {
    let url_http = sallyport_demo::spawn_http().await.unwrap();
    let servers = format!(
        "servers:\n{}{}",
        demo_stdio_server("tools"),
        http_server("notes", &url_http)
    );
    let gw = GatewayProc::start(&servers).await;
    for era in Era::BOTH {
        let (handler, mut events) = TestClient::bare();
        let client = connect(handler, &gw.mcp_url(), era).await;
        for server in ["tools", "notes"] {
            toggle_and_follow(&client, &mut events, server, era).await;
        }
        client.cancel().await.unwrap();
    }
}

/// The Python SDK client, one call per session: the announcement still reaches it.
#[tokio::test(flavor = "multi_thread")]
async fn python_legacy_client_hears_list_changed_during_its_call() {
    let servers = format!("servers:\n{}", demo_stdio_server("tools"));
    let gw = GatewayProc::start(&servers).await;
    let run = py_client(&[
        "--url",
        &gw.mcp_url(),
        "--mode",
        "legacy",
        "call-tool",
        "tools__toggle_extra_tool",
        "{}",
    ])
    .await;
    let json = ok(&run);
    let methods: Vec<&str> = json["notifications"]
        .as_array()
        .map(|n| n.iter().filter_map(|e| e["method"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        methods.contains(&"notifications/tools/list_changed"),
        "{json:#}"
    );
}
