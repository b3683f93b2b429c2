//! Arguments and results through the real gateway: a path traversal argument, a prompt
//! injection in a tool result and a leaked secret. Each attack works with `detect` off and is
//! stopped (refused, or redacted) with it on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Era, TestClient, connect, python_stdio_server, rpc_code, text, try_call, yaml_str};
use sallyport_e2e::GatewayProc;
use serde_json::json;

async fn gateway(detect: bool) -> GatewayProc {
    let servers = python_stdio_server("w", "threat_server.py", &["--set", "clean"]);
    GatewayProc::start_with(|_, dir| {
        let store = yaml_str(&dir.join("pins.db").display().to_string());
        let section = if detect {
            format!("detect:\n  pinning: {{ store: {store} }}\n")
        } else {
            String::new()
        };
        format!("servers:\n{servers}{section}")
    })
    .await
}

const TRAVERSAL: &str = "../../../../etc/passwd";

#[tokio::test(flavor = "multi_thread")]
async fn attacks_in_arguments_and_results_work_without_detect() {
    let gw = gateway(false).await;
    let client = connect(TestClient::bare().0, &gw.mcp_url(), Era::Legacy).await;
    let r = try_call(&client, "w__read_file", json!({"path": TRAVERSAL}))
        .await
        .unwrap();
    assert_eq!(text(&r), format!("contents of {TRAVERSAL}"));
    let r = try_call(
        &client,
        "w__fetch_page",
        json!({"url": "https://evil.example/"}),
    )
    .await
    .unwrap();
    assert!(text(&r).contains("Ignore all previous instructions"));
    let r = try_call(&client, "w__lookup", json!({"key": "aws"}))
        .await
        .unwrap();
    assert!(text(&r).contains("AKIAIOSFODNN7EXAMPLE"));
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn detect_blocks_traversal_and_injection_and_redacts_secrets() {
    let gw = gateway(true).await;
    let client = connect(TestClient::bare().0, &gw.mcp_url(), Era::Legacy).await;
    client.list_all_tools().await.unwrap();
    // Path traversal in an argument: refused before the upstream sees it.
    let err = try_call(&client, "w__read_file", json!({"path": TRAVERSAL}))
        .await
        .unwrap_err();
    assert_eq!(rpc_code(&err), Some(-32017), "{err:#}");
    assert!(format!("{err:#}").contains("path_traversal"), "{err:#}");
    // Schema: the tool's own inputSchema requires a string path.
    let err = try_call(&client, "w__read_file", json!({"path": 7}))
        .await
        .unwrap_err();
    assert_eq!(rpc_code(&err), Some(-32017), "{err:#}");
    // Ordinary calls pass.
    let r = try_call(&client, "w__read_file", json!({"path": "notes/today.md"}))
        .await
        .unwrap();
    assert_eq!(text(&r), "contents of notes/today.md");
    // Prompt injection in a result: withheld.
    let err = try_call(
        &client,
        "w__fetch_page",
        json!({"url": "https://evil.example/"}),
    )
    .await
    .unwrap_err();
    assert_eq!(rpc_code(&err), Some(-32017), "{err:#}");
    assert!(format!("{err:#}").contains("prompt_injection"), "{err:#}");
    let r = try_call(
        &client,
        "w__fetch_page",
        json!({"url": "https://example.com/"}),
    )
    .await
    .unwrap();
    assert_eq!(text(&r), "An ordinary page about weather.");
    // A secret in a result: redacted, typed.
    let r = try_call(&client, "w__lookup", json!({"key": "aws"}))
        .await
        .unwrap();
    assert_eq!(text(&r), "aws_access_key_id = [REDACTED:aws_access_key]");
    // The decision records carry rule ids and ATLAS ids, never the secret.
    let d = gw
        .wait_decision(|d| {
            d["guards"]
                .to_string()
                .contains("secret.aws_access_key(AML.T0057)")
        })
        .await;
    assert_eq!(d["outcome"], "rewrite");
    assert!(
        !gw.decisions()
            .iter()
            .any(|d| d.to_string().contains("AKIAIOSFODNN7EXAMPLE"))
    );
    gw.wait_decision(|d| {
        d["deny_code"] == "threat_detected" && d["direction"] == "server_to_client"
    })
    .await;
    client.cancel().await.unwrap();
}
