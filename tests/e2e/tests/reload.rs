//! Hot reload: the config file changes while a client session is open.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use sallyport_e2e::{GatewayProc, http_server};
use serde_json::{Value, json};

struct RawSession {
    url: String,
    id: String,
    next: u64,
    http: reqwest::Client,
}

impl RawSession {
    async fn open(url: String) -> Self {
        let http = reqwest::Client::new();
        let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"reload-test","version":"1"}}});
        let resp = http
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(init.to_string())
            .send()
            .await
            .unwrap();
        let id = resp.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        Self {
            url,
            id,
            next: 1,
            http,
        }
    }

    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let body = json!({"jsonrpc":"2.0","id":self.next,"method":method,"params":params});
        let resp = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", &self.id)
            .header("mcp-protocol-version", "2025-11-25")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert!(
            resp.status().is_success(),
            "session must survive: {}",
            resp.status()
        );
        sallyport_e2e::response_body(&resp.text().await.unwrap())
    }

    async fn tool_names(&mut self) -> Vec<String> {
        let v = self.call("tools/list", json!({})).await;
        v["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_change_applies_to_a_live_session_and_a_bad_file_changes_nothing() {
    let url = sallyport_demo::spawn_http().await.unwrap();
    let servers = format!("servers:\n{}", http_server("notes", &url));
    let gw = GatewayProc::start(&servers).await;
    let mut session = RawSession::open(gw.mcp_url()).await;
    assert!(
        session
            .tool_names()
            .await
            .contains(&"notes__echo".to_owned())
    );

    // Deny `echo` in the file; the running gateway picks it up without a restart.
    let original = std::fs::read_to_string(&gw.config).unwrap();
    std::fs::write(
        &gw.config,
        format!("{original}    tools: {{ deny: [\"echo\"] }}\n"),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while session
        .tool_names()
        .await
        .contains(&"notes__echo".to_owned())
    {
        assert!(Instant::now() < deadline, "reload did not take effect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let denied = session
        .call(
            "tools/call",
            json!({"name":"notes__echo","arguments":{"text":"x"}}),
        )
        .await;
    assert_eq!(
        denied["error"]["code"], -32602,
        "hidden tool fails like an unknown one: {denied}"
    );
    let allowed = session
        .call(
            "tools/call",
            json!({"name":"notes__add","arguments":{"a":1,"b":2}}),
        )
        .await;
    assert_eq!(
        allowed["result"]["structuredContent"]["sum"], 3.0,
        "{allowed}"
    );

    // A broken file is refused: the previous config (with the deny) stays in force.
    std::fs::write(&gw.config, "servers: [ this is not valid\n").unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let names = session.tool_names().await;
    assert!(
        names.contains(&"notes__add".to_owned()) && !names.contains(&"notes__echo".to_owned()),
        "{names:?}"
    );

    // SIGHUP reloads too: restore the original file and signal.
    std::fs::write(&gw.config, &original).unwrap();
    let _ = std::process::Command::new("kill")
        .args(["-HUP", &gw.pid().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !session
        .tool_names()
        .await
        .contains(&"notes__echo".to_owned())
    {
        assert!(
            Instant::now() < deadline,
            "reload after restore did not take effect"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn editing_a_cedar_file_the_config_names_reloads_the_policy() {
    let url = sallyport_demo::spawn_http().await.unwrap();
    let gw = GatewayProc::start_with(|_, dir| {
        std::fs::write(dir.join("extra.cedar"), "// nothing forbidden yet\n").unwrap();
        std::fs::write(dir.join("policy.yaml"), "cedar: { files: [extra.cedar] }\n").unwrap();
        format!(
            "servers:\n{}authz:\n  policy_files: [\"{}\", \"{}\"]\n",
            http_server("notes", &url),
            sallyport_e2e::repo_root()
                .join("policies/default.yaml")
                .display(),
            dir.join("policy.yaml").display()
        )
    })
    .await;
    let mut session = RawSession::open(gw.mcp_url()).await;
    assert!(
        session
            .tool_names()
            .await
            .contains(&"notes__echo".to_owned())
    );

    // Only the Cedar file changes, not the config: the gateway still picks it up.
    let cedar = gw.config.with_file_name("extra.cedar");
    std::fs::write(
        &cedar,
        "@id(\"no-echo\") forbid (principal, action, resource == Tool::\"notes/echo\");\n",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while session
        .tool_names()
        .await
        .contains(&"notes__echo".to_owned())
    {
        assert!(
            Instant::now() < deadline,
            "a Cedar file change did not reload the policy"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let denied = session
        .call(
            "tools/call",
            json!({"name":"notes__echo","arguments":{"text":"x"}}),
        )
        .await;
    assert_eq!(denied["error"]["code"], -32602, "{denied}");
}

/// Sections read once at start (`admin`, `tracing`) are not silently ignored by a reload:
/// the gateway says they take effect at the next restart, and keeps serving.
#[tokio::test(flavor = "multi_thread")]
async fn a_reload_names_the_sections_that_need_a_restart() {
    let gw = GatewayProc::start(&format!(
        "servers:\n{}",
        sallyport_e2e::demo_stdio_server("demo")
    ))
    .await;
    let original = std::fs::read_to_string(&gw.config).unwrap();
    let port = sallyport_e2e::free_port();
    std::fs::write(
        &gw.config,
        format!(
            "{original}tracing:\n  otlp_endpoint: \"http://127.0.0.1:{port}/v1/traces\"\n{}",
            sallyport_e2e::admin::admin_yaml(sallyport_e2e::free_port())
        ),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let logs = gw.logs();
        if logs.contains("The tracing section changed; it takes effect at the next restart.")
            && logs.contains("The admin section changed; it takes effect at the next restart.")
        {
            break;
        }
        assert!(Instant::now() < deadline, "no restart warning:\n{logs}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let health = reqwest::get(format!("{}/healthz", gw.base)).await.unwrap();
    assert_eq!(health.status(), 200);
}
