//! A real rmcp client for the demo server, and the checks every transport × era runs.
#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(
    deprecated,
    reason = "sampling and roots are deprecated by SEP-2577 but still tested"
)]

use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use rmcp::{
    ClientHandler, ClientLifecycleMode, ClientServiceExt, ErrorData as McpError, RoleClient,
    model::{
        CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ClientRequest,
        CreateMessageRequestParams, CreateMessageResult, ElicitRequestParams, ElicitResult,
        ElicitationAction, GetPromptRequestParams, Implementation, JsonObject, ListRootsResult,
        ProgressNotificationParam, ProtocolVersion, ReadResourceRequestParams, Request,
        ResourceContents, Root, SamplingMessage, ServerNotification, ServerResult,
        SubscriptionFilter,
    },
    service::{NotificationContext, PeerRequestOptions, RequestContext, RunningService},
    transport::{IntoTransport, StreamableHttpClientTransport},
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// How long any single wait in these tests may take before it counts as a hang.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// The protocol era a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Era {
    /// `initialize` handshake, 2025-11-25.
    Legacy,
    /// `server/discover` and per-request `_meta`, 2026-07-28.
    Modern,
}

impl Era {
    pub(crate) fn lifecycle(self) -> ClientLifecycleMode {
        match self {
            Self::Legacy => ClientLifecycleMode::Initialize,
            Self::Modern => ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        }
    }

    pub(crate) fn version(self) -> ProtocolVersion {
        match self {
            Self::Legacy => ProtocolVersion::V_2025_11_25,
            Self::Modern => ProtocolVersion::V_2026_07_28,
        }
    }
}

/// Something the server told the client.
#[derive(Debug)]
pub(crate) enum Event {
    Progress(ProgressNotificationParam),
    ToolListChanged,
}

/// A client that declares sampling, elicitation and roots (or nothing) and answers them.
#[derive(Clone)]
pub(crate) struct TestClient {
    capabilities: ClientCapabilities,
    events: mpsc::UnboundedSender<Event>,
}

/// The model name `TestClient` reports for sampling.
pub(crate) const MODEL: &str = "test-model";
/// The root `TestClient` reports.
pub(crate) const ROOT: &str = "file:///tmp/demo-root";

impl TestClient {
    /// A client with sampling, elicitation and roots, and the receiver of its events.
    pub(crate) fn capable() -> (Self, mpsc::UnboundedReceiver<Event>) {
        let capabilities = ClientCapabilities::builder()
            .enable_sampling()
            .enable_elicitation()
            .enable_roots()
            .build();
        Self::with(capabilities)
    }

    /// A client that declares no capabilities.
    pub(crate) fn bare() -> (Self, mpsc::UnboundedReceiver<Event>) {
        Self::with(ClientCapabilities::default())
    }

    fn with(capabilities: ClientCapabilities) -> (Self, mpsc::UnboundedReceiver<Event>) {
        let (events, receiver) = mpsc::unbounded_channel();
        (
            Self {
                capabilities,
                events,
            },
            receiver,
        )
    }
}

impl ClientHandler for TestClient {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            self.capabilities.clone(),
            Implementation::new("sallyport-demo-test", "0.0.0"),
        )
    }

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, McpError> {
        let question = params
            .messages
            .iter()
            .flat_map(|message| message.content.iter())
            .filter_map(|block| block.as_text())
            .map(|text| text.text.clone())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(CreateMessageResult::new(
            SamplingMessage::assistant_text(format!("answer to: {question}")),
            MODEL.to_owned(),
        ))
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, McpError> {
        let ElicitRequestParams::FormElicitationParams { message, .. } = request else {
            return Ok(ElicitResult::new(ElicitationAction::Decline));
        };
        // Say yes to anything that asks politely.
        let yes = message.contains("please");
        Ok(ElicitResult::new(ElicitationAction::Accept).with_content(json!({ "confirmed": yes })))
    }

    async fn list_roots(
        &self,
        _context: RequestContext<RoleClient>,
    ) -> Result<ListRootsResult, McpError> {
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

pub(crate) type Client = RunningService<RoleClient, TestClient>;

/// Connects `handler` to the demo server at `url` in `era`, and checks the negotiated version.
pub(crate) async fn connect_http(
    handler: TestClient,
    url: &str,
    era: Era,
) -> anyhow::Result<Client> {
    let transport = StreamableHttpClientTransport::from_uri(url.to_owned());
    connect(handler, transport, era).await
}

/// Starts the demo server in-process on one end of a duplex pipe (stdio framing) and connects
/// `handler` to the other end in `era`.
pub(crate) async fn connect_stdio(handler: TestClient, era: Era) -> anyhow::Result<Client> {
    let (server_end, client_end) = tokio::io::duplex(64 * 1024);
    tokio::spawn(sallyport_demo::serve_io(server_end));
    connect(handler, client_end, era).await
}

async fn connect<T, E, A>(handler: TestClient, transport: T, era: Era) -> anyhow::Result<Client>
where
    T: IntoTransport<RoleClient, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    let client = tokio::time::timeout(
        PATIENCE,
        handler.serve_with_lifecycle(transport, era.lifecycle()),
    )
    .await
    .context("connecting timed out")??;
    let negotiated = client
        .peer_info()
        .context("no server info after connecting")?
        .protocol_version
        .clone();
    ensure!(
        negotiated == era.version(),
        "negotiated {negotiated}, wanted {}",
        era.version()
    );
    Ok(client)
}

pub(crate) fn args(value: Value) -> anyhow::Result<JsonObject> {
    match value {
        Value::Object(object) => Ok(object),
        other => bail!("arguments must be an object, got {other}"),
    }
}

/// Calls `tool` with `arguments` and returns its result.
pub(crate) async fn call(
    client: &Client,
    tool: &str,
    arguments: Value,
) -> anyhow::Result<CallToolResult> {
    let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(args(arguments)?);
    let result = tokio::time::timeout(PATIENCE, client.call_tool(params))
        .await
        .with_context(|| format!("{tool} timed out"))??;
    Ok(result)
}

/// The concatenated text content of a tool result.
pub(crate) fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|block| block.as_text())
        .map(|text| text.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lists tools, calls `add`, reads `demo://readme` and gets the `summarize` prompt.
pub(crate) async fn check_basics(client: &Client) -> anyhow::Result<()> {
    let tools = client.list_all_tools().await?;
    let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    for expected in [
        "add",
        "ask_model",
        "confirm",
        "echo",
        "fail",
        "list_roots",
        "now",
        "slow_count",
        "toggle_extra_tool",
        "word_count",
    ] {
        ensure!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    ensure!(
        !names.contains(&"extra"),
        "extra is listed before it was toggled on"
    );
    let add = tools
        .iter()
        .find(|tool| tool.name == "add")
        .context("no add")?;
    let annotations = add.annotations.as_ref().context("add has no annotations")?;
    ensure!(annotations.read_only_hint == Some(true));
    ensure!(add.output_schema.is_some(), "add has no outputSchema");

    let sum = call(client, "add", json!({ "a": 2, "b": 3 })).await?;
    ensure!(sum.is_error != Some(true));
    ensure!(text(&sum) == "5", "add said {:?}", text(&sum));
    ensure!(sum.structured_content == Some(json!({ "sum": 5 })));

    let readme = client
        .read_resource(ReadResourceRequestParams::new("demo://readme"))
        .await?;
    let [ResourceContents::TextResourceContents { text, .. }] = readme.contents.as_slice() else {
        bail!("readme is not one text: {readme:?}");
    };
    ensure!(
        text.contains("Sallyport demo server"),
        "unexpected readme {text:?}"
    );

    let prompt = client
        .get_prompt(
            GetPromptRequestParams::new("summarize")
                .with_arguments(args(json!({ "text": "MCP is a protocol." }))?),
        )
        .await?;
    let [message] = prompt.messages.as_slice() else {
        bail!("summarize has {} messages", prompt.messages.len());
    };
    let text = &message
        .content
        .as_text()
        .context("summarize message is not text")?
        .text;
    ensure!(
        text.contains("MCP is a protocol."),
        "prompt lost the text: {text:?}"
    );
    Ok(())
}

/// Calls `slow_count` with a progress token and checks the progress it reports.
pub(crate) async fn check_progress(
    client: &Client,
    events: &mut mpsc::UnboundedReceiver<Event>,
) -> anyhow::Result<()> {
    let params = CallToolRequestParams::new("slow_count")
        .with_arguments(args(json!({ "to": 3, "delay_ms": 10 }))?);
    let handle = client
        .send_cancellable_request(
            ClientRequest::CallToolRequest(Request::new(params)),
            PeerRequestOptions::no_options(),
        )
        .await?;
    let token = handle.progress_token.clone();
    let response = tokio::time::timeout(PATIENCE, handle.await_response()).await??;
    let ServerResult::CallToolResult(result) = response else {
        bail!("slow_count answered {response:?}");
    };
    ensure!(
        text(&result) == "counted to 3",
        "slow_count said {:?}",
        text(&result)
    );

    let mut seen = Vec::new();
    while seen.len() < 3 {
        match tokio::time::timeout(PATIENCE, events.recv()).await? {
            Some(Event::Progress(progress)) => {
                ensure!(
                    progress.progress_token == token,
                    "progress for another token"
                );
                ensure!(progress.total == Some(3.0));
                seen.push(progress.progress);
            }
            Some(Event::ToolListChanged) => {}
            None => bail!("client closed"),
        }
    }
    ensure!(seen == [1.0, 2.0, 3.0], "progress went {seen:?}");
    Ok(())
}

/// Calls `ask_model`, `confirm` and `list_roots` and checks that the client's answers come back.
pub(crate) async fn check_client_requests(client: &Client) -> anyhow::Result<()> {
    let answer = call(client, "ask_model", json!({ "question": "why?" })).await?;
    ensure!(
        answer.is_error != Some(true),
        "ask_model failed: {}",
        text(&answer)
    );
    ensure!(
        text(&answer).contains("answer to: why?"),
        "ask_model said {:?}",
        text(&answer)
    );
    let structured = answer.structured_content.context("no structuredContent")?;
    ensure!(structured["model"] == MODEL);

    let yes = call(client, "confirm", json!({ "question": "Proceed, please?" })).await?;
    ensure!(
        text(&yes) == "the user confirmed",
        "confirm said {:?}",
        text(&yes)
    );
    let no = call(client, "confirm", json!({ "question": "Proceed?" })).await?;
    ensure!(
        text(&no) == "the user answered no",
        "confirm said {:?}",
        text(&no)
    );

    let roots = call(client, "list_roots", json!({})).await?;
    ensure!(text(&roots) == ROOT, "list_roots said {:?}", text(&roots));
    Ok(())
}

/// Checks that a client without capabilities gets `isError` results instead of questions.
pub(crate) async fn check_undeclared_capabilities(client: &Client) -> anyhow::Result<()> {
    for (tool, capability) in [
        ("ask_model", "sampling"),
        ("confirm", "elicitation"),
        ("list_roots", "roots"),
    ] {
        let result = call(client, tool, json!({ "question": "?" })).await?;
        ensure!(result.is_error == Some(true), "{tool} did not fail");
        ensure!(
            text(&result).contains(&format!("did not declare the {capability} capability")),
            "{tool} said {:?}",
            text(&result)
        );
    }
    Ok(())
}

/// Checks the tool-level error paths: `fail` and bad arguments.
pub(crate) async fn check_errors(client: &Client) -> anyhow::Result<()> {
    let failed = call(client, "fail", json!({})).await?;
    ensure!(failed.is_error == Some(true), "fail did not fail");
    let bad = call(client, "add", json!({ "a": "two" })).await?;
    ensure!(bad.is_error == Some(true), "add accepted a string");
    let hidden = call(client, "extra", json!({})).await;
    ensure!(hidden.is_err(), "a hidden tool answered: {hidden:?}");
    Ok(())
}

/// Toggles `extra` on and off and checks that the list and the announcements follow: a
/// `notifications/tools/list_changed` to the caller in the legacy era, on a
/// `subscriptions/listen` stream in 2026-07-28.
pub(crate) async fn check_list_changed(
    client: &Client,
    events: &mut mpsc::UnboundedReceiver<Event>,
    era: Era,
) -> anyhow::Result<()> {
    let mut subscription = match era {
        Era::Legacy => None,
        Era::Modern => {
            let filter = SubscriptionFilter::builder().tools_list_changed().build();
            Some(client.listen(filter).await?)
        }
    };
    for expect_listed in [true, false] {
        let toggled = call(client, "toggle_extra_tool", json!({})).await?;
        let enabled = toggled.structured_content.context("no structuredContent")?;
        ensure!(
            enabled["extra_enabled"] == expect_listed,
            "toggle said {enabled}"
        );
        match subscription.as_mut() {
            None => loop {
                match tokio::time::timeout(PATIENCE, events.recv()).await? {
                    Some(Event::ToolListChanged) => break,
                    Some(Event::Progress(_)) => {}
                    None => bail!("client closed"),
                }
            },
            Some(subscription) => {
                let notification = tokio::time::timeout(PATIENCE, subscription.next())
                    .await??
                    .context("subscription ended")?;
                ensure!(
                    matches!(
                        notification,
                        ServerNotification::ToolListChangedNotification(_)
                    ),
                    "unexpected {notification:?}"
                );
            }
        }
        let tools = client.list_all_tools().await?;
        let listed = tools.iter().any(|tool| tool.name == "extra");
        ensure!(
            listed == expect_listed,
            "extra listed: {listed}, wanted {expect_listed}"
        );
        let extra = call(client, "extra", json!({})).await;
        ensure!(extra.is_ok() == expect_listed, "extra answered {extra:?}");
    }
    if let Some(mut subscription) = subscription {
        subscription.cancel().await?;
    }
    Ok(())
}

/// Starts a long `slow_count`, cancels it after some progress and checks that progress stops.
pub(crate) async fn check_cancellation(
    client: &Client,
    events: &mut mpsc::UnboundedReceiver<Event>,
) -> anyhow::Result<()> {
    let params = CallToolRequestParams::new("slow_count")
        .with_arguments(args(json!({ "to": 1000, "delay_ms": 20 }))?);
    let handle = client
        .send_cancellable_request(
            ClientRequest::CallToolRequest(Request::new(params)),
            PeerRequestOptions::no_options(),
        )
        .await?;
    let mut last = 0.0;
    while last < 2.0 {
        if let Some(Event::Progress(progress)) =
            tokio::time::timeout(PATIENCE, events.recv()).await?
        {
            last = progress.progress;
        }
    }
    handle.cancel(Some("test is done".to_owned())).await?;
    // Let what was already in flight arrive, then expect silence.
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Ok(event) = events.try_recv() {
        if let Event::Progress(progress) = event {
            last = progress.progress;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let late = std::iter::from_fn(|| events.try_recv().ok())
        .filter(|event| matches!(event, Event::Progress(_)))
        .count();
    ensure!(
        late == 0,
        "{late} progress notifications after cancelling at {last}"
    );
    ensure!(last < 100.0, "the count ran on to {last}");
    Ok(())
}
