//! One POST exchange with a Streamable HTTP upstream: sending it, and reading its answer
//! (JSON or SSE) into the link.

use std::sync::Arc;

use futures::StreamExt;
use reqwest::header::CONTENT_TYPE;
use sallyport_limits::CallFailure;
use sallyport_mcp::headers::MCP_SESSION_ID;
use sallyport_mcp::{Body, Limits, Message, error_code, parse_body};
use tokio::sync::mpsc;

use super::super::{Inbound, Incoming, sse_read};

/// What a POST task needs; it reports a minted session id back through
/// `Incoming::SessionId` rather than holding a reference to the wire.
pub(crate) struct PostCtx {
    pub(crate) server: Arc<str>,
    pub(crate) limits: Limits,
    pub(crate) incoming: mpsc::Sender<Incoming>,
    pub(crate) inbound: Arc<Inbound>,
    pub(crate) link_id: Option<i64>,
    pub(crate) request_id: Option<sallyport_mcp::RequestId>,
    pub(crate) is_initialize: bool,
    pub(crate) resume: Option<sse_read::Resume>,
}

/// A sent POST: its response once the head has arrived, or why there is none (a reason
/// that names no URL).
pub(crate) type Sent = Result<reqwest::Response, String>;

/// The request timed out before its answer began (or, for JSON, was read).
#[derive(Debug)]
pub(crate) struct TimedOut;

/// Sends the POST and reads its whole answer (the spawned path: notifications, responses).
pub(crate) async fn run(request: impl Future<Output = Sent>, ctx: PostCtx) {
    if let Some(resp) = open(request, &ctx).await {
        finish(resp, ctx).await;
    }
}

/// Sends the POST and handles answers without a body to read; returns the response when
/// there is one (JSON or SSE).
pub(crate) async fn open(
    request: impl Future<Output = Sent>,
    ctx: &PostCtx,
) -> Option<reqwest::Response> {
    let resp = match request.await {
        Ok(r) => r,
        Err(e) => {
            let reason = format!("upstream {} unreachable: {e}", ctx.server);
            fail(ctx, &reason).await;
            return None;
        }
    };
    if ctx.is_initialize
        && let Some(id) = resp
            .headers()
            .get(MCP_SESSION_ID)
            .and_then(|v| v.to_str().ok())
    {
        let _ = ctx.incoming.send(Incoming::SessionId(id.to_owned())).await;
    }
    let status = resp.status();
    if status == reqwest::StatusCode::ACCEPTED {
        return None;
    }
    if status == reqwest::StatusCode::NOT_FOUND && ctx.request_id.is_some() && !is_json(&resp) {
        let _ = ctx
            .incoming
            .send(Incoming::Closed {
                reason: "upstream session expired (404)".into(),
            })
            .await;
        fail(ctx, "upstream session expired").await;
        return None;
    }
    Some(resp)
}

/// Reads an answer's body (an SSE stream, resuming it when it breaks, or one JSON body) and
/// routes every message in it.
pub(crate) async fn finish(resp: reqwest::Response, ctx: PostCtx) {
    let status = resp.status();
    if is_sse(&resp) {
        let (rid, resume) = (ctx.request_id.as_ref(), ctx.resume.as_ref());
        let answered = sse_read::read_resuming(
            resp,
            &ctx.server,
            ctx.limits,
            &ctx.incoming,
            ctx.link_id,
            rid,
            resume,
        )
        .await;
        if !answered && ctx.request_id.is_some() {
            fail(
                &ctx,
                &format!(
                    "upstream {} closed its stream without answering",
                    ctx.server
                ),
            )
            .await;
        }
        return;
    }
    let body = match read_capped(resp, ctx.limits.max_bytes).await {
        Ok(b) => b,
        Err(reason) => return fail(&ctx, &reason).await,
    };
    match parse_body(&body, &ctx.limits) {
        Ok(Body::Single(mut msg)) => {
            // An HTTP error answered with `"id": null` (e.g. a 400 for a bad header) still
            // answers this POST's request; without its id the caller would wait until timeout.
            if msg.is_response()
                && msg.id().is_none()
                && let Some(id) = &ctx.request_id
            {
                msg.set_id(id);
            }
            if status.is_server_error() {
                super::super::failure::mark(&mut msg, CallFailure::UpstreamServerError);
            }
            deliver(&ctx, msg).await
        }
        Ok(Body::Batch(msgs)) => {
            for m in msgs {
                deliver(&ctx, m).await;
            }
        }
        Err(_) if ctx.request_id.is_some() => {
            fail(
                &ctx,
                &format!(
                    "upstream {} answered HTTP {} without a JSON-RPC body",
                    ctx.server,
                    status.as_u16()
                ),
            )
            .await;
        }
        Err(_) => {}
    }
}

/// Hands an answer to its caller. The initialize answer goes through the link's dispatch
/// task, behind the session id it minted, so the id is in place before the next request;
/// every other answer is routed directly.
async fn deliver(ctx: &PostCtx, msg: Message) {
    if ctx.is_initialize {
        let related = ctx.link_id;
        let _ = ctx.incoming.send(Incoming::Message { msg, related }).await;
    } else {
        ctx.inbound.route(msg, ctx.link_id).await;
    }
}

async fn fail(ctx: &PostCtx, reason: &str) {
    if let Some(id) = &ctx.request_id {
        let mut err = Message::error(Some(id.clone()), error_code::INTERNAL_ERROR, reason, None);
        super::super::failure::mark(&mut err, CallFailure::Transport);
        deliver(ctx, err).await;
    }
}

async fn read_capped(resp: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| without_url(&e))?;
        if out.len() + chunk.len() > max {
            return Err(format!("upstream response exceeds {max} bytes"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

pub(crate) fn is_sse(resp: &reqwest::Response) -> bool {
    content_type(resp).starts_with("text/event-stream")
}

fn is_json(resp: &reqwest::Response) -> bool {
    content_type(resp).starts_with("application/json")
}

fn content_type(resp: &reqwest::Response) -> &str {
    resp.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// reqwest errors carry the URL, which may carry credentials in userinfo or query.
pub(crate) fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "body error"
    } else {
        "request failed"
    };
    kind.to_owned()
}
