//! Reading an upstream's SSE response stream, and resuming it when the server closes it
//! before answering (2025-11-25 "SSE polling": reconnect with GET + `Last-Event-ID`).

use std::time::Duration;

use futures::StreamExt;
use reqwest::header::{ACCEPT, HeaderMap};
use sallyport_mcp::headers::LAST_EVENT_ID;
use sallyport_mcp::sse::SseDecoder;
use sallyport_mcp::{Limits, RequestId};
use tokio::sync::mpsc;
use tracing::debug;

use super::Incoming;

/// Most reconnections for one request.
const MAX_RESUMES: u32 = 10;
/// Delay before reconnecting when the server gave no `retry`.
const DEFAULT_RETRY: Duration = Duration::from_millis(500);
/// Longest delay honoured from a server's `retry`.
const MAX_RETRY: Duration = Duration::from_secs(10);

/// What one stream told us about resuming it.
#[derive(Debug, Default)]
pub(crate) struct StreamEnd {
    /// The response for the request arrived.
    pub(crate) answered: bool,
    /// The last event id seen.
    pub(crate) last_id: Option<String>,
    /// The server's `retry`, in milliseconds.
    pub(crate) retry_ms: Option<u64>,
}

/// How to reconnect to a session's stream.
#[derive(Debug, Clone)]
pub(crate) struct Resume {
    pub(crate) client: reqwest::Client,
    pub(crate) url: reqwest::Url,
    /// Static credentials plus `Mcp-Session-Id` and `MCP-Protocol-Version`.
    pub(crate) headers: HeaderMap,
}

/// Reads one SSE stream, delivering messages with `related` set.
pub(crate) async fn read(
    resp: reqwest::Response,
    server: &str,
    limits: Limits,
    incoming: &mpsc::Sender<Incoming>,
    related: Option<i64>,
    request_id: Option<&RequestId>,
) -> StreamEnd {
    let mut end = StreamEnd::default();
    let mut decoder = SseDecoder::new(limits.max_bytes);
    let mut stream = resp.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        let events = match decoder.feed(&chunk) {
            Ok(ev) => ev,
            Err(e) => {
                debug!(server, error = %e, "Upstream SSE stream invalid; closed.");
                break;
            }
        };
        for ev in events {
            if ev.id.is_some() {
                end.last_id = ev.id.clone();
            }
            if ev.retry.is_some() {
                end.retry_ms = ev.retry;
            }
            if ev.data.is_empty() || ev.event.as_deref().is_some_and(|e| e != "message") {
                continue;
            }
            let Ok(msg) = sallyport_mcp::parse_message(ev.data.as_bytes(), &limits) else {
                continue;
            };
            if msg.is_response() && request_id.is_some() && msg.id().as_ref() == request_id {
                end.answered = true;
            }
            let _ = incoming.send(Incoming::Message { msg, related }).await;
        }
    }
    end
}

/// Reads a request's stream and, while it ends unanswered with an event id to resume from,
/// reconnects with `Last-Event-ID` after the server's `retry` delay.
pub(crate) async fn read_resuming(
    first: reqwest::Response,
    server: &str,
    limits: Limits,
    incoming: &mpsc::Sender<Incoming>,
    related: Option<i64>,
    request_id: Option<&RequestId>,
    resume: Option<&Resume>,
) -> bool {
    let mut end = read(first, server, limits, incoming, related, request_id).await;
    let mut attempts = 0;
    while !end.answered && request_id.is_some() && attempts < MAX_RESUMES {
        let (Some(resume), Some(last)) = (resume, end.last_id.clone()) else {
            break;
        };
        attempts += 1;
        let delay = end
            .retry_ms
            .map_or(DEFAULT_RETRY, Duration::from_millis)
            .min(MAX_RETRY);
        tokio::time::sleep(delay).await;
        let get = resume
            .client
            .get(resume.url.clone())
            .headers(resume.headers.clone())
            .header(ACCEPT, "text/event-stream")
            .header(LAST_EVENT_ID, last.as_str());
        let Ok(resp) = get.send().await else { break };
        if !resp.status().is_success() {
            debug!(server, status = %resp.status(), "Upstream refused to resume its stream.");
            break;
        }
        let next = read(resp, server, limits, incoming, related, request_id).await;
        end = StreamEnd {
            last_id: next.last_id.or(end.last_id),
            retry_ms: next.retry_ms.or(end.retry_ms),
            answered: next.answered,
        };
    }
    end.answered
}
