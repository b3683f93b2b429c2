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
use crate::traffic::StreamLimits;

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

/// A long-lived stream of unsolicited messages, with keep-alive comments. It ends when the
/// session's sender goes, after `limits.idle` without a message, or after `limits.life`.
pub(crate) fn session_stream(
    rx: mpsc::Receiver<Message>,
    first: Option<Bytes>,
    limits: StreamLimits,
) -> Response {
    let mut ticker = tokio::time::interval(KEEPALIVE);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let now = tokio::time::Instant::now();
    let clock = StreamClock {
        ends_at: limits.life.and_then(|l| now.checked_add(l)),
        idle: limits.idle,
        quiet_until: limits.idle.and_then(|i| now.checked_add(i)),
    };
    let stream = futures::stream::unfold(
        (first, rx, ticker, clock),
        |(first, mut rx, mut ticker, mut clock)| async move {
            if let Some(b) = first {
                return Some((Ok::<Bytes, Infallible>(b), (None, rx, ticker, clock)));
            }
            tokio::select! {
                m = rx.recv() => {
                    clock.heard();
                    m.map(|m| (Ok(sse_message(&m)), (None, rx, ticker, clock)))
                }
                _ = ticker.tick() => Some((Ok(encode_comment("keep-alive")), (None, rx, ticker, clock))),
                () = clock.expired() => None,
            }
        },
    );
    sse_response(Body::from_stream(stream))
}

/// When a long-lived stream must end.
struct StreamClock {
    /// The end of the stream's life.
    ends_at: Option<tokio::time::Instant>,
    /// The idle limit, restarted by every message.
    idle: Option<Duration>,
    /// When the stream ends unless a message comes first.
    quiet_until: Option<tokio::time::Instant>,
}

impl StreamClock {
    fn heard(&mut self) {
        let now = tokio::time::Instant::now();
        self.quiet_until = self.idle.and_then(|i| now.checked_add(i));
    }

    /// Resolves when the stream has lived too long or stayed quiet too long.
    async fn expired(&self) {
        let deadline = match (self.ends_at, self.quiet_until) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return std::future::pending().await,
        };
        tokio::time::sleep_until(deadline).await;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn note() -> Message {
        Message::notification("notifications/tools/list_changed", None)
    }

    async fn body_of(resp: Response) -> String {
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn limits(idle: u64, life: u64) -> StreamLimits {
        StreamLimits {
            idle: Some(Duration::from_secs(idle)),
            life: Some(Duration::from_secs(life)),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_message_restarts_the_idle_limit_and_keepalives_do_not() {
        let (tx, rx) = mpsc::channel(8);
        let started = tokio::time::Instant::now();
        let resp = session_stream(rx, None, limits(20, 1000));
        let sender = tokio::spawn(async move {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_secs(10)).await;
                tx.send(note()).await.ok();
            }
            // Hold the sender open: only the idle limit may end the stream.
            tokio::time::sleep(Duration::from_secs(10_000)).await;
            drop(tx);
        });
        let text = body_of(resp).await;
        assert_eq!(started.elapsed(), Duration::from_secs(30 + 20));
        assert_eq!(text.matches("list_changed").count(), 3, "{text}");
        assert!(text.contains(": keep-alive"), "{text}");
        sender.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_stream_ends_at_the_end_of_its_life() {
        let (tx, rx) = mpsc::channel(8);
        let started = tokio::time::Instant::now();
        let resp = session_stream(rx, None, limits(20, 60));
        let sender = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                if tx.send(note()).await.is_err() {
                    break;
                }
            }
        });
        let _ = body_of(resp).await;
        assert_eq!(started.elapsed(), Duration::from_secs(60));
        sender.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn without_limits_a_stream_lasts_as_long_as_its_session() {
        let (tx, rx) = mpsc::channel(8);
        let started = tokio::time::Instant::now();
        let resp = session_stream(rx, None, StreamLimits::default());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(100_000)).await;
            drop(tx);
        });
        let _ = body_of(resp).await;
        assert_eq!(started.elapsed(), Duration::from_secs(100_000));
    }
}
