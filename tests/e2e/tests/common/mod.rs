//! Shared by the peer tests: an rmcp (Rust SDK) client that records what the gateway sends
//! it, child-process peers (npm and Python servers) that die with the test, and config
//! snippets for them.
#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(
    deprecated,
    reason = "sampling and roots are deprecated by SEP-2577 but still relayed"
)]
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rmcp::{
    ClientHandler, ClientLifecycleMode, ClientServiceExt, ErrorData as McpError, RoleClient,
    model::{
        CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig,
        CreateMessageRequestParams, CreateMessageResult, ElicitRequestParams, ElicitResult,
        ElicitationAction, Implementation, JsonObject, ListRootsResult, ProgressNotificationParam,
        ProtocolVersion, Root, SamplingMessage,
    },
    service::{NotificationContext, RequestContext, RunningService, ServiceError},
    transport::StreamableHttpClientTransport,
};
use sallyport_e2e::repo_root;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

/// How long any single wait may take before it counts as a hang.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The protocol era a client speaks to the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// `initialize` handshake, 2025-11-25, an `Mcp-Session-Id` session.
    Legacy,
    /// `server/discover` and per-request `_meta`, 2026-07-28, stateless.
    Modern,
}

impl Era {
    pub const BOTH: [Era; 2] = [Era::Legacy, Era::Modern];

    fn lifecycle(self) -> ClientLifecycleMode {
        match self {
            Self::Legacy => ClientLifecycleMode::Initialize,
            Self::Modern => ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        }
    }

    pub fn version(self) -> ProtocolVersion {
        match self {
            Self::Legacy => ProtocolVersion::V_2025_11_25,
            Self::Modern => ProtocolVersion::V_2026_07_28,
        }
    }

    /// The `era` the gateway writes in its decision records for this client.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Legacy => "legacy",
            Self::Modern => "modern",
        }
    }
}

/// Something the gateway sent the client outside a response.
#[derive(Debug, Clone)]
pub enum Event {
    Progress(ProgressNotificationParam),
    ToolListChanged,
    /// A server→client request the client answered: `sampling`, `elicitation` or `roots`.
    Answered(&'static str),
}

/// An rmcp client that declares sampling, elicitation and roots (or nothing), answers them
/// deterministically and forwards every notification it gets to a channel.
#[derive(Clone)]
pub struct TestClient {
    capabilities: ClientCapabilities,
    events: mpsc::UnboundedSender<Event>,
}

/// The model name the client reports for sampling.
pub const MODEL: &str = "rmcp-e2e-model";
/// The root the client reports.
pub const ROOT: &str = "file:///tmp/sallyport-rmcp-root";

impl TestClient {
    /// A client with sampling, elicitation and roots.
    pub fn capable() -> (Self, mpsc::UnboundedReceiver<Event>) {
        Self::with(
            ClientCapabilities::builder()
                .enable_sampling()
                .enable_elicitation()
                .enable_roots()
                .build(),
        )
    }

    /// A client that declares no capabilities.
    pub fn bare() -> (Self, mpsc::UnboundedReceiver<Event>) {
        Self::with(ClientCapabilities::default())
    }

    fn with(capabilities: ClientCapabilities) -> (Self, mpsc::UnboundedReceiver<Event>) {
        let (events, rx) = mpsc::unbounded_channel();
        (
            Self {
                capabilities,
                events,
            },
            rx,
        )
    }
}

impl ClientHandler for TestClient {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            self.capabilities.clone(),
            Implementation::new("sallyport-e2e-rmcp", "0.0.0"),
        )
    }

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, McpError> {
        let question: Vec<String> = params
            .messages
            .iter()
            .flat_map(|m| m.content.iter())
            .filter_map(|b| b.as_text())
            .map(|t| t.text.clone())
            .collect();
        let _ = self.events.send(Event::Answered("sampling"));
        Ok(CreateMessageResult::new(
            SamplingMessage::assistant_text(format!("rmcp answer to: {}", question.join(" "))),
            MODEL.to_owned(),
        ))
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, McpError> {
        let _ = self.events.send(Event::Answered("elicitation"));
        match request {
            ElicitRequestParams::FormElicitationParams { .. } => {
                Ok(ElicitResult::new(ElicitationAction::Accept)
                    .with_content(json!({ "confirmed": true })))
            }
            _ => Ok(ElicitResult::new(ElicitationAction::Decline)),
        }
    }

    async fn list_roots(
        &self,
        _context: RequestContext<RoleClient>,
    ) -> Result<ListRootsResult, McpError> {
        let _ = self.events.send(Event::Answered("roots"));
        Ok(ListRootsResult::new(vec![Root::new(ROOT)]))
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let _ = self.events.send(Event::Progress(params));
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        let _ = self.events.send(Event::ToolListChanged);
    }
}

pub type Client = RunningService<RoleClient, TestClient>;

/// Connects `handler` to the gateway's Streamable HTTP endpoint in `era` and checks the
/// negotiated version.
pub async fn connect(handler: TestClient, url: &str, era: Era) -> Client {
    let transport = StreamableHttpClientTransport::from_uri(url.to_owned());
    let Ok(connected) = tokio::time::timeout(
        PATIENCE,
        handler.serve_with_lifecycle(transport, era.lifecycle()),
    )
    .await
    else {
        panic!("{era:?}: connecting to {url} timed out");
    };
    let client = connected.unwrap_or_else(|e| panic!("{era:?}: connecting to {url} failed: {e}"));
    let negotiated = client
        .peer_info()
        .expect("no server info after connecting")
        .protocol_version
        .clone();
    assert_eq!(negotiated, era.version(), "{era:?}: negotiated version");
    client
}

/// A JSON object for tool arguments.
pub fn args(value: Value) -> JsonObject {
    match value {
        Value::Object(o) => o,
        other => panic!("arguments must be an object, got {other}"),
    }
}

/// Calls `tool` and returns the result or the error, bounded by [`PATIENCE`].
pub async fn try_call(
    client: &Client,
    tool: &str,
    arguments: Value,
) -> anyhow::Result<CallToolResult> {
    let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(args(arguments));
    let result = tokio::time::timeout(PATIENCE, client.call_tool(params))
        .await
        .with_context(|| format!("{tool} timed out"))?;
    Ok(result?)
}

/// Calls `tool` and panics unless it answered without `isError`.
pub async fn call(client: &Client, tool: &str, arguments: Value) -> CallToolResult {
    let result = try_call(client, tool, arguments)
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e:#}"));
    assert_ne!(
        result.is_error,
        Some(true),
        "{tool} returned isError: {}",
        text(&result)
    );
    result
}

/// The concatenated text content of a tool result.
pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|b| b.as_text())
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The JSON-RPC error code inside an rmcp error, if it is one.
pub fn rpc_code(error: &anyhow::Error) -> Option<i32> {
    match error.downcast_ref::<ServiceError>()? {
        ServiceError::McpError(e) => Some(e.code.0),
        _ => None,
    }
}

/// Waits for the next event matching `pred`, skipping others.
pub async fn next_event(
    events: &mut mpsc::UnboundedReceiver<Event>,
    what: &str,
    pred: impl Fn(&Event) -> bool,
) -> Event {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.recv()).await {
            Ok(Some(e)) if pred(&e) => return e,
            Ok(Some(_)) => {}
            Ok(None) => panic!("client closed while waiting for {what}"),
            Err(_) => panic!("no {what} within {PATIENCE:?}"),
        }
    }
}

/// Polls `probe` until it returns `Some`, for at most [`PATIENCE`].
pub async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A child process (a peer server) killed when the test ends.
pub struct Peer {
    child: tokio::process::Child,
    /// Its URL, when it serves HTTP.
    pub url: String,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    let p = repo_root().join("tests/fixtures").join(name);
    assert!(p.exists(), "fixture {} missing", p.display());
    p
}

/// `.venv/bin/<name>` (console scripts of the test venv, e.g. `mcp-server-time`).
pub fn venv_bin(name: &str) -> PathBuf {
    let p = repo_root().join(".venv/bin").join(name);
    assert!(
        p.exists(),
        "{} missing: run `bash scripts/setup-test-env.sh` first",
        p.display()
    );
    p
}

/// Starts a Python fixture that prints `READY <url>` once it listens, and waits for that line.
pub async fn python_http_fixture(script: &str, extra: &[&str]) -> Peer {
    let mut cmd = tokio::process::Command::new(sallyport_e2e::python());
    cmd.arg(fixture(script)).args(["--port", "0"]).args(extra);
    let mut child = cmd
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(PATIENCE, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("READY ") {
                return Some(url.trim().to_owned());
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_else(|| panic!("{script} did not print READY within {PATIENCE:?}"));
    // Keep draining stdout so the fixture never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Peer { child, url }
}

/// Starts npm `server-everything` over Streamable HTTP on a free port (it reads `PORT`) and
/// waits until it accepts connections.
pub async fn everything_http() -> Peer {
    let port = sallyport_e2e::free_port();
    let child = tokio::process::Command::new(sallyport_e2e::node_bin("mcp-server-everything"))
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}");
    wait_for("server-everything to listen", || {
        let addr = addr.clone();
        async move { tokio::net::TcpStream::connect(&addr).await.ok().map(|_| ()) }
    })
    .await;
    Peer {
        child,
        url: format!("http://{addr}/mcp"),
    }
}

/// YAML for a stdio upstream running `command args…` (each quoted as a YAML string).
pub fn stdio_server(name: &str, command: &Path, args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|a| yaml_str(a)).collect();
    format!(
        "  - name: {name}\n    stdio: {{ command: {}, args: [{}] }}\n",
        yaml_str(&command.display().to_string()),
        args.join(", ")
    )
}

/// YAML for a Python fixture (from `tests/fixtures`) as a stdio upstream.
pub fn python_stdio_server(name: &str, script: &str, args: &[&str]) -> String {
    let script = fixture(script).display().to_string();
    let mut all = vec![script.as_str()];
    all.extend_from_slice(args);
    stdio_server(name, &sallyport_e2e::python(), &all)
}

/// A double-quoted YAML string (JSON string syntax is valid YAML).
pub fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// A gateway in front of `servers` (YAML list items), with `detect` on and its pins in the
/// SQLite file `store` when given, or without detection.
pub async fn pinning_gateway(servers: &str, store: Option<&Path>) -> sallyport_e2e::GatewayProc {
    let section = store.map_or_else(String::new, |s| {
        format!(
            "detect:\n  pinning: {{ store: {} }}\n",
            yaml_str(&s.display().to_string())
        )
    });
    sallyport_e2e::GatewayProc::start(&format!("servers:\n{servers}{section}")).await
}

/// The gateway's `/readyz` document (each upstream's era, as the gateway detected it).
pub async fn readyz(base: &str) -> Value {
    let resp = reqwest::get(format!("{base}/readyz")).await.unwrap();
    resp.json().await.unwrap()
}

/// Fails with a readable message when `names` lacks any of `expected`.
pub fn assert_has(names: &[String], expected: &[&str], context: &str) {
    let missing: Vec<&&str> = expected
        .iter()
        .filter(|e| !names.iter().any(|n| n == **e))
        .collect();
    assert!(
        missing.is_empty(),
        "{context}: missing {missing:?} in {names:?}"
    );
}

/// A text content's JSON payload (fixtures answer JSON as text).
pub fn text_json(result: &CallToolResult) -> Value {
    let t = text(result);
    serde_json::from_str(&t).unwrap_or_else(|e| panic!("not JSON ({e}): {t}"))
}

/// Runs `tests/node/ts_client.mjs` (the TypeScript SDK v1 client, legacy era) with `args`.
pub async fn ts_client(args: &[&str]) -> sallyport_e2e::ClientRun {
    let script = repo_root().join("tests/node/ts_client.mjs");
    let out = tokio::process::Command::new(sallyport_e2e::node_bin("node"))
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(Value::String(stdout));
    sallyport_e2e::ClientRun {
        code: out.status.code().unwrap_or(-1),
        json,
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    }
}
