//! The demo prompts: `summarize {text}` and `code_review {code, language?}`.

use rmcp::{
    ErrorData as McpError,
    model::{GetPromptResult, JsonObject, Prompt, PromptArgument, PromptMessage, Role},
};
use serde_json::json;

const SUMMARIZE: &str = "summarize";
const CODE_REVIEW: &str = "code_review";

/// Every prompt.
pub(crate) fn list() -> Vec<Prompt> {
    vec![
        Prompt::new(
            SUMMARIZE,
            Some("Ask the model for a short summary of a text."),
            Some(vec![
                PromptArgument::new("text")
                    .with_description("The text to summarize.")
                    .with_required(true),
            ]),
        )
        .with_title("Summarize"),
        Prompt::new(
            CODE_REVIEW,
            Some("Ask the model to review a piece of code."),
            Some(vec![
                PromptArgument::new("code")
                    .with_description("The code to review.")
                    .with_required(true),
                PromptArgument::new("language")
                    .with_description("The programming language, if known (e.g. rust).")
                    .with_required(false),
            ]),
        )
        .with_title("Code review"),
    ]
}

/// Renders prompt `name`; an unknown prompt or a missing required argument is `-32602`.
pub(crate) fn get(name: &str, arguments: Option<&JsonObject>) -> Result<GetPromptResult, McpError> {
    match name {
        SUMMARIZE => {
            let text = required(arguments, "text")?;
            let message =
                format!("Please summarize the following text in a few sentences:\n\n{text}");
            Ok(
                GetPromptResult::new(vec![PromptMessage::new_text(Role::User, message)])
                    .with_description("Summarize a text"),
            )
        }
        CODE_REVIEW => {
            let code = required(arguments, "code")?;
            let language = optional(arguments, "language").unwrap_or_default();
            let subject = if language.is_empty() {
                "code".to_owned()
            } else {
                format!("{language} code")
            };
            let message = format!(
                "Please review the following {subject}. Point out bugs, security problems and \
                 unclear parts, and suggest improvements.\n\n```{language}\n{code}\n```"
            );
            Ok(
                GetPromptResult::new(vec![PromptMessage::new_text(Role::User, message)])
                    .with_description("Review a piece of code"),
            )
        }
        _ => Err(McpError::invalid_params(
            "prompt not found",
            Some(json!({ "name": name })),
        )),
    }
}

fn required<'a>(arguments: Option<&'a JsonObject>, name: &str) -> Result<&'a str, McpError> {
    optional(arguments, name).ok_or_else(|| {
        McpError::invalid_params(
            format!("missing required string argument `{name}`"),
            Some(json!({ "argument": name })),
        )
    })
}

fn optional<'a>(arguments: Option<&'a JsonObject>, name: &str) -> Option<&'a str> {
    arguments?.get(name)?.as_str()
}
