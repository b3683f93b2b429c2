//! Authentication at the edge: API keys from `sallyport keys create`, 401 challenges,
//! Protected Resource Metadata, sessions bound to their principal, and no client credential
//! ever reaching an upstream.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use sallyport_e2e::{
    GatewayProc, create_api_key, http_server, ok, py_client, response_body, sallyport_bin,
};
use serde_json::{Value, json};

fn auth_yaml(port: u16, dir: &Path) -> String {
    std::fs::write(
        dir.join("hmac.secret"),
        "0123456789abcdef0123456789abcdef-test-secret\n",
    )
    .unwrap();
    format!(
        "auth:\n  api_keys: {{ store_path: \"{keys}\", hmac_secret: {{ type: file, path: \"{secret}\" }} }}\n  resource: {{ resource: \"http://127.0.0.1:{port}/mcp\", authorization_servers: [\"https://idp.example\"] }}\n",
        keys = dir.join("keys.json").display(),
        secret = dir.join("hmac.secret").display(),
    )
}

async fn initialize(url: &str, key: &str) -> reqwest::Response {
    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("x-api-key", key)
        .body(init.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn api_keys_gate_the_endpoint_and_never_reach_upstreams() {
    let recorder = common::python_http_fixture("header_recorder.py", &[]).await;
    let demo = sallyport_demo::spawn_http().await.unwrap();
    let keys = std::sync::Mutex::new(Vec::new());
    let gw = GatewayProc::start_prepared(
        |port, dir| {
            format!(
                "servers:\n{}{}{}",
                http_server("rec", &recorder.url),
                http_server("notes", &demo),
                auth_yaml(port, dir)
            )
        },
        |config| {
            let mut k = keys.lock().unwrap();
            k.push(create_api_key(config, "alice", "mcp_operator"));
            k.push(create_api_key(config, "bob", "mcp_operator"));
        },
    )
    .await;
    let (alice, bob) = {
        let k = keys.lock().unwrap();
        (k[0].clone(), k[1].clone())
    };
    assert!(alice.starts_with("sp_") && alice.len() > 40, "{alice}");

    // No credentials: 401 with a challenge pointing at the resource metadata.
    let resp = reqwest::Client::new()
        .post(gw.mcp_url())
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains("resource_metadata=\""),
        "{challenge}"
    );
    // A wrong key is refused the same way; the body is never parsed.
    let bad = initialize(
        &gw.mcp_url(),
        "sp_deadbeef_notarealkeynotarealkeynotarealkey00",
    )
    .await;
    assert_eq!(bad.status(), 401);
    gw.wait_decision(|d| d["deny_code"] == "unauthenticated")
        .await;

    // Protected Resource Metadata, root and path-inserted.
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let meta: Value = reqwest::get(format!("{}{path}", gw.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            meta["resource"],
            format!("{}/mcp", gw.base),
            "{path}: {meta}"
        );
        assert_eq!(meta["authorization_servers"][0], "https://idp.example");
    }

    // The official Python client with the key as a bearer token works end to end, and the
    // upstream sees none of the client's credentials.
    let run = py_client(&[
        "--url",
        &gw.mcp_url(),
        "--mode",
        "legacy",
        "--bearer",
        &alice,
        "call-tool",
        "rec__whoami",
        "{}",
    ])
    .await;
    let json = ok(&run);
    let seen = json.to_string().to_ascii_lowercase();
    assert!(
        !seen.contains(&alice.to_ascii_lowercase()),
        "the key reached the upstream: {seen}"
    );
    assert!(
        !seen.contains("authorization") && !seen.contains("x-api-key"),
        "client credential headers reached the upstream: {seen}"
    );
    let record = gw
        .wait_decision(|d| d["tool"] == "whoami" && d["direction"] == "client_to_server")
        .await;
    assert_ne!(record["principal"], "local", "{record}");

    // A session opened by alice cannot be used with bob's key.
    let resp = initialize(&gw.mcp_url(), &alice).await;
    assert_eq!(resp.status(), 200);
    let sid = resp.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let ping = json!({"jsonrpc":"2.0","id":1,"method":"ping"}).to_string();
    let with = |key: &str| {
        reqwest::Client::new()
            .post(gw.mcp_url())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", &sid)
            .header("mcp-protocol-version", "2025-11-25")
            .header("x-api-key", key.to_owned())
            .body(ping.clone())
    };
    let as_bob = with(&bob).send().await.unwrap();
    assert_eq!(
        as_bob.status(),
        404,
        "another principal must not use the session"
    );
    let as_alice = with(&alice).send().await.unwrap();
    assert_eq!(as_alice.status(), 200);
    assert!(response_body(&as_alice.text().await.unwrap())["result"].is_object());

    // Revoking a key takes effect for the next gateway start (the store is read at start).
    let prefix = alice.split('_').nth(1).unwrap().to_owned();
    let out = Command::new(sallyport_bin())
        .args(["keys", "list", "-c"])
        .arg(&gw.config)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        listing.contains(&prefix) && !listing.contains(&alice),
        "list shows prefixes, never keys: {listing}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_decide_which_tools_a_caller_sees_and_calls() {
    let demo = sallyport_demo::spawn_http().await.unwrap();
    let keys = std::sync::Mutex::new(Vec::new());
    let gw = GatewayProc::start_prepared(
        |port, dir| {
            format!(
                "servers:\n{}{}authz: {{}}\n",
                http_server("notes", &demo),
                auth_yaml(port, dir)
            )
        },
        |config| {
            let mut k = keys.lock().unwrap();
            k.push(create_api_key(config, "viewer", "mcp_readonly"));
            k.push(create_api_key(config, "builder", "mcp_operator"));
        },
    )
    .await;
    let (viewer, builder) = {
        let k = keys.lock().unwrap();
        (k[0].clone(), k[1].clone())
    };
    let url = gw.mcp_url();
    for mode in ["legacy", "auto"] {
        // The operator sees the tools and may run them.
        let run = py_client(&[
            "--url",
            &url,
            "--mode",
            mode,
            "--bearer",
            &builder,
            "list-tools",
        ])
        .await;
        assert!(
            sallyport_e2e::tool_names(ok(&run)).contains(&"notes__echo".to_owned()),
            "{mode}"
        );
        let run = py_client(&[
            "--url",
            &url,
            "--mode",
            mode,
            "--bearer",
            &builder,
            "call-tool",
            "notes__echo",
            r#"{"text":"hi"}"#,
        ])
        .await;
        ok(&run);

        // A read-only caller sees no tool (they all execute), and calling one fails exactly
        // like calling a tool that does not exist.
        let run = py_client(&[
            "--url",
            &url,
            "--mode",
            mode,
            "--bearer",
            &viewer,
            "list-tools",
        ])
        .await;
        assert!(
            sallyport_e2e::tool_names(ok(&run)).is_empty(),
            "{mode}: {:#}",
            run.json
        );
        let denied = py_client(&[
            "--url",
            &url,
            "--mode",
            mode,
            "--bearer",
            &viewer,
            "call-tool",
            "notes__echo",
            r#"{"text":"hi"}"#,
        ])
        .await;
        let missing = py_client(&[
            "--url",
            &url,
            "--mode",
            mode,
            "--bearer",
            &viewer,
            "call-tool",
            "notes__nosuch",
            "{}",
        ])
        .await;
        assert_eq!(
            denied.json["error"]["code"], -32602,
            "{mode}: {:#}",
            denied.json
        );
        assert_eq!(
            denied.json["error"]["message"]
                .as_str()
                .unwrap()
                .replace("notes__echo", "X"),
            missing.json["error"]["message"]
                .as_str()
                .unwrap()
                .replace("notes__nosuch", "X"),
            "{mode}: hidden and missing must look the same"
        );
        // Reading resources is a read permission, which read-only callers have.
        let run = py_client(&[
            "--url",
            &url,
            "--mode",
            mode,
            "--bearer",
            &viewer,
            "read-resource",
            "notes+demo://readme",
        ])
        .await;
        ok(&run);
    }
    let record = gw
        .wait_decision(|d| d["tool"] == "echo" && d["outcome"] == "deny")
        .await;
    assert!(
        record["guards"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["guard"] == "authz"),
        "{record}"
    );
}
