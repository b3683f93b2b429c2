//! Streamable HTTP to an upstream, both eras.

use crate::lock;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use sallyport_mcp::headers::{
    MCP_METHOD, MCP_NAME, MCP_PROTOCOL_VERSION, MCP_SESSION_ID, encode_header_value, expected_name,
};
use sallyport_mcp::version::{Era, META_PROTOCOL_VERSION};
use sallyport_mcp::{Limits, Message};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tracing::debug;

use super::{HttpSpec, Inbound, Incoming, LinkError, sse_read};

mod direct;
mod post;

/// One Streamable HTTP upstream connection: its session id (legacy) and negotiated version.
#[derive(Debug)]
pub(crate) struct HttpWire {
    server: Arc<str>,
    url: reqwest::Url,
    /// `url` as the `http` crate's URI, for building requests.
    uri: http::Uri,
    client: reqwest::Client,
    /// Connections driven by their callers, for plain `http` upstreams without a proxy.
    direct: Option<Arc<direct::DirectPool>>,
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
        let uri = url.as_str().parse().map_err(|_| LinkError::Http {
            server: server.to_string(),
            reason: "invalid url".into(),
        })?;
        let direct = direct::DirectPool::for_url(&url, spec.connect_timeout);
        let state = Mutex::new(HttpState::default());
        Ok(Self {
            server,
            url,
            uri,
            client,
            direct,
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
        let request = self.exchange(self.build_post(msg));
        let mut ctx = self.post_ctx(msg, link_id);
        ctx.resume = self.resume_info();
        tokio::spawn(post::run(request, ctx)).abort_handle()
    }

    /// POSTs a request in the caller's task until its answer has begun: a JSON answer is read
    /// and routed here, with no task in between; an SSE answer is read by a task of its own,
    /// whose abort handle is returned (modern cancellation). Gives up after `timeout`.
    pub(crate) async fn call(
        &self,
        msg: &Message,
        link_id: i64,
        timeout: std::time::Duration,
    ) -> Result<Option<AbortHandle>, post::TimedOut> {
        let ctx = self.post_ctx(msg, Some(link_id));
        let opened = {
            // Pinned here and lent to `open`, so that this state holds the request's future
            // once, and only until its answer has begun.
            let request = std::pin::pin!(self.exchange(self.build_post(msg)));
            tokio::time::timeout(timeout, post::open(request, &ctx)).await
        };
        let Some(resp) = opened.map_err(|_| post::TimedOut)? else {
            return Ok(None);
        };
        if post::is_sse(&resp) {
            let mut ctx = ctx;
            ctx.resume = self.resume_info();
            return Ok(Some(tokio::spawn(post::finish(resp, ctx)).abort_handle()));
        }
        tokio::time::timeout(timeout, post::finish(resp, ctx))
            .await
            .map_err(|_| post::TimedOut)?;
        Ok(None)
    }

    fn post_ctx(&self, msg: &Message, link_id: Option<i64>) -> post::PostCtx {
        post::PostCtx {
            server: self.server.clone(),
            limits: self.limits,
            incoming: self.incoming.clone(),
            inbound: self.inbound.clone(),
            link_id,
            request_id: msg.id(),
            is_initialize: msg.method() == Some("initialize"),
            resume: None,
        }
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

    /// The POST carrying `msg`, with the session's headers.
    fn build_post(&self, msg: &Message) -> http::Request<Bytes> {
        let s = lock(&self.state).clone();
        let mirrored = if s.era == Some(Era::Modern) && msg.is_call() {
            crate::mirrored::current()
        } else {
            Vec::new()
        };
        let mut headers = self.static_headers.clone();
        const ANSWER_TYPES: &str = "application/json, text/event-stream";
        headers.append(ACCEPT, HeaderValue::from_static(ANSWER_TYPES));
        headers.append(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let mut add = |name: &str, value: &str| {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.append(n, v);
            }
        };
        if let Some(id) = &s.session_id {
            add(MCP_SESSION_ID, id);
        }
        // A legacy session's header is its negotiated version, even when a modern client's
        // `_meta` rides along in the body (the legacy server would refuse 2026-07-28).
        let meta_version = msg
            .params_meta()
            .and_then(|m| m.get(META_PROTOCOL_VERSION))
            .and_then(|v| v.as_str())
            .filter(|_| s.era != Some(Era::Legacy));
        if let Some(v) = meta_version.or(s.protocol_version.as_deref()) {
            add(MCP_PROTOCOL_VERSION, v);
        }
        if s.era == Some(Era::Modern) || msg.method() == Some("server/discover") {
            if let Some(m) = msg.method() {
                add(MCP_METHOD, &encode_header_value(m));
            }
            if let Some(n) = expected_name(msg) {
                add(MCP_NAME, &encode_header_value(n));
            }
        }
        for (name, value) in mirrored {
            add(&name, &value);
        }
        for (name, value) in crate::exchange_span::outbound_headers() {
            add(name, &value);
        }
        let mut request = http::Request::new(Bytes::from(msg.to_bytes()));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = headers;
        request
    }

    /// Sends a POST on a connection this task drives (plain `http` upstreams) or through
    /// the shared client (TLS, proxies), and yields its response once its head has arrived.
    fn exchange(
        &self,
        request: http::Request<Bytes>,
    ) -> impl Future<Output = Result<reqwest::Response, String>> + Send + 'static {
        let direct = self.direct.clone();
        let client = self.client.clone();
        async move {
            if let Some(pool) = direct {
                let resp = pool.send(request.map(Full::new)).await;
                return resp
                    .map(|r| reqwest::Response::from(r.map(reqwest::Body::wrap)))
                    .map_err(|e| e.to_string());
            }
            let request = reqwest::Request::try_from(request).map_err(|e| post::without_url(&e))?;
            client
                .execute(request)
                .await
                .map_err(|e| post::without_url(&e))
        }
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
            if !post::is_sse(&resp) {
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
