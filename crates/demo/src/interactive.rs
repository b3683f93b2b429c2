//! Tools that ask the client something: `ask_model` (sampling), `confirm` (elicitation) and
//! `list_roots` (roots).
//!
//! In the legacy era the question is a real server→client JSON-RPC request on the session. In
//! 2026-07-28 servers must not send requests, so the first call returns an MRTR
//! `input_required` result; the client answers and retries the call with `inputResponses`.
//! Either way the question is only asked when the client declared the capability; otherwise
//! the tool returns an `isError` result that says so.
#![allow(
    deprecated,
    reason = "sampling and roots are deprecated by SEP-2577 but still part of the protocol"
)]

use rmcp::{
    model::{
        CallToolResponse, CallToolResult, ClientCapabilities, ContentBlock, CreateMessageRequest,
        CreateMessageRequestParams, CreateMessageResult, ElicitRequest, ElicitRequestParams,
        ElicitResult, ElicitationAction, ElicitationSchema, InputRequest, InputRequests,
        InputRequiredResult, InputResponses, ListRootsRequest, ListRootsResult, ProtocolVersion,
        SamplingMessage, ServerRequest,
    },
    service::{RequestContext, RoleServer},
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Key of our single entry in `inputRequests` / `inputResponses`.
const INPUT_KEY: &str = "demo";
/// `maxTokens` asked of the client's model.
const MAX_TOKENS: u32 = 512;
/// Property of the elicitation form that carries the answer.
const CONFIRMED: &str = "confirmed";

/// One question for the client.
enum Ask {
    Sampling(CreateMessageRequestParams),
    Elicitation(ElicitRequestParams),
    Roots,
}

impl Ask {
    fn method(&self) -> &'static str {
        match self {
            Self::Sampling(_) => "sampling/createMessage",
            Self::Elicitation(_) => "elicitation/create",
            Self::Roots => "roots/list",
        }
    }

    fn capability(&self) -> &'static str {
        match self {
            Self::Sampling(_) => "sampling",
            Self::Elicitation(_) => "elicitation",
            Self::Roots => "roots",
        }
    }

    fn declared_by(&self, capabilities: &ClientCapabilities) -> bool {
        match self {
            Self::Sampling(_) => capabilities.sampling.is_some(),
            Self::Elicitation(_) => capabilities.elicitation.is_some(),
            Self::Roots => capabilities.roots.is_some(),
        }
    }

    fn into_input_request(self) -> InputRequest {
        match self {
            Self::Sampling(params) => {
                InputRequest::CreateMessage(CreateMessageRequest::new(params))
            }
            Self::Elicitation(params) => InputRequest::Elicitation(ElicitRequest::new(params)),
            Self::Roots => InputRequest::ListRoots(ListRootsRequest::default()),
        }
    }

    fn into_server_request(self) -> ServerRequest {
        match self {
            Self::Sampling(params) => {
                ServerRequest::CreateMessageRequest(CreateMessageRequest::new(params))
            }
            Self::Elicitation(params) => ServerRequest::ElicitRequest(ElicitRequest::new(params)),
            Self::Roots => ServerRequest::ListRootsRequest(ListRootsRequest::default()),
        }
    }
}

/// `ask_model`: sends `question` to the client's model and returns the answer as text, plus
/// `structuredContent` `{"answer", "model"}`.
pub(crate) async fn ask_model(
    question: String,
    responses: Option<InputResponses>,
    context: RequestContext<RoleServer>,
) -> CallToolResponse {
    let params =
        CreateMessageRequestParams::new(vec![SamplingMessage::user_text(question)], MAX_TOKENS)
            .with_system_prompt("Answer the question briefly.");
    let result: CreateMessageResult = match ask(Ask::Sampling(params), responses, &context).await {
        Ok(result) => result,
        Err(unanswered) => return unanswered,
    };
    let answer = result
        .message
        .content
        .iter()
        .filter_map(|block| block.as_text())
        .map(|text| text.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let mut tool_result = CallToolResult::success(vec![ContentBlock::text(answer.clone())]);
    tool_result.structured_content = Some(json!({ "answer": answer, "model": result.model }));
    tool_result.into()
}

/// `confirm`: asks the user `question` as a yes/no form and reports `accepted`, `declined` or
/// `cancelled`, plus `structuredContent` `{"action", "confirmed"}`.
pub(crate) async fn confirm(
    question: String,
    responses: Option<InputResponses>,
    context: RequestContext<RoleServer>,
) -> CallToolResponse {
    let schema = match ElicitationSchema::builder()
        .required_bool_with(CONFIRMED, |field| field.description("Your answer"))
        .build()
    {
        Ok(schema) => schema,
        Err(error) => return tool_error(format!("could not build the form: {error}")),
    };
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: question,
        requested_schema: schema,
    };
    let result: ElicitResult = match ask(Ask::Elicitation(params), responses, &context).await {
        Ok(result) => result,
        Err(unanswered) => return unanswered,
    };
    let confirmed = result
        .content
        .as_ref()
        .and_then(|content| content.get(CONFIRMED))
        .and_then(Value::as_bool);
    let (action, text) = match (result.action, confirmed) {
        (ElicitationAction::Accept, Some(true)) => ("accept", "the user confirmed"),
        (ElicitationAction::Accept, _) => ("accept", "the user answered no"),
        (ElicitationAction::Decline, _) => ("decline", "the user declined to answer"),
        (ElicitationAction::Cancel, _) => ("cancel", "the user cancelled"),
        // A newer action this crate does not know yet.
        (_, _) => (
            "unknown",
            "the client gave an answer this server does not understand",
        ),
    };
    let mut tool_result = CallToolResult::success(vec![ContentBlock::text(text)]);
    tool_result.structured_content = Some(json!({ "action": action, "confirmed": confirmed }));
    tool_result.into()
}

/// `list_roots`: returns the client's roots, one URI per line, plus `structuredContent`
/// `{"roots": [{"uri", "name"}]}`.
pub(crate) async fn list_roots(
    responses: Option<InputResponses>,
    context: RequestContext<RoleServer>,
) -> CallToolResponse {
    let result: ListRootsResult = match ask(Ask::Roots, responses, &context).await {
        Ok(result) => result,
        Err(unanswered) => return unanswered,
    };
    let text = if result.roots.is_empty() {
        "the client has no roots".to_owned()
    } else {
        let uris: Vec<&str> = result.roots.iter().map(|root| root.uri.as_str()).collect();
        uris.join("\n")
    };
    let roots: Vec<Value> = result
        .roots
        .iter()
        .map(|root| json!({ "uri": root.uri, "name": root.name }))
        .collect();
    let mut tool_result = CallToolResult::success(vec![ContentBlock::text(text)]);
    tool_result.structured_content = Some(json!({ "roots": roots }));
    tool_result.into()
}

/// Puts `question` to the client in whichever form the request's era allows.
///
/// `Err` carries what the tool should return instead of an answer: an `input_required` result
/// (2026-07-28, first round) or an `isError` result.
async fn ask<T: DeserializeOwned>(
    question: Ask,
    responses: Option<InputResponses>,
    context: &RequestContext<RoleServer>,
) -> Result<T, CallToolResponse> {
    let method = question.method();
    let declared = context
        .client_capabilities()
        .is_some_and(|capabilities| question.declared_by(&capabilities));
    if !declared {
        return Err(tool_error(format!(
            "the client did not declare the {} capability, so {method} cannot be used",
            question.capability()
        )));
    }
    let answer = if is_modern(context) {
        match responses.and_then(|mut responses| responses.remove(INPUT_KEY)) {
            Some(answer) => answer,
            None => {
                let mut requests = InputRequests::new();
                requests.insert(INPUT_KEY.to_owned(), question.into_input_request());
                return Err(InputRequiredResult::from_input_requests(requests).into());
            }
        }
    } else {
        let reply = tokio::select! {
            reply = context.peer.send_request(question.into_server_request()) => reply,
            () = context.ct.cancelled() => {
                return Err(tool_error(format!("cancelled while waiting for {method}")));
            }
        };
        let reply = reply.map_err(|error| tool_error(format!("{method} failed: {error}")))?;
        serde_json::to_value(reply)
            .map_err(|error| tool_error(format!("{method} reply unusable: {error}")))?
    };
    serde_json::from_value(answer).map_err(|error| {
        tool_error(format!(
            "the client's {method} result is malformed: {error}"
        ))
    })
}

/// Whether this request follows the 2026-07-28 rules (no server→client requests).
fn is_modern(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|version| version >= ProtocolVersion::V_2026_07_28)
}

fn tool_error(message: impl Into<String>) -> CallToolResponse {
    CallToolResult::error(vec![ContentBlock::text(message.into())]).into()
}
