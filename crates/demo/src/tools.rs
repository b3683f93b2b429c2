//! The demo tools. Dispatch (and hiding `extra`) lives in `server.rs`; the three tools that ask
//! the client something delegate to `interactive.rs`.

use std::{sync::atomic::Ordering, time::Duration};

use rmcp::{
    handler::server::{
        tool::{InputResponses, schema_for_output},
        wrapper::Parameters,
    },
    model::{
        CallToolResponse, CallToolResult, ContentBlock, ProgressNotificationParam, ProtocolVersion,
    },
    service::{RequestContext, RoleServer},
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{DemoServer, interactive};

/// Name of the tool that `toggle_extra_tool` shows and hides.
pub(crate) const EXTRA_TOOL: &str = "extra";

/// Upper bound of `slow_count.to`, so one call cannot run for hours.
const MAX_COUNT: u32 = 1_000;
/// Upper bound of `slow_count.delay_ms`.
const MAX_DELAY_MS: u64 = 10_000;
const DEFAULT_DELAY_MS: u64 = 100;

/// Arguments of `echo`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct EchoArgs {
    /// The text to return unchanged.
    text: String,
}

/// Arguments of `add`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct AddArgs {
    /// The first addend.
    a: f64,
    /// The second addend.
    b: f64,
}

/// Structured result of `add`; only its schema is used (as the tool's `outputSchema`).
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct AddOutput {
    /// `a + b`.
    sum: f64,
}

/// Arguments of `word_count`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct WordCountArgs {
    /// The text whose whitespace-separated words are counted.
    text: String,
}

/// Arguments of `slow_count`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct SlowCountArgs {
    /// Count from 1 up to this number (at most 1000).
    #[schemars(range(min = 1, max = 1000))]
    to: u32,
    /// Milliseconds to wait before each number (at most 10000; default 100).
    #[serde(default = "default_delay_ms")]
    #[schemars(range(max = 10000))]
    delay_ms: u64,
}

fn default_delay_ms() -> u64 {
    DEFAULT_DELAY_MS
}

/// Arguments of `ask_model` and `confirm`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct QuestionArgs {
    /// The question to put to the client's model or user.
    question: String,
}

#[tool_router(vis = "pub(crate)")]
impl DemoServer {
    #[tool(
        name = "echo",
        description = "Return the given text unchanged.",
        annotations(
            title = "Echo",
            read_only_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    fn echo(&self, Parameters(args): Parameters<EchoArgs>) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::text(args.text)])
    }

    #[tool(
        name = "add",
        description = "Add two numbers. Returns the sum as text and as structuredContent {\"sum\": n}.",
        output_schema = schema_for_output::<AddOutput>(),
        annotations(
            title = "Add",
            read_only_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    fn add(&self, Parameters(AddArgs { a, b }): Parameters<AddArgs>) -> CallToolResult {
        if !(a + b).is_finite() {
            return CallToolResult::error(vec![ContentBlock::text(
                "the sum is not a finite number",
            )]);
        }
        let sum = number(a + b);
        let mut result = CallToolResult::success(vec![ContentBlock::text(sum.to_string())]);
        result.structured_content = Some(json!({ "sum": sum }));
        result
    }

    #[tool(
        name = "word_count",
        description = "Count the whitespace-separated words in a text.",
        annotations(
            title = "Word count",
            read_only_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    fn word_count(&self, Parameters(args): Parameters<WordCountArgs>) -> CallToolResult {
        let words = args.text.split_whitespace().count();
        CallToolResult::success(vec![ContentBlock::text(words.to_string())])
    }

    #[tool(
        name = "now",
        description = "Return the current UTC time in RFC 3339 format.",
        annotations(title = "Current time", read_only_hint = true, open_world_hint = false)
    )]
    fn now(&self) -> CallToolResult {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        CallToolResult::success(vec![ContentBlock::text(now)])
    }

    #[tool(
        name = "slow_count",
        description = "Count from 1 to `to`, waiting `delay_ms` before each number. Sends \
                       notifications/progress when the request carries a progressToken and \
                       stops early when the request is cancelled.",
        annotations(
            title = "Slow count",
            read_only_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn slow_count(
        &self,
        Parameters(args): Parameters<SlowCountArgs>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        slow_count(args, context).await
    }

    #[tool(
        name = "ask_model",
        description = "Ask the client's language model a question through sampling \
                       (sampling/createMessage) and return its answer. Needs the client's \
                       sampling capability.",
        annotations(title = "Ask the model", read_only_hint = true, open_world_hint = true)
    )]
    async fn ask_model(
        &self,
        Parameters(args): Parameters<QuestionArgs>,
        InputResponses(responses): InputResponses,
        context: RequestContext<RoleServer>,
    ) -> CallToolResponse {
        interactive::ask_model(args.question, responses, context).await
    }

    #[tool(
        name = "confirm",
        description = "Ask the user a yes/no question through elicitation (elicitation/create) \
                       and report the answer. Needs the client's elicitation capability.",
        annotations(title = "Confirm", read_only_hint = true, open_world_hint = true)
    )]
    async fn confirm(
        &self,
        Parameters(args): Parameters<QuestionArgs>,
        InputResponses(responses): InputResponses,
        context: RequestContext<RoleServer>,
    ) -> CallToolResponse {
        interactive::confirm(args.question, responses, context).await
    }

    #[tool(
        name = "list_roots",
        description = "List the client's filesystem roots (roots/list). Needs the client's \
                       roots capability.",
        annotations(title = "List roots", read_only_hint = true, open_world_hint = false)
    )]
    async fn list_roots(
        &self,
        InputResponses(responses): InputResponses,
        context: RequestContext<RoleServer>,
    ) -> CallToolResponse {
        interactive::list_roots(responses, context).await
    }

    #[tool(
        name = "fail",
        description = "Always fail: returns a result with isError set, for testing error paths.",
        annotations(
            title = "Fail",
            read_only_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    fn fail(&self) -> CallToolResult {
        CallToolResult::error(vec![ContentBlock::text(
            "the fail tool always fails (this is intentional)",
        )])
    }

    #[tool(
        name = "toggle_extra_tool",
        description = "Show or hide the tool `extra` and announce the change with \
                       notifications/tools/list_changed. Returns whether `extra` is now listed.",
        annotations(
            title = "Toggle the extra tool",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn toggle_extra_tool(&self, context: RequestContext<RoleServer>) -> CallToolResult {
        let enabled = !self.shared.extra_enabled.fetch_xor(true, Ordering::AcqRel);
        self.announce_tool_list_changed(&context).await;
        let state = if enabled { "listed" } else { "hidden" };
        let mut result =
            CallToolResult::success(vec![ContentBlock::text(format!("extra is now {state}"))]);
        result.structured_content = Some(json!({ "extra_enabled": enabled }));
        result
    }

    #[tool(
        name = "extra",
        description = "A tool that is only listed after toggle_extra_tool; returns a fixed text.",
        annotations(
            title = "Extra",
            read_only_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    fn extra(&self) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::text("the extra tool is enabled")])
    }
}

impl DemoServer {
    /// Tells the caller (legacy era) and every `subscriptions/listen` stream (2026-07-28) that
    /// the tool list changed.
    async fn announce_tool_list_changed(&self, context: &RequestContext<RoleServer>) {
        // No receiver just means nobody is listening.
        let _ = self.shared.tool_list_changed.send(());
        let modern = context
            .protocol_version()
            .is_some_and(|version| version >= ProtocolVersion::V_2026_07_28);
        // In 2026-07-28 list_changed travels only on subscriptions/listen streams.
        if !modern && let Err(error) = context.peer.notify_tool_list_changed().await {
            tracing::debug!(%error, "Could not send tools/list_changed.");
        }
    }
}

async fn slow_count(args: SlowCountArgs, context: RequestContext<RoleServer>) -> CallToolResult {
    if !(1..=MAX_COUNT).contains(&args.to) || args.delay_ms > MAX_DELAY_MS {
        return CallToolResult::error(vec![ContentBlock::text(format!(
            "`to` must be 1..={MAX_COUNT} and `delay_ms` at most {MAX_DELAY_MS}"
        ))]);
    }
    let token = context.meta.get_progress_token();
    let delay = Duration::from_millis(args.delay_ms);
    for step in 1..=args.to {
        tokio::select! {
            () = context.ct.cancelled() => {
                return CallToolResult::error(vec![ContentBlock::text(format!(
                    "cancelled after counting to {}", step - 1
                ))]);
            }
            () = tokio::time::sleep(delay) => {}
        }
        if let Some(token) = &token {
            let progress = ProgressNotificationParam::new(token.clone(), f64::from(step))
                .with_total(f64::from(args.to))
                .with_message(format!("counted {step} of {}", args.to));
            if let Err(error) = context.peer.notify_progress(progress).await {
                tracing::debug!(%error, "Could not send progress; stopping the count.");
                break;
            }
        }
    }
    CallToolResult::success(vec![ContentBlock::text(format!("counted to {}", args.to))])
}

/// `n` as a JSON number, written as an integer when it is one (`5`, not `5.0`).
fn number(n: f64) -> serde_json::Value {
    // 2^53: beyond it not every integer is representable, so keep the float.
    const EXACT_LIMIT: f64 = 9_007_199_254_740_992.0;
    if n.fract() == 0.0 && n.abs() <= EXACT_LIMIT {
        json!(n as i64)
    } else {
        json!(n)
    }
}
