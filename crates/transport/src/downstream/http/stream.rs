//! Turning a session's reply channel into an HTTP answer (JSON or SSE).

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sallyport_mcp::sse::{encode_comment, encode_event, encode_retry};
use sallyport_mcp::{Message, error_code, version::Era};
use tokio::sync::mpsc;

use super::edge::json_response;

/// Keep-alive interval on long-lived streams.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// Answers one request. With `always_sse` (legacy clients that accept SSE) the answer is an
/// SSE stream opening with a priming event (an id, empty data) and a `retry` hint, each event
/// carrying an id; otherwise JSON when the first message is the response itself, else SSE.
pub(crate) fn reply(
    first: Option<Message>,
    rx: mpsc::Receiver<Message>,
    era: Era,
    always_sse: bool,
) -> Response {
    let Some(first) = first else {
        // The request was cancelled or the session closed before any answer.
        return StatusCode::ACCEPTED.into_response();
    };
    if first.is_response() && is_step_up(&first) {
        // A challenge the client's HTTP layer must see: 403, never inside a 200 stream.
        let mut resp = json_response(StatusCode::FORBIDDEN, &first);
        resp.extensions_mut().insert(StepUpChallenge {
            scope: error_field(&first, "/data/scope").map(str::to_owned),
            description: error_field(&first, "/message")
                .unwrap_or_default()
                .to_owned(),
        });
        return resp;
    }
    if first.is_response() && !always_sse {
        return json_response(status_for(&first, era), &first);
    }
    let ids = always_sse.then(EventIds::new);
    let mut ticker = tokio::time::interval(KEEPALIVE);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.reset();
    let priming = ids.as_ref().map(|i| {
        let mut b = encode_retry(RETRY_MS).to_vec();
        b.extend_from_slice(&encode_event(None, Some(&i.next()), ""));
        Bytes::from(b)
    });
    let state = (priming, Some(first), rx, false, ticker, ids);
    let stream = futures::stream::unfold(
        state,
        |(priming, pending, mut rx, done, mut ticker, ids)| async move {
            if let Some(p) = priming {
                return Some((
                    Ok::<Bytes, Infallible>(p),
                    (None, pending, rx, done, ticker, ids),
                ));
            }
            if done {
                return None;
            }
            let msg = match pending {
                Some(m) => m,
                None => tokio::select! {
                    m = rx.recv() => m?,
                    _ = ticker.tick() => {
                        let ping = encode_comment("keep-alive");
                        return Some((Ok(ping), (None, None, rx, false, ticker, ids)));
                    }
                },
            };
            let last = msg.is_response();
            let id = ids.as_ref().map(EventIds::next);
            Some((
                Ok(sse_event(&msg, id.as_deref())),
                (None, None, rx, last, ticker, ids),
            ))
        },
    );
    sse_response(Body::from_stream(stream))
}

/// Marks a 403 step-up answer; the handler adds the `WWW-Authenticate` challenge, which
/// needs the listener's resource metadata.
#[derive(Debug, Clone)]
pub(crate) struct StepUpChallenge {
    /// Scope to ask for, when the policy names one.
    pub(crate) scope: Option<String>,
    /// The refusal's message, repeated as `error_description`.
    pub(crate) description: String,
}

fn error_field<'a>(msg: &'a Message, pointer: &str) -> Option<&'a str> {
    msg.error_value()?.pointer(pointer)?.as_str()
}

fn is_step_up(msg: &Message) -> bool {
    msg.error_code() == Some(i64::from(error_code::STEP_UP_REQUIRED))
}

/// The reconnection delay suggested to clients, in milliseconds.
const RETRY_MS: u64 = 1000;

/// Event ids of one stream: `<random stream id>-<sequence>`.
struct EventIds {
    stream: String,
    seq: std::sync::atomic::AtomicU64,
}

impl EventIds {
    fn new() -> Self {
        Self {
            stream: format!("{:016x}", rand::random::<u64>()),
            seq: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn next(&self) -> String {
        let n = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{}-{n}", self.stream)
    }
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
    sse_event(msg, None)
}

fn sse_event(msg: &Message, id: Option<&str>) -> Bytes {
    let json = String::from_utf8(msg.to_bytes()).unwrap_or_default();
    encode_event(Some("message"), id, &json)
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
