//! Turning a session's reply channel into an HTTP answer (JSON or SSE).

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sallyport_mcp::sse::{encode_comment, encode_event};
use sallyport_mcp::{Message, error_code, version::Era};
use tokio::sync::mpsc;

use super::edge::json_response;

/// Keep-alive interval on long-lived streams.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// Answers one request: JSON when the first message is the response itself, otherwise an
/// SSE stream carrying related messages and ending with the response.
pub(crate) async fn reply_response(mut rx: mpsc::Receiver<Message>, era: Era) -> Response {
    let Some(first) = rx.recv().await else {
        // The request was cancelled or the session closed before any answer.
        return StatusCode::ACCEPTED.into_response();
    };
    if first.is_response() {
        return json_response(status_for(&first, era), &first);
    }
    let mut ticker = tokio::time::interval(KEEPALIVE);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.reset();
    let state = (Some(first), rx, false, ticker);
    let stream = futures::stream::unfold(state, |(pending, mut rx, done, mut ticker)| async move {
        if done {
            return None;
        }
        let msg = match pending {
            Some(m) => m,
            None => tokio::select! {
                m = rx.recv() => m?,
                _ = ticker.tick() => {
                    let ping = encode_comment("keep-alive");
                    return Some((Ok::<Bytes, Infallible>(ping), (None, rx, false, ticker)));
                }
            },
        };
        let last = msg.is_response();
        Some((Ok(sse_message(&msg)), (None, rx, last, ticker)))
    });
    sse_response(Body::from_stream(stream))
}

/// The HTTP status for a final response. 2026-07-28 gives some JSON-RPC errors an HTTP
/// status of their own: 404 for unknown methods, 400 for header, capability and version errors.
fn status_for(msg: &Message, era: Era) -> StatusCode {
    if era != Era::Modern {
        return StatusCode::OK;
    }
    match msg.error_code().and_then(|c| i32::try_from(c).ok()) {
        Some(error_code::METHOD_NOT_FOUND) => StatusCode::NOT_FOUND,
        Some(
            error_code::HEADER_MISMATCH
            | error_code::MISSING_REQUIRED_CLIENT_CAPABILITY
            | error_code::UNSUPPORTED_PROTOCOL_VERSION,
        ) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

/// A long-lived stream of unsolicited messages, with keep-alive comments.
pub(crate) fn session_stream(rx: mpsc::Receiver<Message>, first: Option<Bytes>) -> Response {
    let mut ticker = tokio::time::interval(KEEPALIVE);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stream = futures::stream::unfold(
        (first, rx, ticker),
        |(first, mut rx, mut ticker)| async move {
            if let Some(b) = first {
                return Some((Ok::<Bytes, Infallible>(b), (None, rx, ticker)));
            }
            tokio::select! {
                m = rx.recv() => m.map(|m| (Ok(sse_message(&m)), (None, rx, ticker))),
                _ = ticker.tick() => Some((Ok(encode_comment("keep-alive")), (None, rx, ticker))),
            }
        },
    );
    sse_response(Body::from_stream(stream))
}

pub(crate) fn sse_message(msg: &Message) -> Bytes {
    let json = String::from_utf8(msg.to_bytes()).unwrap_or_default();
    encode_event(Some("message"), None, &json)
}

fn sse_response(body: Body) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .header("x-accel-buffering", "no")
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
