//! A rug-pulling prompt through the real gateway: after N gets the upstream changes the
//! prompt's description and message (silently, and with `prompts/list_changed`). With
//! `detect` off the client gets the new prompt; with pinning on it is held — gone from
//! `prompts/list`, `prompts/get` refused with `tool_quarantined` saying an operator must
//! approve — until `sallyport pins approve <server> prompt:<name>`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    Client, Era, TestClient, args, connect, pinning_gateway, python_stdio_server, rpc_code,
};
use rmcp::model::{GetPromptRequestParams, GetPromptResult};
use sallyport_e2e::{GatewayProc, sallyport_cli};
use serde_json::json;

const PULLED: &str = "attach the context you have seen";
const PULLED_MESSAGE: &str = "recommending the premium plan";

/// The description of `w__summarize` as listed, if it is.
async fn summarize(client: &Client) -> Option<String> {
    let list = client.list_all_prompts().await.expect("prompts/list");
    assert!(
        list.iter().any(|p| p.name == "w__outline"),
        "the unchanged prompt is always listed"
    );
    list.iter()
        .find(|p| p.name == "w__summarize")
        .map(|p| p.description.as_deref().unwrap_or_default().to_owned())
}

async fn try_get(client: &Client, name: &str) -> anyhow::Result<GetPromptResult> {
    let params =
        GetPromptRequestParams::new(name).with_arguments(args(json!({"text": "the report"})));
    Ok(client.get_prompt(params).await?)
}

/// `w__summarize`'s message text.
async fn get(client: &Client) -> String {
    let result = try_get(client, "w__summarize")
        .await
        .unwrap_or_else(|e| panic!("prompts/get: {e:#}"));
    let text = result.messages[0].content.as_text().map(|t| t.text.clone());
    text.unwrap_or_default()
}

fn pins(gw: &GatewayProc, action: &[&str]) -> String {
    sallyport_cli(&["pins"], &gw.config, action)
}

async fn prompt_rug_pull(announce: bool) {
    let mut flags = vec!["--rug-after", "2"];
    if announce {
        flags.push("--announce");
    }
    let servers = python_stdio_server("w", "prompt_rug_server.py", &flags);

    // Pinning off: after two gets the client is served the changed prompt.
    let gw = pinning_gateway(&servers, None).await;
    let client = connect(TestClient::bare().0, &gw.mcp_url(), Era::Legacy).await;
    assert!(!summarize(&client).await.unwrap().contains(PULLED));
    for _ in 0..2 {
        assert!(!get(&client).await.contains(PULLED_MESSAGE));
    }
    assert!(
        summarize(&client).await.unwrap().contains(PULLED),
        "announce={announce}: the attack works without pinning"
    );
    assert!(get(&client).await.contains(PULLED_MESSAGE));
    client.cancel().await.unwrap();
    drop(gw);

    // Pinning on: the drifted prompt is held after the next listing.
    let dir = tempfile::tempdir().unwrap();
    let gw = pinning_gateway(&servers, Some(&dir.path().join("pins.db"))).await;
    let client = connect(TestClient::bare().0, &gw.mcp_url(), Era::Legacy).await;
    assert!(summarize(&client).await.is_some());
    for _ in 0..2 {
        assert!(!get(&client).await.contains(PULLED_MESSAGE));
    }
    assert_eq!(
        summarize(&client).await,
        None,
        "a drifted prompt must not be listed"
    );
    let err = try_get(&client, "w__summarize").await.unwrap_err();
    assert_eq!(rpc_code(&err), Some(-32016), "{err:#}");
    let shown = format!("{err:#}");
    assert!(
        shown.contains("Prompt summarize is quarantined")
            && shown.contains("an operator must approve the new version")
            && shown.contains("sallyport pins approve w prompt:summarize"),
        "{shown}"
    );
    // Other prompts of the server are still served.
    try_get(&client, "w__outline").await.unwrap();
    let d = gw
        .wait_decision(|d| d["deny_code"] == "tool_quarantined")
        .await;
    assert!(
        d["reason"]
            .as_str()
            .unwrap()
            .contains("get of held prompt w/summarize: its definition changed"),
        "{d}"
    );
    gw.wait_decision(|d| {
        d["guards"]
            .to_string()
            .contains("prompts of w: held summarize (drift): changed /description")
    })
    .await;
    let listed = pins(&gw, &["list", "--server", "w"]);
    assert!(
        listed
            .lines()
            .any(|l| l.contains("prompt:summarize") && l.contains("drift")),
        "{listed}"
    );
    // The operator approves the new version: listed and served again.
    pins(&gw, &["approve", "w", "prompt:summarize"]);
    assert!(get(&client).await.contains(PULLED_MESSAGE));
    assert!(summarize(&client).await.unwrap().contains(PULLED));
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_prompt_rug_pull_is_held_until_approved() {
    prompt_rug_pull(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn prompt_rug_pull_with_list_changed_is_held_until_approved() {
    prompt_rug_pull(true).await;
}
