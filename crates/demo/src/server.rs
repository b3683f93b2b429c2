//! [`ServerHandler`] for [`DemoServer`]: capabilities, tool dispatch (hiding `extra` until it is
//! toggled on), resources, prompts and `subscriptions/listen`.

use std::sync::atomic::Ordering;

use rmcp::{
    ErrorData as McpError, ServerHandler,
    handler::server::tool::ToolCallContext,
    model::{
        CallToolRequestParams, CallToolResponse, GetPromptRequestParams, GetPromptResponse,
        Implementation, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
        ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
        ServerCapabilities, ServerConfig, SubscriptionFilter, Tool,
    },
    service::{NotificationContext, RequestContext, RoleServer, SubscriptionContext},
};
use tokio::sync::broadcast::error::RecvError;

use crate::{DemoServer, prompts, resources, tools::EXTRA_TOOL};

const INSTRUCTIONS: &str = "Sallyport's built-in demo server. Call `add`, `echo`, `word_count` \
    or `now` for simple results, `slow_count` for progress notifications, `ask_model`, `confirm` \
    and `list_roots` to see server-to-client requests, `fail` for an error result and \
    `toggle_extra_tool` to change the tool list. Read demo://readme for an overview.";

impl DemoServer {
    /// Whether `name` is currently hidden from clients.
    fn is_hidden(&self, name: &str) -> bool {
        name == EXTRA_TOOL && !self.shared.extra_enabled.load(Ordering::Acquire)
    }
}

impl ServerHandler for DemoServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_prompts()
            .enable_resources()
            .enable_tools()
            .enable_tool_list_changed()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(
                Implementation::new("sallyport-demo", env!("CARGO_PKG_VERSION"))
                    .with_title("Sallyport demo server"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn on_initialized(&self, _context: NotificationContext<RoleServer>) {
        // rmcp's default logs every handshake at INFO, which floods load tests.
        tracing::debug!("Demo client initialized.");
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let mut tools = self.shared.tools.list_all();
        tools.retain(|tool| !self.is_hidden(&tool.name));
        Ok(ListToolsResult::with_all_items(tools))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        if self.is_hidden(name) {
            return None;
        }
        self.shared.tools.get(name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if self.is_hidden(&request.name) {
            // The same answer the router gives for a tool it does not know.
            return Err(McpError::invalid_params("tool not found", None));
        }
        let call = ToolCallContext::new(self, request, context);
        self.shared.tools.call(call).await
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(resources::list()))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(
            resources::templates(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        resources::read(&request.uri).map(ReadResourceResponse::from)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Ok(ListPromptsResult::with_all_items(prompts::list()))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        prompts::get(&request.name, request.arguments.as_ref()).map(GetPromptResponse::from)
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        // rmcp narrows this to what `get_info` advertises: only tools/list_changed survives.
        Some(requested.clone())
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        let mut changes = self.shared.tool_list_changed.subscribe();
        let wants_tools = context.accepted().tools_list_changed == Some(true);
        loop {
            let change = tokio::select! {
                () = context.cancelled() => return Ok(()),
                change = changes.recv() => change,
            };
            match change {
                // A lagging listener missed some changes; one notification covers them all.
                Ok(()) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return Ok(()),
            }
            if wants_tools && let Err(error) = context.sink().notify_tool_list_changed().await {
                tracing::debug!(%error, "Subscription closed while notifying.");
                return Ok(());
            }
        }
    }
}
