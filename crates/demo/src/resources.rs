//! The demo resources: `demo://readme`, `demo://logo.png` and the template `demo://notes/{id}`.

use rmcp::{
    ErrorData as McpError,
    model::{ReadResourceResult, Resource, ResourceContents, ResourceTemplate},
};
use serde_json::json;

const README_URI: &str = "demo://readme";
const LOGO_URI: &str = "demo://logo.png";
const NOTES_PREFIX: &str = "demo://notes/";
const NOTES_TEMPLATE: &str = "demo://notes/{id}";
/// Longest note id accepted, so a URI cannot make us echo megabytes.
const MAX_NOTE_ID_LEN: usize = 64;

const README: &str = "\
# Sallyport demo server

A small MCP server built into Sallyport, for trying the gateway without Node or Python.

Tools: echo, add, word_count, now, slow_count (progress, cancellation), ask_model (sampling),
confirm (elicitation), list_roots (roots), fail (isError) and toggle_extra_tool (shows or hides
`extra` and sends notifications/tools/list_changed).

Resources: demo://readme, demo://logo.png and demo://notes/{id}.

Prompts: summarize and code_review.
";

/// A 1×1 teal PNG (70 bytes), base64-encoded.
const LOGO_PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mOQ7yr4DwAD/gIZzFqJ9wAAAABJRU5ErkJggg==";
const LOGO_PNG_LEN: u64 = 70;

/// Every concrete resource.
pub(crate) fn list() -> Vec<Resource> {
    vec![
        Resource::new(README_URI, "readme")
            .with_title("Demo server README")
            .with_description("What this demo server offers.")
            .with_mime_type("text/markdown")
            .with_size(README.len() as u64),
        Resource::new(LOGO_URI, "logo.png")
            .with_title("Demo logo")
            .with_description("A tiny PNG image, to exercise binary (blob) resources.")
            .with_mime_type("image/png")
            .with_size(LOGO_PNG_LEN),
    ]
}

/// Every resource template.
pub(crate) fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new(NOTES_TEMPLATE, "note")
            .with_title("Demo note")
            .with_description("A generated text note; `id` is 1 to 64 letters, digits, `-` or `_`.")
            .with_mime_type("text/plain"),
    ]
}

/// Reads one resource; an unknown URI is a resource-not-found error (`-32002`, which rmcp turns
/// into `-32602` for 2026-07-28 clients).
pub(crate) fn read(uri: &str) -> Result<ReadResourceResult, McpError> {
    let contents = match uri {
        README_URI => ResourceContents::text(README, uri).with_mime_type("text/markdown"),
        LOGO_URI => ResourceContents::blob(LOGO_PNG_BASE64, uri).with_mime_type("image/png"),
        _ => {
            let Some(id) = uri.strip_prefix(NOTES_PREFIX).filter(|id| is_note_id(id)) else {
                return Err(McpError::resource_not_found(
                    "resource not found",
                    Some(json!({ "uri": uri })),
                ));
            };
            ResourceContents::text(
                format!("Note {id}: this note was generated on demand."),
                uri,
            )
        }
    };
    Ok(ReadResourceResult::new(vec![contents]))
}

fn is_note_id(id: &str) -> bool {
    (1..=MAX_NOTE_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_accept_plain_ids_only() {
        assert!(read("demo://notes/abc-1_2").is_ok());
        assert!(read("demo://notes/").is_err());
        assert!(read("demo://notes/a/b").is_err());
        assert!(read(&format!("demo://notes/{}", "x".repeat(65))).is_err());
        assert!(read("demo://nope").is_err());
    }

    #[test]
    fn logo_length_matches_the_blob() {
        // 4 base64 characters carry 3 bytes; the two `=` pad characters carry none.
        let padding = LOGO_PNG_BASE64.bytes().filter(|&byte| byte == b'=').count();
        let decoded_len = LOGO_PNG_BASE64.len() / 4 * 3 - padding;
        assert_eq!(decoded_len as u64, LOGO_PNG_LEN);
        // `iVBORw0KGgo` is the base64 of the PNG signature.
        assert!(LOGO_PNG_BASE64.starts_with("iVBORw0KGgo"));
    }
}
