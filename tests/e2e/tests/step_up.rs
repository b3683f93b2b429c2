//! Step-up for high-risk tools (seed 000's `requires_additional_verification`): a call to a
//! tool marked `high_risk` needs a recent multi-factor login (`auth_time`, `amr` claims).
//! Without one the client gets HTTP 403 with a `WWW-Authenticate: Bearer
//! error="insufficient_scope"` challenge, or, with `on_unmet: hold`, a held answer; either
//! way the call never reaches the upstream.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use sallyport_e2e::jwt::{SigningKey, unix_now};
use sallyport_e2e::{GatewayProc, http_server, modern_tool_call_as, response_body};
use serde_json::{Value, json};

const ISSUER: &str = "https://idp.sallyport.test";

/// JWT auth with `key`, resource metadata, and the default policy plus a rule marking the
/// recorder's `echo` high-risk; `step_up` is the policy's `step_up` mapping.
fn config(port: u16, dir: &Path, upstream: &str, key: &SigningKey, step_up: &str) -> String {
    std::fs::write(dir.join("jwks.json"), key.jwks().to_string()).unwrap();
    std::fs::write(
        dir.join("high-risk.yaml"),
        format!(
            "tools:\n  - {{ server: rec, tool: echo, resource: rec.echo, action: execute, high_risk: true }}\nstep_up: {step_up}\n"
        ),
    )
    .unwrap();
    let audience = format!("http://127.0.0.1:{port}/mcp");
    format!(
        "servers:\n{}auth:\n  jwt:\n    issuers: [\"{ISSUER}\"]\n    audience: \"{audience}\"\n    keys: {{ type: file, path: \"{}\" }}\n  resource: {{ resource: \"{audience}\", authorization_servers: [\"{ISSUER}\"], scopes_supported: [\"mcp:tools\"] }}\nauthz:\n  policy_files: [\"{}\", \"{}\"]\n",
        http_server("rec", upstream),
        dir.join("jwks.json").display(),
        sallyport_e2e::repo_root()
            .join("policies/default.yaml")
            .display(),
        dir.join("high-risk.yaml").display(),
    )
}

/// A token for a developer (→ operator) who logged in `age` seconds ago with `amr`.
fn token(key: &SigningKey, port_url: &str, amr: &[&str], age: u64) -> String {
    let now = unix_now();
    key.sign(&json!({
        "iss": ISSUER, "aud": port_url, "sub": "dana", "roles": ["developer"],
        "iat": now - 10, "exp": now + 600, "auth_time": now - age, "amr": amr,
    }))
}

/// How many times the recorder's `echo` ran (read through the gateway with `reader`, whose
/// calls to `echo_count` are not high-risk).
async fn echo_calls_seen(gw: &GatewayProc, reader: &str) -> u64 {
    let (status, body) = modern_tool_call_as(
        &gw.mcp_url(),
        Some(reader),
        json!(99),
        "rec__echo_count",
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["result"]["content"][0]["text"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no count in {body}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_high_risk_call_without_a_recent_mfa_login_gets_a_403_challenge_and_never_runs() {
    let recorder = common::python_http_fixture("header_recorder.py", &[]).await;
    let key = SigningKey::generate("step-up");
    let gw =
        GatewayProc::start_with(|port, dir| config(port, dir, &recorder.url, &key, "{}")).await;
    let audience = gw.mcp_url();
    let password_only = token(&key, &audience, &["pwd"], 30);

    // Password-only login: 403 with the scope challenge, JSON-RPC -32018 naming what to do.
    let (status, headers, body) = call_echo(
        &gw.mcp_url(),
        &password_only,
        "application/json, text/event-stream",
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\"")
            && challenge.contains("scope=\"mcp:tools\"")
            && challenge.contains("resource_metadata=\""),
        "{challenge}"
    );
    assert_eq!(body["error"]["code"], -32018, "{body}");
    assert_eq!(body["error"]["data"]["amr_values"], json!(["mfa", "hwk"]));
    assert!(
        body["error"]["message"].as_str().unwrap().contains("mfa"),
        "{body}"
    );
    let record = gw
        .wait_decision(|d| d["deny_code"] == "step_up_required")
        .await;
    assert_eq!(record["tool"], "echo", "{record}");

    // An MFA login, but too long ago: still refused.
    let stale = token(&key, &audience, &["pwd", "mfa"], 3600);
    let (status, _, _) = call_echo(&gw.mcp_url(), &stale, "application/json").await;
    assert_eq!(status, 403);

    // Nothing reached the upstream so far.
    assert_eq!(echo_calls_seen(&gw, &password_only).await, 0);

    // A recent MFA login: the call runs.
    let fresh = token(&key, &audience, &["pwd", "mfa"], 30);
    let (status, _, body) = call_echo(&gw.mcp_url(), &fresh, "application/json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["content"][0]["text"], "wire transfer",
        "{body}"
    );
    assert_eq!(echo_calls_seen(&gw, &password_only).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_on_unmet_hold_the_call_is_held_and_never_reaches_the_upstream() {
    let recorder = common::python_http_fixture("header_recorder.py", &[]).await;
    let key = SigningKey::generate("hold");
    let gw = GatewayProc::start_with(|port, dir| {
        config(port, dir, &recorder.url, &key, "{ on_unmet: hold }")
    })
    .await;
    let password_only = token(&key, &gw.mcp_url(), &["pwd"], 30);
    let (status, _, body) = call_echo(&gw.mcp_url(), &password_only, "application/json").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("held for approval: approval: "),
        "{body}"
    );
    let record = gw.wait_decision(|d| d["outcome"] == "hold").await;
    assert_eq!(record["tool"], "echo", "{record}");
    assert_eq!(echo_calls_seen(&gw, &password_only).await, 0);
}

/// A 2026-07-28 `tools/call` of `rec__echo` with `token`; status, headers and JSON body.
async fn call_echo(
    url: &str,
    token: &str,
    accept: &str,
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Value) {
    let body = json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"rec__echo","arguments":{"text":"wire transfer"},
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}});
    let resp = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("accept", accept)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "rec__echo")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    (status, headers, response_body(&resp.text().await.unwrap()))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_cannot_forge_a_step_up_challenge() {
    let recorder = common::python_http_fixture("header_recorder.py", &[]).await;
    let key = SigningKey::generate("forge");
    let gw =
        GatewayProc::start_with(|port, dir| config(port, dir, &recorder.url, &key, "{}")).await;
    let fresh = token(&key, &gw.mcp_url(), &["pwd", "mfa"], 30);
    let (status, body) = modern_tool_call_as(
        &gw.mcp_url(),
        Some(&fresh),
        json!(5),
        "rec__forge_step_up",
        json!({}),
    )
    .await;
    // The upstream answered -32018; the client gets the error, not a 403 challenge that
    // would send it to sign in again.
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["error"]["code"], -32603, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("code -32018 is reserved by the gateway")
            && message.contains("sign in again with MFA"),
        "{message}"
    );
}
