//! The audit trail, end to end: calls through the real gateway become hash-chained audit
//! events; `sallyport audit verify` proves them intact, and names the seq of a tampered row;
//! the same on the PostgreSQL store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use sallyport_e2e::{GatewayProc, http_server, sallyport_bin};
use serde_json::{Value, json};

const PG: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

/// The `audit:` section: keys in `dir`, the given store, sync durability.
fn audit_yaml(dir: &Path, store: &str) -> String {
    format!(
        "audit:\n  store: {store}\n  signing_key: \"{d}/audit.pk8\"\n  public_key: \"{d}/audit.pub.pem\"\n  durability: {{ mode: sync }}\n  checkpoint: {{ every_events: 10, every_secs: 1 }}\n",
        d = dir.display()
    )
}

async fn gateway(store: impl FnOnce(&Path) -> String) -> GatewayProc {
    let url = sallyport_demo::spawn_http().await.unwrap();
    GatewayProc::start_with(|_, dir| {
        format!(
            "servers:\n{}{}",
            http_server("notes", &url),
            audit_yaml(dir, &store(dir))
        )
    })
    .await
}

/// A stateless (2026-07-28) `tools/call` of `notes__echo`; returns the JSON-RPC answer.
async fn echo(gw: &GatewayProc, id: &str, text: &str) -> Value {
    sallyport_e2e::modern_tool_call(
        &gw.mcp_url(),
        json!(id),
        "notes__echo",
        json!({"text": text}),
    )
    .await
    .1
}

/// Runs `sallyport audit <args>`; returns (success, stdout).
fn audit_cli(args: &[&str], config: &Path) -> (bool, String) {
    let out = Command::new(sallyport_bin())
        .arg("audit")
        .args(args)
        .arg("-c")
        .arg(config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.success(), format!("{stdout}{stderr}"))
}

/// Every stored event, via `sallyport audit export --format jsonl`.
fn exported(config: &Path) -> Vec<Value> {
    let (ok, text) = audit_cli(&["export", "--format", "jsonl"], config);
    assert!(ok && text.starts_with("{\"seq\""), "{text}");
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect()
}

/// Calls, then checks the trail holds them (digest, not arguments) and verifies.
async fn calls_are_audited_and_verify(gw: &GatewayProc) -> Vec<Value> {
    for i in 0..5 {
        let answer = echo(gw, &format!("call-{i}"), &format!("secret text {i}")).await;
        assert!(answer["result"].is_object(), "{answer}");
    }
    let entries = exported(&gw.config);
    let events: Vec<&Value> = entries.iter().map(|e| &e["event"]).collect();
    // Sync mode: every answered call's request and response are already committed.
    for i in 0..5 {
        let id = format!("call-{i}");
        let mine: Vec<&&Value> = events
            .iter()
            .filter(|e| e["request"]["jsonrpc_id"] == json!(id).to_string().as_str())
            .collect();
        assert!(
            mine.iter().any(|e| e["event_type"] == "mcp_request"
                && e["resource"] == "mcp://notes/echo"
                && e["request"]["arguments_sha256"].is_string()),
            "{id}: {mine:#?}"
        );
        assert!(
            mine.iter()
                .any(|e| e["event_type"] == "mcp_response" && e["outcome"] == "allow"),
            "{id}: {mine:#?}"
        );
    }
    let all = serde_json::to_string(&entries).unwrap();
    assert!(!all.contains("secret text"), "arguments are never stored");
    let (ok, report) = audit_cli(&["verify"], &gw.config);
    assert!(ok && report.starts_with("OK:"), "{report}");
    entries
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_trail_records_calls_verifies_and_names_an_edited_row() {
    let gw = gateway(|dir| {
        format!(
            "{{ type: sqlite, path: \"{}\" }}",
            dir.join("audit.db").display()
        )
    })
    .await;
    let entries = calls_are_audited_and_verify(&gw).await;
    // Refusals are audited too: an unknown tool is refused by the router.
    let refused = echo_unknown(&gw).await;
    assert!(refused["error"].is_object(), "{refused}");
    // Tamper: rewrite the body of one committed event.
    let victim = entries[entries.len() / 2]["seq"].as_u64().unwrap();
    let db = gw.config.parent().unwrap().join("audit.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let changed = conn
        .execute(
            "UPDATE audit_events SET body = replace(body, '\"outcome\":\"allow\"', '\"outcome\":\"deny\"') WHERE seq = ?1",
            [victim as i64],
        )
        .unwrap();
    assert_eq!(changed, 1);
    let (ok, report) = audit_cli(&["verify"], &gw.config);
    assert!(!ok, "verify must fail after tampering: {report}");
    assert!(
        report.contains(&format!("BROKEN at seq {victim} (edited)")),
        "{report}"
    );
}

async fn echo_unknown(gw: &GatewayProc) -> Value {
    let body = json!({"jsonrpc":"2.0","id":"unknown-1","method":"tools/call","params":{"name":"notes__nope","arguments":{},
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}});
    let resp = reqwest::Client::new()
        .post(gw.mcp_url())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "notes__nope")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let answer = sallyport_e2e::response_body(&resp.text().await.unwrap());
    let events = exported(&gw.config);
    assert!(
        events
            .iter()
            .any(|e| e["event"]["request"]["jsonrpc_id"] == "\"unknown-1\""
                && e["event"]["outcome"] == "deny"),
        "the refusal is in the trail"
    );
    answer
}

/// A PostgreSQL schema of its own, dropped when the test ends.
struct PgSchema(String);

impl Drop for PgSchema {
    fn drop(&mut self) {
        let schema = self.0.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(pg_exec(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")));
        })
        .join();
    }
}

async fn pg_exec(sql: &str) -> u64 {
    let (client, conn) = tokio_postgres::connect(PG, tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL at 127.0.0.1:5432 (database test)");
    tokio::spawn(conn);
    client.execute(sql, &[]).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_trail_records_calls_verifies_and_names_an_edited_row() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let schema = PgSchema(format!("e2e_audit_{}_{nanos}", std::process::id()));
    let name = schema.0.clone();
    let gw = gateway(|_| {
        format!("{{ type: postgres, connection: \"{PG}\", schema: {name}, chain: gw1 }}")
    })
    .await;
    let entries = calls_are_audited_and_verify(&gw).await;
    let victim = entries[entries.len() / 2]["seq"].as_u64().unwrap();
    let changed = pg_exec(&format!(
        "UPDATE {name}.gw1_events SET body = replace(body, '\"outcome\":\"allow\"', '\"outcome\":\"deny\"') WHERE seq = {victim}"
    ))
    .await;
    assert_eq!(changed, 1);
    let (ok, report) = audit_cli(&["verify"], &gw.config);
    assert!(!ok, "verify must fail after tampering: {report}");
    assert!(
        report.contains(&format!("BROKEN at seq {victim} (edited)")),
        "{report}"
    );
    drop(gw);
    drop(schema);
}
