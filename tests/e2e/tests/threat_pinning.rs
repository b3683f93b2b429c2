//! Rug pulls through the real gateway: a tool whose definition changes after N calls
//! (silently, and with `list_changed`) or between restarts. With `detect` off the client gets
//! the new definition; with it on the tool is held — gone from lists, calls refused with
//! `tool_quarantined` saying an operator must approve — until `sallyport pins approve`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    Client, Era, TestClient, call, connect, pinning_gateway, python_stdio_server, rpc_code,
    try_call,
};
use sallyport_e2e::{GatewayProc, sallyport_cli};
use serde_json::json;

async fn weather(client: &Client) -> Option<String> {
    let list = client.list_all_tools().await.expect("tools/list");
    list.iter()
        .find(|t| t.name == "w__get_weather")
        .map(|t| t.description.as_deref().unwrap_or_default().to_owned())
}

async fn assert_held(client: &Client) {
    assert_eq!(
        weather(client).await,
        None,
        "a drifted tool must not be listed"
    );
    let err = try_call(client, "w__get_weather", json!({"city": "Paris"}))
        .await
        .unwrap_err();
    assert_eq!(rpc_code(&err), Some(-32016), "{err:#}");
    assert!(
        format!("{err:#}").contains("an operator must approve the new version"),
        "{err:#}"
    );
}

fn approve(gw: &GatewayProc) {
    sallyport_cli(&["pins"], &gw.config, &["approve", "w", "get_weather"]);
}

async fn rug_pull_after_calls(announce: bool) {
    let mut args = vec!["--set", "clean", "--rug-after", "2"];
    if announce {
        args.push("--announce");
    }
    let servers = python_stdio_server("w", "threat_server.py", &args);
    // Guard off: after two calls the client gets the changed definition.
    let gw = pinning_gateway(&servers, None).await;
    let client = connect(TestClient::bare().0, &gw.mcp_url(), Era::Legacy).await;
    assert!(!weather(&client).await.unwrap().contains("wind"));
    for _ in 0..2 {
        call(&client, "w__get_weather", json!({"city": "Paris"})).await;
    }
    assert!(
        weather(&client).await.unwrap().contains("wind speed"),
        "announce={announce}"
    );
    client.cancel().await.unwrap();
    drop(gw);

    // Guard on: held after the drift, released by an operator's approval.
    let dir = tempfile::tempdir().unwrap();
    let gw = pinning_gateway(&servers, Some(&dir.path().join("pins.db"))).await;
    let client = connect(TestClient::bare().0, &gw.mcp_url(), Era::Legacy).await;
    assert!(weather(&client).await.is_some());
    for _ in 0..2 {
        call(&client, "w__get_weather", json!({"city": "Paris"})).await;
    }
    assert_held(&client).await;
    let d = gw
        .wait_decision(|d| d["deny_code"] == "tool_quarantined")
        .await;
    assert!(
        d["reason"]
            .as_str()
            .unwrap()
            .contains("changed /description"),
        "{d}"
    );
    gw.wait_decision(|d| d["guards"].to_string().contains("held get_weather (drift)"))
        .await;
    approve(&gw);
    call(&client, "w__get_weather", json!({"city": "Paris"})).await;
    assert!(weather(&client).await.unwrap().contains("wind speed"));
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn rug_pull_after_n_calls_with_list_changed_is_held_until_approved() {
    rug_pull_after_calls(true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_rug_pull_after_n_calls_is_held_until_approved() {
    rug_pull_after_calls(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rug_pull_on_restart_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("upgraded");
    let state_arg = state.display().to_string();
    let servers = python_stdio_server(
        "w",
        "threat_server.py",
        &["--set", "clean", "--state", &state_arg],
    );
    let store = dir.path().join("pins.db");
    // First run: the definitions are pinned.
    let gw = pinning_gateway(&servers, Some(&store)).await;
    let client = connect(TestClient::bare().0, &gw.mcp_url(), Era::Legacy).await;
    assert!(!weather(&client).await.unwrap().contains("wind"));
    client.cancel().await.unwrap();
    drop(gw);
    // The server changes while the gateway is down.
    std::fs::write(&state, "1").unwrap();
    let gw = pinning_gateway(&servers, None).await;
    let client = connect(TestClient::bare().0, &gw.mcp_url(), Era::Legacy).await;
    assert!(
        weather(&client).await.unwrap().contains("wind speed"),
        "guard off: the change passes"
    );
    client.cancel().await.unwrap();
    drop(gw);
    let gw = pinning_gateway(&servers, Some(&store)).await;
    let client = connect(TestClient::bare().0, &gw.mcp_url(), Era::Legacy).await;
    assert_held(&client).await;
    // Tools that did not change are still served.
    call(&client, "w__lookup", json!({"key": "x"})).await;
    client.cancel().await.unwrap();
}
