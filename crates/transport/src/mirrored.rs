//! `Mcp-Param-*` headers (2026-07-28 `x-mcp-header`): values a client mirrors from tool
//! arguments into HTTP headers. Sallyport does not interpret them; as the spec asks of
//! intermediaries, it forwards them to the Streamable HTTP upstream that serves the request,
//! which validates them against the body. They travel with the request's task, the way a
//! tracing span does, so the routing layers in between need not know about HTTP.

/// The header prefix.
pub const PREFIX: &str = "mcp-param-";

tokio::task_local! {
    static MIRRORED: Vec<(String, String)>;
}

/// Runs `fut` with `headers` attached to the request it handles (a plain function, so that
/// `fut` is held once; see `trace_context::scope`).
pub fn scope<F: std::future::Future>(
    headers: Vec<(String, String)>,
    fut: F,
) -> impl std::future::Future<Output = F::Output> {
    MIRRORED.scope(headers, fut)
}

/// The headers attached to the current request, if any.
pub(crate) fn current() -> Vec<(String, String)> {
    MIRRORED.try_with(Clone::clone).unwrap_or_default()
}

/// The `Mcp-Param-*` headers of a request, names lower-cased.
pub fn from_headers(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(k, _)| k.as_str().starts_with(PREFIX))
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_owned(), v.to_owned()))
        })
        .collect()
}
