//! Security events through the real gateway: repeated bad API keys block the address
//! (`block_ip`), and one refused path traversal blocks the principal that sent it
//! (`suspicious_pattern` → `block_and_alert`), while another principal keeps working.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{python_stdio_server, yaml_str};
use sallyport_e2e::{GatewayProc, create_api_key, modern_tool_call_as};
use serde_json::{Value, json};

const TRAVERSAL: &str = "../../../../etc/passwd";
const BAD_KEY: &str = "sp_deadbeef_notarealkeynotarealkeynotarealkey00";

/// `auth.api_keys` with a store and HMAC secret in `dir`, plus `extra` sections.
fn config(dir: &Path, extra: &str) -> String {
    std::fs::write(
        dir.join("hmac.secret"),
        "0123456789abcdef0123456789abcdef-test-secret\n",
    )
    .unwrap();
    let servers = python_stdio_server("w", "threat_server.py", &["--set", "clean"]);
    format!(
        "servers:\n{servers}auth:\n  api_keys: {{ store_path: {keys}, hmac_secret: {{ type: file, path: {secret} }} }}\n{extra}",
        keys = yaml_str(&dir.join("keys.json").display().to_string()),
        secret = yaml_str(&dir.join("hmac.secret").display().to_string()),
    )
}

/// Starts a gateway with the sections `extra(dir)` and API keys for `names`.
async fn gateway(
    extra: impl FnOnce(&Path) -> String,
    names: &[&str],
) -> (GatewayProc, Vec<String>) {
    let keys = std::sync::Mutex::new(Vec::new());
    let gw = GatewayProc::start_prepared(
        |_, dir| {
            let extra = extra(dir);
            config(dir, &extra)
        },
        |config| {
            let mut k = keys.lock().unwrap();
            for name in names {
                k.push(create_api_key(config, name, "mcp_operator"));
            }
        },
    )
    .await;
    let keys = keys.into_inner().unwrap();
    (gw, keys)
}

async fn read_file(gw: &GatewayProc, key: &str, id: u32, path: &str) -> (u16, Value) {
    let (status, body) = modern_tool_call_as(
        &gw.mcp_url(),
        Some(key),
        json!(id),
        "w__read_file",
        json!({"path": path}),
    )
    .await;
    (status.as_u16(), body)
}

fn text(body: &Value) -> &str {
    body["result"]["content"][0]["text"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_bad_keys_block_the_address_even_for_a_valid_key() {
    let rules = "security_events:\n  authentication_failed: { threshold: 3, window_secs: 60, action: block_ip }\n";
    let (gw, keys) = gateway(|_| rules.to_owned(), &["alice"]).await;
    let alice = &keys[0];
    // Before any failure the valid key works.
    let (status, body) = read_file(&gw, alice, 1, "notes/today.md").await;
    assert_eq!(
        (status, text(&body)),
        (200, "contents of notes/today.md"),
        "{body}"
    );
    // Two failures: still under the threshold, the valid key still works.
    for id in 2..4 {
        let (status, _) = read_file(&gw, BAD_KEY, id, "notes/today.md").await;
        assert_eq!(status, 401);
    }
    let (status, body) = read_file(&gw, alice, 4, "notes/today.md").await;
    assert_eq!(status, 200, "{body}");
    // The third failure blocks 127.0.0.1.
    let (status, _) = read_file(&gw, BAD_KEY, 5, "notes/today.md").await;
    assert_eq!(status, 401);
    gw.wait_log("block_ip").await;
    let (status, body) = read_file(&gw, alice, 6, "notes/today.md").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], -32019, "{body}");
    let d = gw.wait_decision(|d| d["deny_code"] == "ip_blocked").await;
    assert_eq!(d["source_ip"], "127.0.0.1", "{d}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_traversal_blocks_its_principal_and_no_one_else() {
    // Seed defaults: `suspicious_pattern` has threshold 1 and `block_and_alert`.
    let sections = |dir: &Path| {
        let store = yaml_str(&dir.join("pins.db").display().to_string());
        format!("detect:\n  pinning: {{ store: {store} }}\nsecurity_events: {{}}\n")
    };
    let (gw, keys) = gateway(sections, &["mallory", "carol"]).await;
    let (mallory, carol) = (&keys[0], &keys[1]);
    // Before the attack both principals work.
    for (id, key) in [(1, mallory), (2, carol)] {
        let (status, body) = read_file(&gw, key, id, "notes/today.md").await;
        assert_eq!(
            (status, text(&body)),
            (200, "contents of notes/today.md"),
            "{body}"
        );
    }
    // The traversal is refused by the threat guard (a JSON-RPC error in a 200)…
    let (status, body) = read_file(&gw, mallory, 3, TRAVERSAL).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["error"]["code"], -32017, "{body}");
    // …and blocks the principal that sent it.
    gw.wait_log("block_and_alert").await;
    let (status, body) = read_file(&gw, mallory, 4, "notes/today.md").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], -32019, "{body}");
    let blocked = gw
        .wait_decision(|d| d["deny_code"] == "principal_blocked")
        .await;
    let attacker = gw
        .wait_decision(|d| d["deny_code"] == "threat_detected")
        .await;
    assert_eq!(blocked["principal"], attacker["principal"], "{blocked}");
    // Another principal from the same address keeps working.
    let (status, body) = read_file(&gw, carol, 5, "notes/today.md").await;
    assert_eq!(
        (status, text(&body)),
        (200, "contents of notes/today.md"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn security_events_lower_the_principals_trust_score_until_calls_are_refused() {
    // Traversals are only logged (no block), but each one counts against mallory's
    // reputation; with the score made of reputation alone and `deny_below: 0.65`, two of
    // them (0.8 − 2 × 0.1 = 0.6) are enough to refuse her harmless calls.
    let sections = |dir: &Path| {
        let store = yaml_str(&dir.join("pins.db").display().to_string());
        let trust = dir.join("trust.yaml");
        std::fs::write(
            &trust,
            "trust:\n  weights: { reputation: 1.0, device: 0.0, location: 0.0, behaviour: 0.0 }\n  deny_below: 0.65\n",
        )
        .unwrap();
        let default = sallyport_e2e::repo_root().join("policies/default.yaml");
        format!(
            "detect:\n  pinning: {{ store: {store} }}\nsecurity_events:\n  suspicious_pattern: {{ action: log }}\nauthz:\n  policy_files: [{}, {}]\n",
            yaml_str(&default.display().to_string()),
            yaml_str(&trust.display().to_string()),
        )
    };
    let (gw, keys) = gateway(sections, &["mallory", "carol"]).await;
    let (mallory, carol) = (&keys[0], &keys[1]);
    let (_, body) = read_file(&gw, mallory, 1, "notes/today.md").await;
    assert_eq!(text(&body), "contents of notes/today.md", "{body}");
    for id in [2, 3] {
        let (_, body) = read_file(&gw, mallory, id, TRAVERSAL).await;
        assert_eq!(body["error"]["code"], -32017, "{body}");
    }
    // The events reach the responder asynchronously: the refusal follows shortly.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut id = 10;
    loop {
        let (status, body) = read_file(&gw, mallory, id, "notes/today.md").await;
        if body["error"]["code"] == -32602 {
            assert_eq!(status, 200, "refused like an unknown tool: {body}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never refused: {body}"
        );
        id += 1;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let refused = gw
        .wait_decision(|d| {
            d["deny_code"] == "tool_not_allowed"
                && d["reason"].as_str().is_some_and(|r| r.contains("trust"))
        })
        .await;
    assert!(
        refused["reason"].as_str().unwrap().contains("[trust 0.60]"),
        "two violations: 0.8 - 2 x 0.1: {refused}"
    );
    // carol, with a clean record, still works.
    let (_, body) = read_file(&gw, carol, 50, "notes/today.md").await;
    assert_eq!(text(&body), "contents of notes/today.md", "{body}");
}
