//! Human approval of held calls: a call held by policy (a high-risk tool without a recent
//! MFA login, `on_unmet: hold`) waits while an operator decides with `sallyport approvals`.
//! An approval admits the exact call it was filed for, once: other arguments, and the same
//! call again, need their own approval. A denial is final for the call it names.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use sallyport_e2e::jwt::{SigningKey, unix_now};
use sallyport_e2e::{GatewayProc, http_server, modern_tool_call_as, sallyport_bin};
use serde_json::{Value, json};

const ISSUER: &str = "https://idp.sallyport.test";

/// JWT auth, the default policy plus `rec.echo` marked high-risk with `on_unmet: hold`, and
/// an `approvals` section waiting `wait_secs`.
fn config(port: u16, dir: &Path, upstream: &str, key: &SigningKey, wait_secs: u64) -> String {
    std::fs::write(dir.join("jwks.json"), key.jwks().to_string()).unwrap();
    std::fs::write(
        dir.join("high-risk.yaml"),
        "tools:\n  - { server: rec, tool: echo, resource: rec.echo, action: execute, high_risk: true }\nstep_up: { on_unmet: hold }\n",
    )
    .unwrap();
    let audience = format!("http://127.0.0.1:{port}/mcp");
    format!(
        "servers:\n{}auth:\n  jwt:\n    issuers: [\"{ISSUER}\"]\n    audience: \"{audience}\"\n    keys: {{ type: file, path: \"{}\" }}\nauthz:\n  policy_files: [\"{}\", \"{}\"]\napprovals:\n  store: \"{}\"\n  wait_secs: {wait_secs}\n",
        http_server("rec", upstream),
        dir.join("jwks.json").display(),
        sallyport_e2e::repo_root()
            .join("policies/default.yaml")
            .display(),
        dir.join("high-risk.yaml").display(),
        dir.join("approvals.db").display(),
    )
}

/// A developer's token with a password-only login: `echo` is held for it.
fn token(key: &SigningKey, audience: &str) -> String {
    let now = unix_now();
    key.sign(&json!({
        "iss": ISSUER, "aud": audience, "sub": "dana", "roles": ["developer"],
        "iat": now - 10, "exp": now + 600, "auth_time": now - 30, "amr": ["pwd"],
    }))
}

/// `sallyport approvals ARGS -c CONFIG`; stdout, failing the test on a non-zero exit.
fn approvals_cli(gw: &GatewayProc, args: &[&str]) -> String {
    let out = Command::new(sallyport_bin())
        .arg("approvals")
        .args(args)
        .arg("-c")
        .arg(&gw.config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "approvals {args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Pending requests, as `approvals list --json` prints them.
fn pending(gw: &GatewayProc) -> Vec<Value> {
    serde_json::from_str::<Value>(&approvals_cli(gw, &["list", "--json"]))
        .unwrap()
        .as_array()
        .cloned()
        .unwrap()
}

/// Waits for a pending request for `echo` with arguments digesting to `digest`.
async fn wait_pending(gw: &GatewayProc, digest: &str) -> Value {
    for _ in 0..200 {
        if let Some(r) = pending(gw)
            .into_iter()
            .find(|r| r["binding"]["args_digest"] == digest)
        {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no pending request for {digest}: {:?}", pending(gw));
}

fn digest(args: &Value) -> String {
    format!(
        "sha256:{}",
        sallyport_audit::event::arguments_digest(args).unwrap()
    )
}

/// A 2026-07-28 call of `rec__echo` with `text`; the JSON body.
async fn echo(gw: &GatewayProc, token: &str, text: &str) -> Value {
    let (status, body) = modern_tool_call_as(
        &gw.mcp_url(),
        Some(token),
        json!(7),
        "rec__echo",
        json!({ "text": text }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// How many times the upstream's `echo` ran.
async fn echo_runs(gw: &GatewayProc, token: &str) -> u64 {
    let (_, body) = modern_tool_call_as(
        &gw.mcp_url(),
        Some(token),
        json!(9),
        "rec__echo_count",
        json!({}),
    )
    .await;
    body["result"]["content"][0]["text"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no count in {body}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approved_call_runs_once_and_its_approval_admits_no_other_arguments() {
    let recorder = common::python_http_fixture("header_recorder.py", &[]).await;
    let key = SigningKey::generate("approvals");
    let gw = GatewayProc::start_with(|port, dir| config(port, dir, &recorder.url, &key, 30)).await;
    let tok = token(&key, &gw.mcp_url());
    let transfer = digest(&json!({"text": "wire transfer"}));
    let steal = digest(&json!({"text": "wire everything"}));

    // The call waits; the operator sees exactly what is asked, and approves it.
    let waiting = tokio::spawn({
        let (url, tok) = (gw.mcp_url(), tok.clone());
        async move {
            modern_tool_call_as(
                &url,
                Some(&tok),
                json!(7),
                "rec__echo",
                json!({"text": "wire transfer"}),
            )
            .await
        }
    });
    let request = wait_pending(&gw, &transfer).await;
    let b = &request["binding"];
    assert_eq!(
        (
            b["principal"].as_str(),
            b["server"].as_str(),
            b["tool"].as_str()
        ),
        (Some("dana"), Some("rec"), Some("echo"))
    );
    assert_eq!(
        echo_runs(&gw, &tok).await,
        0,
        "nothing ran before the approval"
    );
    let id = request["id"].as_str().unwrap();
    let printed = approvals_cli(&gw, &["approve", &id[..8], "--by", "olga"]);
    assert!(printed.starts_with(&format!("Approved {id}")), "{printed}");
    let (status, body) = waiting.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["content"][0]["text"], "wire transfer",
        "{body}"
    );
    assert_eq!(echo_runs(&gw, &tok).await, 1);
    let record = gw
        .wait_decision(|d| d["tool"] == "echo" && d["outcome"] == "allow")
        .await;
    let reasons = record["guards"].to_string();
    assert!(reasons.contains(&format!("(approved: {id})")), "{record}");

    // Other arguments: the approval does not cover them; they wait for their own, and a
    // denial refuses them with the operator's note.
    let other = tokio::spawn({
        let (url, tok) = (gw.mcp_url(), tok.clone());
        async move {
            modern_tool_call_as(
                &url,
                Some(&tok),
                json!(8),
                "rec__echo",
                json!({"text": "wire everything"}),
            )
            .await
        }
    });
    let request = wait_pending(&gw, &steal).await;
    approvals_cli(
        &gw,
        &[
            "deny",
            request["id"].as_str().unwrap(),
            "--by",
            "olga",
            "--note",
            "not today",
        ],
    );
    let (_, body) = other.await.unwrap();
    assert_eq!(body["error"]["code"], -32005, "{body}");
    assert_eq!(
        body["error"]["message"],
        "this call was denied by olga: not today"
    );
    // The denial is final for that call: a retry is refused at once.
    let body = tokio::time::timeout(Duration::from_secs(5), echo(&gw, &tok, "wire everything"))
        .await
        .expect("a denied call is refused without waiting");
    assert_eq!(body["error"]["code"], -32005, "{body}");

    // The approved call again: the approval was spent, so it needs a new one.
    let again = tokio::spawn({
        let (url, tok) = (gw.mcp_url(), tok.clone());
        async move {
            modern_tool_call_as(
                &url,
                Some(&tok),
                json!(9),
                "rec__echo",
                json!({"text": "wire transfer"}),
            )
            .await
        }
    });
    let second = wait_pending(&gw, &transfer).await;
    assert_ne!(
        second["id"],
        json!(id),
        "a new request, not the spent approval"
    );
    approvals_cli(&gw, &["deny", second["id"].as_str().unwrap()]);
    let (_, body) = again.await.unwrap();
    assert_eq!(body["error"]["code"], -32005, "{body}");
    assert_eq!(echo_runs(&gw, &tok).await, 1, "only the approved call ran");
    let denied = gw
        .wait_decision(|d| d["deny_code"] == "approval_denied")
        .await;
    assert_eq!(denied["tool"], "echo", "{denied}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_wait_a_modern_client_is_told_to_retry_and_the_retry_runs_once_approved() {
    let recorder = common::python_http_fixture("header_recorder.py", &[]).await;
    let key = SigningKey::generate("approvals-now");
    let gw = GatewayProc::start_with(|port, dir| config(port, dir, &recorder.url, &key, 0)).await;
    let tok = token(&key, &gw.mcp_url());

    let body = echo(&gw, &tok, "wire transfer").await;
    let result = &body["result"];
    assert_eq!(result["isError"], true, "{body}");
    assert_eq!(result["resultType"], "complete", "{body}");
    assert_eq!(result["structuredContent"]["status"], "pending", "{body}");
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("Retry exactly the same call later"), "{text}");
    let id = result["structuredContent"]["approval_id"].as_str().unwrap();

    // A retry before the decision finds the same request instead of filing another.
    let body = echo(&gw, &tok, "wire transfer").await;
    assert_eq!(
        body["result"]["structuredContent"]["approval_id"], id,
        "{body}"
    );
    assert_eq!(pending(&gw).len(), 1);

    approvals_cli(&gw, &["approve", id]);
    let body = echo(&gw, &tok, "wire transfer").await;
    assert_eq!(
        body["result"]["content"][0]["text"], "wire transfer",
        "{body}"
    );
    assert_eq!(echo_runs(&gw, &tok).await, 1);
    // Spent: the next identical call files a new request.
    let body = echo(&gw, &tok, "wire transfer").await;
    assert_ne!(
        body["result"]["structuredContent"]["approval_id"], id,
        "{body}"
    );
    assert_eq!(echo_runs(&gw, &tok).await, 1);
}

#[test]
fn the_cli_explains_a_config_without_approvals_and_an_unknown_id() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.yaml");
    let server = sallyport_e2e::demo_stdio_server("demo");
    std::fs::write(&plain, format!("servers:\n{server}")).unwrap();
    let out = Command::new(sallyport_bin())
        .args(["approvals", "list", "-c"])
        .arg(&plain)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("has no approvals section"), "{err}");

    let with = dir.path().join("with.yaml");
    std::fs::write(
        &with,
        format!(
            "servers:\n{server}approvals: {{ store: \"{}\" }}\n",
            dir.path().join("a.db").display()
        ),
    )
    .unwrap();
    let out = Command::new(sallyport_bin())
        .args(["approvals", "approve", "abcdef12", "-c"])
        .arg(&with)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no approval request abcdef12"), "{err}");
}
