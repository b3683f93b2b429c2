//! The security state beyond one process: blocks and quarantines made on one replica are
//! enforced by another through the real Redis on 127.0.0.1:6379 and by a replica started
//! later; a SQLite-kept block outlives a restart; and the response sections reload without
//! a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use sallyport_e2e::admin::{ADMIN_TOKEN, AdminClient, admin_yaml};
use sallyport_e2e::redis::RedisProc;
use sallyport_e2e::{GatewayProc, demo_stdio_server, free_port, modern_tool_call};
use serde_json::{Value, json};

/// A gateway with the demo server `d`, an admin listener, and `extra` sections.
async fn replica(extra: &str) -> (GatewayProc, AdminClient) {
    let port = free_port();
    let extra = extra.to_owned();
    let gw = GatewayProc::start_with(move |_, _| {
        format!(
            "servers:\n{}{}{extra}",
            demo_stdio_server("d"),
            admin_yaml(port)
        )
    })
    .await;
    let admin = AdminClient::new(port, Some(ADMIN_TOKEN));
    admin.wait_ready().await;
    (gw, admin)
}

/// Quarantines through the admin API.
async fn quarantine(admin: &AdminClient, body: Value) {
    admin.post("/admin/quarantines", &body).await.expect(201);
}

fn redis_section(prefix: &str) -> String {
    format!(
        "security_state:\n  redis: {{ url: \"redis://127.0.0.1:6379\", key_prefix: \"{prefix}\" }}\n"
    )
}

async fn echo(gw: &GatewayProc) -> (u16, Value) {
    let (status, body) =
        modern_tool_call(&gw.mcp_url(), json!(1), "d__echo", json!({"message": "hi"})).await;
    (status.as_u16(), body)
}

fn quarantined(body: &Value) -> bool {
    body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("quarantined"))
}

/// Waits up to five seconds for `echo` on `gw` to answer as `check` wants.
async fn until_echo(gw: &GatewayProc, what: &str, check: impl Fn(u16, &Value) -> bool) {
    let start = Instant::now();
    loop {
        let (status, body) = echo(gw).await;
        if check(status, &body) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{what}: still {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_enforce_each_others_quarantines_and_blocks_through_redis() {
    let prefix = format!("sallyport-e2e:{}:{}", std::process::id(), free_port());
    let shared = redis_section(&prefix);
    let (a, admin_a) = replica(&shared).await;
    let (b, admin_b) = replica(&shared).await;
    // The attack this closes: a replica without the shared store ignores the quarantine.
    let (alone, _) = replica("").await;
    assert_eq!(echo(&b).await.0, 200);

    quarantine(&admin_a, json!({"server": "d", "reason": "incident 7"})).await;
    until_echo(&b, "b refuses the quarantined server", |_, body| {
        quarantined(body)
    })
    .await;
    let (status, body) = echo(&alone).await;
    assert!(status == 200 && !quarantined(&body), "{body}");
    let listed = admin_b.get("/admin/quarantines").await.expect(200);
    assert_eq!(listed[0]["server"], "d", "{listed}");

    // Lifting it on b lifts it on a.
    admin_b
        .delete("/admin/quarantines?server=d")
        .await
        .expect(204);
    until_echo(&a, "a serves again", |s, body| {
        s == 200 && !quarantined(body)
    })
    .await;

    // An address blocked on b is refused at a's edge.
    admin_b
        .post(
            "/admin/blocks",
            &json!({"ip": "127.0.0.1", "reason": "scan"}),
        )
        .await
        .expect(201);
    until_echo(&a, "a refuses the blocked address", |s, _| s == 403).await;

    // A replica started now enforces it from its first request.
    let (c, admin_c) = replica(&shared).await;
    assert_eq!(echo(&c).await.0, 403);
    admin_c
        .delete("/admin/blocks/ip/127.0.0.1")
        .await
        .expect(204);
    until_echo(&a, "a lifts the block lifted on c", |s, _| s == 200).await;
    until_echo(&b, "b lifts it too", |s, _| s == 200).await;
    drop((a, b, c, alone));
    let client = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(format!("{prefix}:entries"))
        .arg(format!("{prefix}:epoch"))
        .query_async(&mut conn)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_that_restarts_empty_gets_the_fleets_state_back() {
    let mut redis = RedisProc::start_on(free_port()).await;
    let shared = format!(
        "security_state:\n  redis: {{ url: \"{}\", key_prefix: \"fleet\" }}\n",
        redis.url()
    );
    let (a, admin_a) = replica(&shared).await;
    let (b, admin_b) = replica(&shared).await;
    quarantine(&admin_a, json!({"server": "d", "tool": "echo"})).await;
    until_echo(&b, "b has a's quarantine", |_, body| quarantined(body)).await;

    // Redis dies and comes back empty (no persistence); meanwhile a quarantines the whole
    // server, which cannot reach Redis yet.
    let port = redis.port;
    redis.kill();
    quarantine(&admin_a, json!({"server": "d", "reason": "while away"})).await;
    let _back = RedisProc::start_on(port).await;
    // Both replicas reconnect; a writes back what Redis lost and what it kept meanwhile.
    let start = Instant::now();
    loop {
        let listed = admin_b.get("/admin/quarantines").await.expect(200);
        if listed.as_array().is_some_and(|l| l.len() == 2) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "b did not get both quarantines back: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(quarantined(&echo(&b).await.1));
    drop(a);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quarantine_kept_in_sqlite_outlives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let section = format!(
        "security_state:\n  path: \"{}\"\n",
        dir.path().join("state.db").display()
    );
    let (gw, admin) = replica(&section).await;
    quarantine(&admin, json!({"server": "d", "tool": "echo"})).await;
    assert!(quarantined(&echo(&gw).await.1));
    drop(gw);
    let (again, _) = replica(&section).await;
    assert!(
        quarantined(&echo(&again).await.1),
        "kept across the restart"
    );
    drop(again);
    // Without the section, a restart forgets it (the default, as documented).
    let (memory, admin) = replica("").await;
    quarantine(&admin, json!({"server": "d", "tool": "echo"})).await;
    drop(memory);
    let (fresh, _) = replica("").await;
    assert_eq!(echo(&fresh).await.0, 200);
}

/// `auth.api_keys` with a key for `alice`; `security_events` as given.
fn keyed_config(dir: &Path, events: &str) -> String {
    let secret = dir.join("hmac.secret");
    std::fs::write(&secret, "0123456789abcdef0123456789abcdef-test-secret\n").unwrap();
    format!(
        "servers:\n{}auth:\n  api_keys: {{ store_path: \"{}\", hmac_secret: {{ type: file, path: \"{}\" }} }}\n{events}",
        demo_stdio_server("d"),
        dir.join("keys.json").display(),
        secret.display()
    )
}

async fn echo_with(gw: &GatewayProc, key: &str) -> u16 {
    let (status, _) = sallyport_e2e::modern_tool_call_as(
        &gw.mcp_url(),
        Some(key),
        json!(1),
        "d__echo",
        json!({"message": "hi"}),
    )
    .await;
    status.as_u16()
}

const BAD: &str = "sp_deadbeef_notarealkeynotarealkeynotarealkey00";

/// After the reload: three wrong keys, then the valid `key` is refused at the edge (403)
/// within five seconds.
async fn three_guesses_then_blocked(gw: &GatewayProc, key: &str, what: &str) {
    gw.wait_log("Configuration reloaded.").await;
    for _ in 0..3 {
        assert_eq!(echo_with(gw, BAD).await, 401);
    }
    let start = Instant::now();
    while echo_with(gw, key).await != 403 {
        assert!(start.elapsed() < Duration::from_secs(5), "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn security_events_take_effect_on_reload_without_a_restart() {
    let key = std::sync::Mutex::new(String::new());
    let gw = GatewayProc::start_prepared(
        |_, dir| keyed_config(dir, ""),
        |config| {
            *key.lock().unwrap() = sallyport_e2e::create_api_key(config, "alice", "mcp_operator");
        },
    )
    .await;
    let key = key.into_inner().unwrap();
    // Without the section, guessing keys costs nothing.
    for _ in 0..4 {
        assert_eq!(echo_with(&gw, BAD).await, 401);
    }
    assert_eq!(echo_with(&gw, &key).await, 200);

    let dir = gw.config.parent().unwrap().to_owned();
    let rules = "security_events:\n  authentication_failed: { threshold: 3, window_secs: 60, action: block_ip }\n";
    std::fs::write(&gw.config, keyed_config(&dir, rules)).unwrap();
    three_guesses_then_blocked(&gw, &key, "not blocked after reload").await;
}

/// A correlation rules file whose one rule blocks an address after `count` failed logins.
fn guessing_rule(count: u32) -> String {
    format!(
        "rules:\n  - id: key_guessing\n    title: Key guessing\n    severity: high\n    window_secs: 60\n    group_by: [source_ip]\n    condition: {{ type: threshold, match: {{ kind: authentication_failed }}, count: {count} }}\n    actions: [ {{ type: block_ip, duration_secs: 600 }} ]\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edited_correlation_rules_file_takes_effect_without_a_restart() {
    let key = std::sync::Mutex::new(String::new());
    let rules = std::sync::Mutex::new(std::path::PathBuf::new());
    let gw = GatewayProc::start_prepared(
        |_, dir| {
            let path = dir.join("rules.yaml");
            std::fs::write(&path, guessing_rule(1000)).unwrap();
            let section = format!(
                "correlation:\n  include_default_rules: false\n  rules_file: \"{}\"\n",
                path.display()
            );
            *rules.lock().unwrap() = path;
            keyed_config(dir, &section)
        },
        |config| {
            *key.lock().unwrap() = sallyport_e2e::create_api_key(config, "alice", "mcp_operator");
        },
    )
    .await;
    let (key, rules) = (key.into_inner().unwrap(), rules.into_inner().unwrap());
    // At 1,000 failures the rule lets a few guesses through.
    for _ in 0..3 {
        assert_eq!(echo_with(&gw, BAD).await, 401);
    }
    assert_eq!(echo_with(&gw, &key).await, 200);

    // Only the rules file changes; the watcher reloads it.
    std::fs::write(&rules, guessing_rule(3)).unwrap();
    three_guesses_then_blocked(&gw, &key, "the edited rule did not block the address").await;
}

#[test]
fn check_says_where_the_security_state_is_kept_without_the_redis_password() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sallyport.yaml");
    let check = |extra: &str| {
        std::fs::write(
            &config,
            format!("servers:\n{}{extra}", demo_stdio_server("d")),
        )
        .unwrap();
        let out = std::process::Command::new(sallyport_e2e::sallyport_bin())
            .args(["check", "-c"])
            .arg(&config)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shared = check(
        "security_state:\n  redis: { url: \"redis://:hunter2@127.0.0.1:6379\", key_prefix: fleet }\n",
    );
    assert!(
        shared.contains("✓ security state: Redis, key prefix fleet"),
        "{shared}"
    );
    assert!(!shared.contains("hunter2"), "{shared}");
    let memory = check("security_events: {}\n");
    assert!(memory.contains("! security state: memory only"), "{memory}");
}
