//! No acknowledged exchange is lost: with the audit trail in `sync` mode, the gateway is
//! killed with SIGKILL under load; every call a client saw answered is in the store, and the
//! chain still verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sallyport_e2e::{GatewayProc, http_server, sallyport_bin};
use serde_json::{Value, json};

const CLIENTS: usize = 16;

async fn call(client: &reqwest::Client, url: &str, id: &str) -> Option<Value> {
    let body = json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":"notes__echo","arguments":{"text":id},
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}});
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "notes__echo")
        .body(body.to_string())
        .send()
        .await
        .ok()?;
    let text = resp.text().await.ok()?;
    let answer = sallyport_e2e::response_body(&text);
    answer["result"].is_object().then_some(answer)
}

/// One client: calls in a loop until stopped or the gateway dies; returns the ids answered.
async fn client_loop(url: String, n: usize, stop: Arc<AtomicBool>) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut answered = Vec::new();
    for i in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let id = format!("k{n}-{i}");
        match call(&client, &url, &id).await {
            Some(_) => answered.push(id),
            None => break,
        }
    }
    answered
}

fn audit_cli(args: &[&str], config: &Path) -> (bool, String) {
    let out = Command::new(sallyport_bin())
        .arg("audit")
        .args(args)
        .arg("-c")
        .arg(config)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_under_load_in_sync_mode_loses_no_answered_call() {
    let url = sallyport_demo::spawn_http().await.unwrap();
    let gw = GatewayProc::start_with(|_, dir| {
        format!(
            "servers:\n{}audit:\n  store: {{ type: sqlite, path: \"{d}/audit.db\" }}\n  signing_key: \"{d}/audit.pk8\"\n  public_key: \"{d}/audit.pub.pem\"\n  durability: {{ mode: sync }}\n  checkpoint: {{ every_events: 200, every_secs: 1 }}\n",
            http_server("notes", &url),
            d = dir.display()
        )
    })
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|n| tokio::spawn(client_loop(gw.mcp_url(), n, stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let killed = Command::new("kill")
        .args(["-9", &gw.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    stop.store(true, Ordering::Relaxed);
    let mut answered = Vec::new();
    for t in tasks {
        answered.extend(t.await.unwrap());
    }
    assert!(
        answered.len() >= 50,
        "too little load to mean anything: {} calls answered",
        answered.len()
    );

    let (ok, text) = audit_cli(&["export", "--format", "jsonl"], &gw.config);
    assert!(ok, "{text}");
    let responses: std::collections::HashSet<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"]["event_type"] == "mcp_response")
        .filter_map(|e| {
            e["event"]["request"]["jsonrpc_id"]
                .as_str()
                .map(str::to_owned)
        })
        // Decision records write the JSON-RPC id as JSON: a string id keeps its quotes.
        .map(|id| id.trim_matches('"').to_owned())
        .collect();
    let missing: Vec<&String> = answered
        .iter()
        .filter(|id| !responses.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} answered calls missing from the trail: {:?}",
        missing.len(),
        answered.len(),
        &missing[..missing.len().min(10)]
    );
    let (ok, report) = audit_cli(&["verify"], &gw.config);
    assert!(ok && report.starts_with("OK:"), "{report}");
    eprintln!("{} answered calls all audited; {report}", answered.len());
}
