//! The 2024-11-05 HTTP+SSE transport for old clients: `GET /sse` opens the stream and
//! names a POST endpoint; every answer travels on the stream.

use crate::lock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sallyport_mcp::sse::encode_event;
use sallyport_mcp::version::Era;
use sallyport_mcp::{Body, MessageKind, parse_body};
use sallyport_pipeline::{Denial, DenyCode, Principal};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::edge::refuse;
use super::stream::session_stream;
use crate::gateway::Gateway;
use crate::session::{ClientSink, Session};

/// Open `/sse` streams: their stream sink and, after `initialize`, their session.
#[derive(Debug, Default)]
pub(crate) struct SseStreams(Mutex<HashMap<String, SseConn>>);

#[derive(Debug, Clone)]
struct SseConn {
    sink: ClientSink,
    session: Option<Arc<Session>>,
}

/// Router state for the legacy transport.
#[derive(Debug, Clone)]
pub(crate) struct SseState {
    pub(crate) gw: Arc<Gateway>,
    pub(crate) streams: Arc<SseStreams>,
}

/// The query of `POST /message`.
#[derive(Debug, Deserialize)]
pub(crate) struct SessionQuery {
    #[serde(rename = "sessionId")]
    session_id: String,
}

/// GET /sse.
pub(crate) async fn open(State(st): State<SseState>) -> Response {
    let id = Session::mint_id();
    let (tx, rx) = mpsc::channel(64);
    lock(&st.streams.0).insert(
        id.clone(),
        SseConn {
            sink: tx.clone(),
            session: None,
        },
    );
    let streams = st.streams.clone();
    let key = id.clone();
    // Forget the connection once its stream is gone.
    tokio::spawn(async move {
        tx.closed().await;
        let conn = lock(&streams.0).remove(&key);
        if let Some(s) = conn.and_then(|c| c.session) {
            s.close().await;
        }
    });
    let endpoint = encode_event(Some("endpoint"), None, &format!("/message?sessionId={id}"));
    session_stream(rx, Some(endpoint), st.gw.core().traffic.stream_limits())
}

/// POST /message?sessionId=….
pub(crate) async fn message(
    State(st): State<SseState>,
    Extension(principal): Extension<Principal>,
    Query(q): Query<SessionQuery>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let core = st.gw.core();
    let Some(conn) = lock(&st.streams.0).get(&q.session_id).cloned() else {
        let d = Denial::client(
            DenyCode::InvalidMessage,
            "Session not found; open /sse first",
        );
        let mut r = refuse(&core, &d, Era::Legacy, None, None);
        *r.status_mut() = StatusCode::NOT_FOUND;
        return r;
    };
    let msg = match parse_body(&body, &core.limits) {
        Ok(Body::Single(m)) => m,
        Ok(Body::Batch(_)) => {
            let d = Denial::client(
                DenyCode::BatchNotAllowed,
                "batches are not allowed on the 2024-11-05 transport",
            );
            return refuse(&core, &d, Era::Legacy, None, None);
        }
        Err(e) => {
            return refuse(
                &core,
                &Denial::client(DenyCode::InvalidMessage, e.to_string()),
                Era::Legacy,
                e.id(),
                None,
            );
        }
    };
    if msg.method() == Some("initialize") {
        let opened = Session::initialize(st.gw.clone(), &msg, principal, false).await;
        opened.session.attach_stream(conn.sink.clone());
        if let Some(c) = lock(&st.streams.0).get_mut(&q.session_id) {
            c.session = Some(opened.session.clone());
        }
        let _ = conn.sink.send(opened.response).await;
        return StatusCode::ACCEPTED.into_response();
    }
    let Some(session) = conn.session else {
        let d = Denial::client(DenyCode::InvalidMessage, "send initialize first");
        let refused = refuse(&core, &d, Era::Legacy, msg.id(), msg.method());
        if msg.kind() != MessageKind::Request {
            return refused;
        }
        // Answers travel on the event stream in this transport: a client probing the era
        // (`server/discover`) reads the error there and falls back to `initialize`.
        let _ = conn.sink.send(d.to_error(msg.id())).await;
        return StatusCode::ACCEPTED.into_response();
    };
    let sink = conn.sink.clone();
    let is_request = msg.kind() == MessageKind::Request;
    let from_http = crate::trace_context::TraceContext::from_headers(&headers);
    tokio::spawn(crate::trace_context::scope(from_http, async move {
        if is_request {
            session.handle(msg, &principal, sink).await;
        } else {
            let (tx, _rx) = mpsc::channel(1);
            session.handle(msg, &principal, tx).await;
        }
    }));
    StatusCode::ACCEPTED.into_response()
}
