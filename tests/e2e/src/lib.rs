//! Test harness: start the real `sallyport` binary with a config, and drive it with real MCP
//! clients (the official Python SDK, the TypeScript SDK, rmcp) or raw HTTP.
//!
//! Tools the suite needs (Python venv, npm packages) are installed by
//! `scripts/setup-test-env.sh`; a missing tool is a test failure with a message saying so,
//! never a skip.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod admin;
pub mod jwt;
pub mod pki;
pub mod redis;

/// The environment variable every test gateway gets [`TEST_WEBHOOK_SECRET`] in, for
/// `notifications.sinks[].secret_env`.
pub const TEST_WEBHOOK_SECRET_ENV: &str = "SALLYPORT_TEST_WEBHOOK_SECRET";
/// The webhook HMAC secret of test gateways.
pub const TEST_WEBHOOK_SECRET: &str = "test-webhook-secret-0123456789abcdef";

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The `sallyport` binary built next to this test.
pub fn sallyport_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap();
    let dir = if dir.ends_with("deps") {
        dir.parent().unwrap()
    } else {
        dir
    };
    let bin = dir.join("sallyport");
    assert!(
        bin.exists(),
        "{} not found: build it with `cargo build -p sallyport` (cargo test --workspace does)",
        bin.display()
    );
    bin
}

/// The Python interpreter of the test venv.
pub fn python() -> PathBuf {
    let p = repo_root().join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} missing: run `bash scripts/setup-test-env.sh` first",
        p.display()
    );
    p
}

/// The JSON lines of `path` so far (an access log); unreadable lines are skipped.
pub fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Waits up to 10 s for a line of `path` matching `pred` and returns it; the access log is
/// written a few milliseconds behind the answers it records.
pub async fn wait_jsonl(path: &Path, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(d) = read_jsonl(path).into_iter().find(|d| pred(d)) {
            return d;
        }
        assert!(
            Instant::now() < deadline,
            "no matching line in {}: {:?}",
            path.display(),
            read_jsonl(path)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `tests/node/node_modules/.bin/<name>`.
pub fn node_bin(name: &str) -> PathBuf {
    let p = repo_root().join("tests/node/node_modules/.bin").join(name);
    assert!(
        p.exists(),
        "{} missing: run `bash scripts/setup-test-env.sh` first",
        p.display()
    );
    p
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Writes the `listen.tls` mapping (and the files it names) into the gateway's directory.
type TlsYaml<'a> = Box<dyn FnOnce(&Path) -> String + 'a>;

/// How a gateway is launched: plain HTTP, or TLS with the `listen.tls` mapping.
struct Launch<'a> {
    tls: Option<TlsYaml<'a>>,
    probe: reqwest::Client,
}

/// A running `sallyport serve`.
pub struct GatewayProc {
    child: Child,
    /// `http://127.0.0.1:PORT` (`https://` on a TLS listener)
    pub base: String,
    /// Its config file.
    pub config: PathBuf,
    /// Its JSON access log.
    pub access_log: PathBuf,
    _dir: tempfile::TempDir,
}

impl GatewayProc {
    /// Starts the gateway with `servers_yaml` (the `servers:` list and any other top-level
    /// sections, without `listen`), and waits until `/healthz` answers.
    pub async fn start(servers_yaml: &str) -> Self {
        Self::start_with(|_, _| servers_yaml.to_owned()).await
    }

    /// Like `start`, with the rest of the config written by `make(port, dir)` — for configs
    /// that must name the gateway's own URL or files in its directory. Runs `prepare(config)`
    /// (e.g. `sallyport keys create`) before the gateway starts.
    pub async fn start_with(make: impl FnOnce(u16, &Path) -> String) -> Self {
        Self::start_prepared(make, |_| ()).await
    }

    /// `start_with`, plus a step that runs on the written config before the gateway starts.
    pub async fn start_prepared(
        make: impl FnOnce(u16, &Path) -> String,
        prepare: impl FnOnce(&Path),
    ) -> Self {
        let launch = Launch {
            tls: None,
            probe: reqwest::Client::new(),
        };
        Self::launch(launch, make, prepare).await
    }

    /// Starts the gateway on a TLS listener: `tls_yaml(dir)` is the `listen.tls` mapping
    /// (files it names may be written into `dir`), `probe` a client that can reach
    /// `/healthz` over that listener (trusting its CA, with a client certificate when one
    /// is required). `base` is `https://127.0.0.1:PORT`.
    pub async fn start_tls(
        tls_yaml: impl FnOnce(&Path) -> String,
        probe: reqwest::Client,
        make: impl FnOnce(u16, &Path) -> String,
    ) -> Self {
        let launch = Launch {
            tls: Some(Box::new(tls_yaml)),
            probe,
        };
        Self::launch(launch, make, |_| ()).await
    }

    async fn launch(
        launch: Launch<'_>,
        make: impl FnOnce(u16, &Path) -> String,
        prepare: impl FnOnce(&Path),
    ) -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("sallyport.yaml");
        let (tls, scheme) = match launch.tls {
            Some(tls_yaml) => (format!(", tls: {}", tls_yaml(dir.path())), "https"),
            None => (String::new(), "http"),
        };
        let yaml = format!(
            "listen: {{ http: \"127.0.0.1:{port}\"{tls} }}\n{}",
            make(port, dir.path())
        );
        std::fs::write(&config, yaml).unwrap();
        prepare(&config);
        let access_log = dir.path().join("access.jsonl");
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let child = Command::new(sallyport_bin())
            .args(["serve", "-c"])
            .arg(&config)
            .arg("--access-log")
            .arg(&access_log)
            .env("SALLYPORT_LOG", "info")
            .env(TEST_WEBHOOK_SECRET_ENV, TEST_WEBHOOK_SECRET)
            .stdin(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let base = format!("{scheme}://127.0.0.1:{port}");
        let gw = Self {
            child,
            base,
            config,
            access_log,
            _dir: dir,
        };
        gw.wait_healthy(&launch.probe).await;
        gw
    }

    async fn wait_healthy(&self, client: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if client
                .get(format!("{}/healthz", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "gateway did not become healthy at {}:\n{}",
            self.base,
            self.logs()
        );
    }

    /// The MCP endpoint.
    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    /// Every decision record written so far.
    pub fn decisions(&self) -> Vec<Value> {
        read_jsonl(&self.access_log)
    }

    /// Waits until a decision matching `pred` is logged.
    pub async fn wait_decision(&self, pred: impl Fn(&Value) -> bool) -> Value {
        wait_jsonl(&self.access_log, pred).await
    }

    /// What the gateway logged on stderr so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Waits until the log contains `needle`.
    pub async fn wait_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let logs = self.logs();
            if logs.contains(needle) {
                return logs;
            }
            assert!(
                Instant::now() < deadline,
                "log never contained {needle:?}:\n{logs}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `GET /metrics`: the status, the content type and the exposition text.
    pub async fn scrape_metrics(&self) -> (u16, String, String) {
        let resp = reqwest::get(format!("{}/metrics", self.base))
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, content_type, resp.text().await.unwrap())
    }

    /// Scrapes until `series` (name and labels exactly as exposed) is at least `min`, and
    /// returns the page; the metrics subscriber runs behind the data path.
    pub async fn wait_metric(&self, series: &str, min: f64) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, _, page) = self.scrape_metrics().await;
            if metric_sample(&page, series).is_some_and(|v| v >= min) {
                return page;
            }
            assert!(
                Instant::now() < deadline,
                "{series} never reached {min}:\n{page}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The value of `series` (name and labels exactly as exposed) in a metrics page.
pub fn metric_sample(page: &str, series: &str) -> Option<f64> {
    page.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok())?
    })
}

impl Drop for GatewayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Output of one run of the Python SDK client script.
#[derive(Debug)]
pub struct ClientRun {
    /// Exit status code.
    pub code: i32,
    /// The JSON document it printed.
    pub json: Value,
    /// Its stderr, for failure messages.
    pub stderr: String,
}

/// Runs `tests/python/e2e_client.py` with `args` (async: does not block the runtime).
pub async fn py_client(args: &[&str]) -> ClientRun {
    let script = repo_root().join("tests/python/e2e_client.py");
    let out = tokio::process::Command::new(python())
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(Value::String(stdout));
    ClientRun {
        code: out.status.code().unwrap_or(-1),
        json,
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    }
}

/// Asserts a client run succeeded, with its output on failure.
pub fn ok(run: &ClientRun) -> &Value {
    assert_eq!(
        run.code, 0,
        "client failed: {:#}\nstderr: {}",
        run.json, run.stderr
    );
    &run.json
}

/// Names of the tools in a `list-tools` result.
pub fn tool_names(json: &Value) -> Vec<String> {
    json["result"]["tools"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The YAML for the demo server as a stdio child (this repo's own binary).
pub fn demo_stdio_server(name: &str) -> String {
    format!(
        "  - name: {name}\n    stdio: {{ command: \"{}\", args: [\"demo-server\"] }}\n",
        sallyport_bin().display()
    )
}

/// The YAML for an HTTP upstream.
pub fn http_server(name: &str, url: &str) -> String {
    format!("  - name: {name}\n    http: {{ url: \"{url}\" }}\n")
}

/// A JSON body, or for an SSE body the last event whose data is a JSON-RPC response (the
/// answer that ends a request's stream); otherwise the raw text as a JSON string.
pub fn response_body(text: &str) -> Value {
    if let Ok(v) = serde_json::from_str(text) {
        return v;
    }
    text.lines()
        .rev()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim_start()).ok())
        .find(|v| v.get("result").is_some() || v.get("error").is_some())
        .unwrap_or_else(|| Value::String(text.to_owned()))
}

/// A stateless (2026-07-28) `tools/call` to `mcp_url` with matching `Mcp-*` headers; returns
/// the HTTP status and the JSON-RPC answer.
pub async fn modern_tool_call(
    mcp_url: &str,
    id: Value,
    tool: &str,
    arguments: Value,
) -> (reqwest::StatusCode, Value) {
    modern_tool_call_as(mcp_url, None, id, tool, arguments).await
}

/// [`modern_tool_call`] with a bearer token.
pub async fn modern_tool_call_as(
    mcp_url: &str,
    bearer: Option<&str>,
    id: Value,
    tool: &str,
    arguments: Value,
) -> (reqwest::StatusCode, Value) {
    let body = serde_json::json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":tool,"arguments":arguments,
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}});
    let mut request = reqwest::Client::new()
        .post(mcp_url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let resp = request.body(body.to_string()).send().await.unwrap();
    let status = resp.status();
    (status, response_body(&resp.text().await.unwrap()))
}

/// Opens a 2025-11-25 session at `mcp_url` (initialize, then `notifications/initialized`);
/// returns its `Mcp-Session-Id`.
pub async fn legacy_session(mcp_url: &str) -> String {
    let init = serde_json::json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}});
    let client = reqwest::Client::new();
    let resp = client
        .post(mcp_url)
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
    let _ = resp.text().await;
    let note = serde_json::json!({"jsonrpc":"2.0","method":"notifications/initialized"});
    client
        .post(mcp_url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("mcp-session-id", &id)
        .body(note.to_string())
        .send()
        .await
        .unwrap();
    id
}

/// `sallyport COMMAND… -c CONFIG ARGS…`, which must succeed: its standard output.
pub fn sallyport_cli(command: &[&str], config: &Path, args: &[&str]) -> String {
    let out = Command::new(sallyport_bin())
        .args(command)
        .arg("-c")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `sallyport keys create -c CONFIG --name NAME --role ROLE`: the new API key (shown once).
pub fn create_api_key(config: &Path, name: &str, role: &str) -> String {
    let out = sallyport_cli(
        &["keys", "create"],
        config,
        &["--name", name, "--role", role],
    );
    out.trim().to_owned()
}
