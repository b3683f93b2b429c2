//! Enumeration safety: a tool hidden by policy and a tool that does not exist are
//! indistinguishable to the client; only the decision records know the difference.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sallyport_e2e::{GatewayProc, http_server, response_body};
use serde_json::{Value, json};

async fn call(gw: &GatewayProc, name: &str) -> Value {
    let body = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":name,"arguments":{"text":"x"},
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}});
    let resp = reqwest::Client::new()
        .post(gw.mcp_url())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", name)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    response_body(&resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn hidden_and_missing_tools_get_identical_answers() {
    let url = sallyport_demo::spawn_http().await.unwrap();
    let servers = format!(
        "servers:\n{}    tools: {{ deny: [\"echo\"] }}\n",
        http_server("notes", &url)
    );
    let gw = GatewayProc::start(&servers).await;

    let hidden = call(&gw, "notes__echo").await;
    let missing = call(&gw, "notes__ekho").await;
    let strip = |v: &Value| {
        v["error"]["message"]
            .as_str()
            .unwrap()
            .replace("notes__echo", "NAME")
            .replace("notes__ekho", "NAME")
    };
    assert_eq!(hidden["error"]["code"], -32602, "{hidden}");
    assert_eq!(hidden["error"]["code"], missing["error"]["code"]);
    assert_eq!(
        strip(&hidden),
        strip(&missing),
        "the two answers must differ only in the name"
    );
    assert_eq!(
        hidden["error"].as_object().unwrap().len(),
        missing["error"].as_object().unwrap().len()
    );

    // Without the guard the hidden tool works: the denial is the policy, not an accident.
    let open = GatewayProc::start(&format!("servers:\n{}", http_server("notes", &url))).await;
    let ok = call(&open, "notes__echo").await;
    assert!(ok["result"]["content"].is_array(), "{ok}");

    // The audit trail knows which was which.
    let hidden_record = gw
        .wait_decision(|d| d["tool"] == "echo" && d["outcome"] == "deny")
        .await;
    assert_eq!(hidden_record["deny_code"], "tool_not_allowed");
    assert!(
        hidden_record["reason"]
            .as_str()
            .unwrap()
            .contains("tool filter"),
        "{hidden_record}"
    );
    let missing_record = gw
        .wait_decision(|d| d["guards"][0]["guard"] == "router" && d["outcome"] == "deny")
        .await;
    assert_eq!(
        missing_record["deny_code"], "tool_not_allowed",
        "{missing_record}"
    );
}
