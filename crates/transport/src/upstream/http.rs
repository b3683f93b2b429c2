//! Streamable HTTP to an upstream, both eras.

use crate::lock;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use sallyport_mcp::headers::{
    MCP_METHOD, MCP_NAME, MCP_PROTOCOL_VERSION, MCP_SESSION_ID, encode_header_value, expected_name,
};
use sallyport_mcp::version::{Era, META_PROTOCOL_VERSION};
use sallyport_mcp::{Body, Limits, Message, error_code, parse_body};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tracing::debug;

use super::{HttpSpec, Inbound, Incoming, LinkError, sse_read};

/// One Streamable HTTP upstream connection: its session id (legacy) and negotiated version.
#[derive(Debug)]
pub(crate) struct HttpWire {
    server: Arc<str>,
    url: reqwest::Url,
    client: reqwest::Client,
    static_headers: HeaderMap,
    limits: Limits,
    incoming: mpsc::Sender<Incoming>,
    inbound: Arc<Inbound>,
    state: Mutex<HttpState>,
}

#[derive(Debug, Default, Clone)]
struct HttpState {
    session_id: Option<String>,
    protocol_version: Option<String>,
    era: Option<Era>,
}

impl HttpWire {
    /// A wire to `spec.url`; static headers are validated here.
    pub(crate) fn new(
        server: Arc<str>,
        spec: &HttpSpec,
        client: reqwest::Client,
        limits: Limits,
        incoming: mpsc::Sender<Incoming>,
        inbound: Arc<Inbound>,
    ) -> Result<Self, LinkError> {
        let mut static_headers = HeaderMap::new();
        for (k, v) in &spec.headers {
            let bad = |what: &str| LinkError::Http {
                server: server.to_string(),
                reason: format!("invalid header {what} {k:?}"),
            };
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| bad("name"))?;
            let mut value = HeaderValue::from_str(v).map_err(|_| bad("value for"))?;
            value.set_sensitive(true);
            static_headers.insert(name, value);
        }
        let url = reqwest::Url::parse(&spec.url).map_err(|e| LinkError::Http {
            server: server.to_string(),
            reason: format!("invalid url: {e}"),
        })?;
        let state = Mutex::new(HttpState::default());
        Ok(Self {
            server,
            url,
            client,
            static_headers,
            limits,
            incoming,
            inbound,
            state,
        })
    }

    /// Records the negotiated era and version (sent as `MCP-Protocol-Version` from now on).
    pub(crate) fn set_protocol(&self, era: Era, version: &str) {
        let mut s = lock(&self.state);
        s.era = Some(era);
        s.protocol_version = Some(version.to_owned());
    }

    /// POSTs one message. The response (JSON or SSE) is read by a task that feeds `Incoming`
    /// with `related = link_id`; the returned handle aborts it (modern cancellation).
    pub(crate) fn send(&self, msg: &Message, link_id: Option<i64>) -> AbortHandle {
        let request = self.build_post(msg);
        let ctx = PostCtx {
            server: self.server.clone(),
            limits: self.limits,
            incoming: self.incoming.clone(),
            inbound: self.inbound.clone(),
            link_id,
            request_id: msg.id(),
            is_initialize: msg.method() == Some("initialize"),
            resume: self.resume_info(),
        };
        tokio::spawn(run_post(request, ctx)).abort_handle()
    }

    /// How to resume this session's streams (legacy sessions only).
    fn resume_info(&self) -> Option<sse_read::Resume> {
        let s = lock(&self.state).clone();
        let mut headers = self.static_headers.clone();
        headers.insert(MCP_SESSION_ID, HeaderValue::from_str(&s.session_id?).ok()?);
        if let Some(v) = s
            .protocol_version
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            headers.insert(MCP_PROTOCOL_VERSION, v);
        }
        Some(sse_read::Resume {
            client: self.client.clone(),
            url: self.url.clone(),
            headers,
        })
    }

    fn build_post(&self, msg: &Message) -> reqwest::RequestBuilder {
        let s = lock(&self.state).clone();
        let mirrored = if s.era == Some(Era::Modern) && msg.is_call() {
            crate::mirrored::current()
        } else {
            Vec::new()
        };
        let mut rb = self
            .client
            .post(self.url.clone())
            .headers(self.static_headers.clone())
            .header(ACCEPT, "application/json, text/event-stream")
            .header(CONTENT_TYPE, "application/json");
        if let Some(id) = &s.session_id {
            rb = rb.header(MCP_SESSION_ID, id);
        }
        // A legacy session's header is its negotiated version, even when a modern client's
        // `_meta` rides along in the body (the legacy server would refuse 2026-07-28).
        let meta_version = msg
            .params_meta()
            .and_then(|m| m.get(META_PROTOCOL_VERSION))
            .and_then(|v| v.as_str())
            .filter(|_| s.era != Some(Era::Legacy));
        if let Some(v) = meta_version.or(s.protocol_version.as_deref()) {
            rb = rb.header(MCP_PROTOCOL_VERSION, v);
        }
        if s.era == Some(Era::Modern) || msg.method() == Some("server/discover") {
            if let Some(m) = msg.method() {
                rb = rb.header(MCP_METHOD, encode_header_value(m));
            }
            if let Some(n) = expected_name(msg) {
                rb = rb.header(MCP_NAME, encode_header_value(n));
            }
        }
        for (name, value) in mirrored {
            rb = rb.header(name, value);
        }
        rb.body(msg.to_bytes())
    }

    /// Stores the session id the server minted on the initialize response.
    pub(crate) fn apply_session_id(&self, id: String) {
        lock(&self.state).session_id = Some(id);
    }

    /// Opens the legacy GET stream for unsolicited server messages, if the server offers one.
    pub(crate) fn open_get_stream(self: &Arc<Self>) -> Option<AbortHandle> {
        let s = lock(&self.state).clone();
        let session = s.session_id?;
        let mut rb = self
            .client
            .get(self.url.clone())
            .headers(self.static_headers.clone())
            .header(ACCEPT, "text/event-stream");
        rb = rb.header(MCP_SESSION_ID, session);
        if let Some(v) = s.protocol_version {
            rb = rb.header(MCP_PROTOCOL_VERSION, v);
        }
        let (server, limits, incoming) = (self.server.clone(), self.limits, self.incoming.clone());
        Some(tokio::spawn(async move {
            let Ok(resp) = rb.send().await else { return };
            if !is_sse(&resp) {
                debug!(server = %server, status = %resp.status(), "Upstream offers no GET stream.");
                return;
            }
            sse_read::read(resp, &server, limits, &incoming, None, None).await;
        }).abort_handle())
    }

    /// Ends the legacy session with DELETE (best effort).
    pub(crate) async fn close(&self) {
        let session = lock(&self.state).session_id.take();
        if let Some(id) = session {
            let _ = self
                .client
                .delete(self.url.clone())
                .headers(self.static_headers.clone())
                .header(MCP_SESSION_ID, id)
                .send()
                .await;
        }
    }
}

/// What a POST task needs; it reports a minted session id back through
/// `Incoming::SessionId` rather than holding a reference to the wire.
struct PostCtx {
    server: Arc<str>,
    limits: Limits,
    incoming: mpsc::Sender<Incoming>,
    inbound: Arc<Inbound>,
    link_id: Option<i64>,
    request_id: Option<sallyport_mcp::RequestId>,
    is_initialize: bool,
    resume: Option<sse_read::Resume>,
}

async fn run_post(request: reqwest::RequestBuilder, ctx: PostCtx) {
    let resp = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            return fail(
                &ctx,
                &format!("upstream {} unreachable: {}", ctx.server, without_url(&e)),
            )
            .await;
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
        return;
    }
    if status == reqwest::StatusCode::NOT_FOUND && ctx.request_id.is_some() && !is_json(&resp) {
        let _ = ctx
            .incoming
            .send(Incoming::Closed {
                reason: "upstream session expired (404)".into(),
            })
            .await;
        return fail(&ctx, "upstream session expired").await;
    }
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
        let err = Message::error(Some(id.clone()), error_code::INTERNAL_ERROR, reason, None);
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

fn is_sse(resp: &reqwest::Response) -> bool {
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
fn without_url(e: &reqwest::Error) -> String {
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
