//! The Streamable HTTP endpoint (`/mcp`), dual-era.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sallyport_mcp::headers::{self as h, validate_modern_headers, validate_modern_meta};
use sallyport_mcp::version::{self, Era};
use sallyport_mcp::{Body, Message, MessageKind, parse_body};
use sallyport_pipeline::{Denial, DenyCode, Principal};
use tokio::sync::mpsc;

use super::edge::{json_response, refuse};
use super::stream::{reply, session_stream};
use crate::gateway::{Core, Gateway};
use crate::session::Session;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// POST /mcp: one message (or a 2025-03-26 batch).
pub(crate) async fn post(
    State(gw): State<Arc<Gateway>>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let from_http = crate::trace_context::TraceContext::from_headers(&headers);
    let resp =
        crate::trace_context::scope(from_http, post_message(&gw, principal, &headers, &body)).await;
    super::authn::with_step_up_challenge(&gw.core(), resp)
}

async fn post_message(
    gw: &Arc<Gateway>,
    principal: Principal,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let core = gw.core();
    let version_header = header(headers, h::MCP_PROTOCOL_VERSION);
    let era_hint = if version_header == Some(version::MODERN) {
        Era::Modern
    } else {
        Era::Legacy
    };
    if !is_json(headers) {
        let d = Denial::client(
            DenyCode::InvalidMessage,
            "Content-Type must be application/json",
        );
        return with_status(
            refuse(&core, &d, era_hint, None, None),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        );
    }
    let parsed = match parse_body(body, &core.limits) {
        Ok(b) => b,
        Err(e) => {
            let code = match e {
                sallyport_mcp::EnvelopeError::TooLarge { .. } => DenyCode::MessageTooLarge,
                sallyport_mcp::EnvelopeError::Json(_)
                | sallyport_mcp::EnvelopeError::TooDeep { .. } => DenyCode::ParseError,
                _ => DenyCode::InvalidMessage,
            };
            return refuse(
                &core,
                &Denial::client(code, e.to_string()),
                era_hint,
                e.id(),
                None,
            );
        }
    };
    let accepts_sse =
        header(headers, header::ACCEPT.as_str()).is_some_and(|a| a.contains("text/event-stream"));
    if let Some(sid) = header(headers, h::MCP_SESSION_ID) {
        return post_legacy(
            gw,
            &core,
            sid,
            version_header,
            parsed,
            principal,
            accepts_sse,
        )
        .await;
    }
    match parsed {
        Body::Single(msg) if is_modern(version_header, &msg) => {
            post_modern(gw, &core, headers, msg, principal).await
        }
        Body::Single(msg) if msg.method() == Some("initialize") => {
            initialize(gw.clone(), &core, msg, principal).await
        }
        Body::Batch(_) if version_header == Some(version::MODERN) => {
            let d = Denial::client(
                DenyCode::BatchNotAllowed,
                "JSON-RPC batches are not allowed in protocol version 2026-07-28; send one message per POST",
            );
            refuse(&core, &d, Era::Modern, None, None)
        }
        other => {
            let (id, method) = first_id_method(&other);
            let d = Denial::client(
                DenyCode::InvalidMessage,
                "Bad Request: missing Mcp-Session-Id header; send initialize first, or use protocol version 2026-07-28",
            );
            refuse(&core, &d, Era::Legacy, id, method.as_deref())
        }
    }
}

fn is_modern(version_header: Option<&str>, msg: &Message) -> bool {
    version_header == Some(version::MODERN)
        || msg
            .params_meta()
            .is_some_and(|m| m.contains_key(version::META_PROTOCOL_VERSION))
        || version_header.is_some_and(|v| version::era_of(v).is_none())
}

async fn initialize(gw: Arc<Gateway>, core: &Core, msg: Message, principal: Principal) -> Response {
    if gw.session_count() >= core.edge.max_sessions {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many sessions; try again later",
        )
            .into_response();
    }
    let opened = Session::initialize(gw.clone(), &msg, principal, true).await;
    if !gw.insert_session(opened.session.clone()) {
        opened.session.close().await;
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many sessions; try again later",
        )
            .into_response();
    }
    let mut resp = json_response(StatusCode::OK, &opened.response);
    if let Some(id) = opened
        .session
        .id()
        .and_then(|i| HeaderValue::from_str(i).ok())
    {
        resp.headers_mut().insert(h::MCP_SESSION_ID, id);
    }
    resp
}

async fn post_legacy(
    gw: &Arc<Gateway>,
    core: &Core,
    sid: &str,
    version_header: Option<&str>,
    body: Body,
    principal: Principal,
    accepts_sse: bool,
) -> Response {
    let Some(session) = gw.session_for(sid, &principal) else {
        let (id, method) = first_id_method(&body);
        let d = Denial::client(
            DenyCode::InvalidMessage,
            "Session not found: it ended or never existed; send initialize to start a new session",
        );
        return with_status(
            refuse(core, &d, Era::Legacy, id, method.as_deref()),
            StatusCode::NOT_FOUND,
        );
    };
    if let Some(v) = version_header
        && v != session.version()
    {
        let d = Denial::client(
            DenyCode::UnsupportedVersion,
            format!(
                "MCP-Protocol-Version {v:?} does not match this session's version {:?}",
                session.version()
            ),
        );
        return refuse(core, &d, Era::Legacy, None, None);
    }
    match body {
        Body::Single(msg) => dispatch(session, msg, principal, Era::Legacy, accepts_sse).await,
        Body::Batch(msgs) if version::allows_batch(session.version()) => {
            batch(session, msgs, principal).await
        }
        Body::Batch(_) => {
            let d = Denial::client(
                DenyCode::BatchNotAllowed,
                format!(
                    "JSON-RPC batches are only allowed in protocol version 2025-03-26; this session uses {}",
                    session.version()
                ),
            );
            refuse(core, &d, Era::Legacy, None, None)
        }
    }
}

async fn post_modern(
    gw: &Arc<Gateway>,
    core: &Core,
    headers: &HeaderMap,
    msg: Message,
    principal: Principal,
) -> Response {
    let id = msg.id();
    let method = msg.method().map(str::to_owned);
    let body_version = msg
        .params_meta()
        .and_then(|m| m.get(version::META_PROTOCOL_VERSION))
        .and_then(|v| v.as_str());
    if let (Some(hv), Some(bv)) = (header(headers, h::MCP_PROTOCOL_VERSION), body_version)
        && hv != bv
    {
        let d = Denial::client(
            DenyCode::HeaderMismatch,
            format!(
                "MCP-Protocol-Version header {hv:?} does not match the body's _meta protocolVersion {bv:?}"
            ),
        );
        return refuse(core, &d, Era::Modern, id, method.as_deref());
    }
    if let Some(v) = header(headers, h::MCP_PROTOCOL_VERSION)
        && v != version::MODERN
    {
        let d = Denial::client(
            DenyCode::UnsupportedVersion,
            format!("Unsupported protocol version: {v}"),
        )
        .with_data(serde_json::json!({ "supported": version::ALL_VERSIONS, "requested": v }));
        return refuse(core, &d, Era::Modern, id, method.as_deref());
    }
    if let Err(e) = validate_modern_meta(&msg) {
        let code = if e.jsonrpc_code() == sallyport_mcp::error_code::UNSUPPORTED_PROTOCOL_VERSION {
            DenyCode::UnsupportedVersion
        } else {
            DenyCode::MissingMeta
        };
        let mut d = Denial::client(code, e.to_string());
        d.data = e.data();
        return refuse(core, &d, Era::Modern, id, method.as_deref());
    }
    let name = header(headers, h::MCP_NAME);
    if let Err(e) = validate_modern_headers(
        header(headers, h::MCP_METHOD),
        name,
        header(headers, h::MCP_PROTOCOL_VERSION),
        &msg,
    ) {
        return refuse(
            core,
            &Denial::client(DenyCode::HeaderMismatch, e.to_string()),
            Era::Modern,
            id,
            method.as_deref(),
        );
    }
    if msg.kind() == MessageKind::Notification {
        return StatusCode::ACCEPTED.into_response();
    }
    let mirrored = crate::mirrored::from_headers(headers);
    crate::mirrored::scope(
        mirrored,
        dispatch(gw.stateless_session(), msg, principal, Era::Modern, false),
    )
    .await
}

/// Handles one message in the request's own task. The session's work runs inline until the
/// first message for the client is ready; only when the answer turns out to be a stream
/// (progress, server requests, or an SSE-preferring legacy client) does the rest of the work
/// move to a task of its own, feeding the stream.
async fn dispatch(
    session: Arc<Session>,
    msg: Message,
    principal: Principal,
    era: Era,
    always_sse: bool,
) -> Response {
    let is_request = msg.kind() == MessageKind::Request;
    let (tx, mut rx) = mpsc::channel(32);
    let mirrored = crate::mirrored::current();
    let from_http = crate::trace_context::from_http();
    let work = crate::mirrored::scope(
        mirrored,
        crate::trace_context::scope(from_http, async move {
            session.handle(msg, &principal, tx).await
        }),
    );
    if !is_request {
        tokio::spawn(work);
        return StatusCode::ACCEPTED.into_response();
    }
    let mut work = Detached::new(work);
    let first = tokio::select! {
        biased;
        () = work.run() => rx.recv().await,
        first = rx.recv() => first,
    };
    // Unfinished work (a streamed answer) continues in a task of its own.
    drop(work);
    reply(first, rx, era, always_sse)
}

/// Work that runs inline while it is polled and moves to a task of its own when dropped
/// unfinished, so that neither a streamed answer nor a client that goes away cuts it short
/// (stream closing cancels through the session, as when the work ran in a task from the start).
struct Detached<F: Future<Output = ()> + Send + 'static>(Option<std::pin::Pin<Box<F>>>);

impl<F: Future<Output = ()> + Send + 'static> Detached<F> {
    fn new(work: F) -> Self {
        Self(Some(Box::pin(work)))
    }

    async fn run(&mut self) {
        if let Some(work) = self.0.as_mut() {
            work.await;
            self.0 = None;
        }
    }
}

impl<F: Future<Output = ()> + Send + 'static> Drop for Detached<F> {
    fn drop(&mut self) {
        if let Some(work) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(work);
        }
    }
}

async fn batch(session: Arc<Session>, msgs: Vec<Message>, principal: Principal) -> Response {
    let mut answers = Vec::new();
    for msg in msgs {
        let is_request = msg.kind() == MessageKind::Request;
        let (tx, mut rx) = mpsc::channel(32);
        let s = session.clone();
        let p = principal.clone();
        let from_http = crate::trace_context::from_http();
        tokio::spawn(crate::trace_context::scope(from_http, async move {
            s.handle(msg, &p, tx).await
        }));
        if !is_request {
            continue;
        }
        while let Some(m) = rx.recv().await {
            if m.is_response() {
                answers.push(m.into_value());
                break;
            }
        }
    }
    if answers.is_empty() {
        return StatusCode::ACCEPTED.into_response();
    }
    let body = serde_json::to_vec(&answers).unwrap_or_default();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// GET /mcp: the legacy session's stream of unsolicited messages.
pub(crate) async fn get(
    State(gw): State<Arc<Gateway>>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
) -> Response {
    let core = gw.core();
    let Some(sid) = header(&headers, h::MCP_SESSION_ID) else {
        return modern_or_missing(&core, &headers);
    };
    let Some(session) = gw.session_for(sid, &principal) else {
        let d = Denial::client(
            DenyCode::InvalidMessage,
            "Session not found; send initialize to start a new session",
        );
        return with_status(
            refuse(&core, &d, Era::Legacy, None, None),
            StatusCode::NOT_FOUND,
        );
    };
    let (tx, rx) = mpsc::channel(64);
    if !session.attach_stream(tx) {
        let d = Denial::client(
            DenyCode::InvalidMessage,
            "this session already has an open GET stream",
        );
        return with_status(
            refuse(&core, &d, Era::Legacy, None, None),
            StatusCode::CONFLICT,
        );
    }
    session_stream(rx, None, core.traffic.stream_limits())
}

/// DELETE /mcp: ends a legacy session.
pub(crate) async fn delete(
    State(gw): State<Arc<Gateway>>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
) -> Response {
    let core = gw.core();
    let Some(sid) = header(&headers, h::MCP_SESSION_ID) else {
        return modern_or_missing(&core, &headers);
    };
    match gw
        .session_for(sid, &principal)
        .and_then(|_| gw.remove_session(sid))
    {
        Some(session) => {
            session.close().await;
            StatusCode::NO_CONTENT.into_response()
        }
        None => {
            let d = Denial::client(DenyCode::InvalidMessage, "Session not found");
            with_status(
                refuse(&core, &d, Era::Legacy, None, None),
                StatusCode::NOT_FOUND,
            )
        }
    }
}

/// GET/DELETE without a session: modern clients get 405 (no streams, no sessions in
/// 2026-07-28); others are told the session id is missing.
fn modern_or_missing(core: &Core, headers: &HeaderMap) -> Response {
    if header(headers, h::MCP_PROTOCOL_VERSION) == Some(version::MODERN) {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "POST")],
            "2026-07-28 has no GET stream or DELETE; use POST",
        )
            .into_response();
    }
    let d = Denial::client(
        DenyCode::InvalidMessage,
        "Bad Request: missing Mcp-Session-Id header",
    );
    refuse(core, &d, Era::Legacy, None, None)
}

fn is_json(headers: &HeaderMap) -> bool {
    header(headers, header::CONTENT_TYPE.as_str())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"))
}

fn with_status(mut resp: Response, status: StatusCode) -> Response {
    *resp.status_mut() = status;
    resp
}

fn first_id_method(body: &Body) -> (Option<sallyport_mcp::RequestId>, Option<String>) {
    match body {
        Body::Single(m) => (m.id(), m.method().map(str::to_owned)),
        Body::Batch(_) => (None, None),
    }
}
