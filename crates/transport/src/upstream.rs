//! Connections to upstream MCP servers: stdio children, Streamable HTTP and HTTP+SSE.
//!
//! A [`Link`] is one handshaken connection. It gives every outgoing request a link-unique id
//! (real servers reuse small ids, and many callers may share a link), restores the caller's id
//! on the answer, and routes progress notifications back to the request that asked for them.
//! Server-initiated messages that belong to no request become [`LinkEvent`]s.

mod clients;
mod error;
pub(crate) mod failure;
mod handshake;
mod http;
mod inbound;
mod pending;
mod spec;
mod sse;
mod sse_read;
mod stdio;

use crate::lock;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sallyport_mcp::{Message, RequestId, error_code, version::Era};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

pub use clients::HttpClients;
pub use error::LinkError;
pub use handshake::{ClientHello, EraCache};
pub use spec::{EraChoice, HttpSpec, StdioSpec, UpstreamKind, UpstreamSpec};

use inbound::Inbound;
use pending::PendingTable;

/// What a wire hands to its link's dispatcher.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A message from the server; `related` is the link id of the request whose response
    /// stream carried it (Streamable HTTP POST streams), if known.
    Message { msg: Message, related: Option<i64> },
    /// The server minted a session id (Streamable HTTP legacy).
    SessionId(String),
    /// The connection ended.
    Closed { reason: String },
}

/// Something an upstream sent that belongs to no pending request.
#[derive(Debug, Clone)]
pub enum LinkEvent {
    /// A server→client request (sampling, elicitation, roots) to route to a client.
    ServerRequest {
        /// The request, with the upstream's own id.
        msg: Message,
        /// The link id of the client request it relates to, when the transport tells.
        related: Option<i64>,
    },
    /// A notification (list_changed, resources/updated, logging, unmatched progress).
    Notification(Message),
    /// The connection ended.
    Closed,
}

#[derive(Debug)]
enum Wire {
    Stdio(stdio::StdioWire),
    Http(Arc<http::HttpWire>),
    Sse(sse::SseWire),
}

/// One handshaken connection to one upstream.
#[derive(Debug)]
pub struct Link {
    spec: Arc<UpstreamSpec>,
    wire: Wire,
    pending: Arc<PendingTable>,
    hello: ClientHello,
    info: handshake::ServerInfo,
    closed: Arc<AtomicBool>,
    aborts: std::sync::Mutex<std::collections::HashMap<i64, AbortHandle>>,
    get_stream: std::sync::Mutex<Option<AbortHandle>>,
}

impl Link {
    /// Connects and handshakes. `events` receives server-initiated messages.
    pub async fn connect(
        spec: Arc<UpstreamSpec>,
        hello: ClientHello,
        http: &HttpClients,
        events: mpsc::Sender<LinkEvent>,
        era_cache: &EraCache,
    ) -> Result<Arc<Self>, LinkError> {
        let (in_tx, in_rx) = mpsc::channel(256);
        let name = spec.name.clone();
        let inbound = Arc::new(Inbound {
            pending: Arc::new(PendingTable::default()),
            events,
        });
        let wire = match &spec.kind {
            UpstreamKind::Stdio(s) => {
                Wire::Stdio(stdio::StdioWire::spawn(name, s, spec.limits, in_tx)?)
            }
            UpstreamKind::Http(h) => Wire::Http(Arc::new(http::HttpWire::new(
                name,
                h,
                http.for_connect(h.connect_timeout),
                spec.limits,
                in_tx,
                inbound.clone(),
            )?)),
            UpstreamKind::Sse(h) => Wire::Sse(
                sse::SseWire::connect(
                    name,
                    h,
                    http.for_connect(h.connect_timeout),
                    spec.limits,
                    in_tx,
                )
                .await?,
            ),
        };
        let mut link = Self {
            spec,
            wire,
            pending: inbound.pending.clone(),
            hello,
            info: handshake::ServerInfo::default(),
            closed: Arc::new(AtomicBool::new(false)),
            aborts: std::sync::Mutex::default(),
            get_stream: std::sync::Mutex::default(),
        };
        let wire_http = match &link.wire {
            Wire::Http(h) => Some(h.clone()),
            _ => None,
        };
        tokio::spawn(dispatch(in_rx, inbound, link.closed.clone(), wire_http));
        link.info = handshake::handshake(&link, era_cache).await?;
        link.set_wire_protocol(link.info.era, &link.info.version);
        if let Wire::Http(h) = &link.wire
            && link.info.era == Era::Legacy
        {
            *lock(&link.get_stream) = h.open_get_stream();
        }
        Ok(Arc::new(link))
    }

    /// The upstream's name.
    pub fn server(&self) -> &Arc<str> {
        &self.spec.name
    }

    /// The upstream's spec.
    pub fn spec(&self) -> &UpstreamSpec {
        &self.spec
    }

    /// The era spoken with this upstream.
    pub fn era(&self) -> Era {
        self.info.era
    }

    /// The upstream's declared capabilities.
    pub fn capabilities(&self) -> &Value {
        &self.info.capabilities
    }

    /// The upstream's `instructions`, if any.
    pub fn instructions(&self) -> Option<&str> {
        self.info.instructions.as_deref()
    }

    /// True once the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Number of requests awaiting an answer.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Sends a request and returns the stream of related messages ending with its response.
    pub async fn call(self: &Arc<Self>, mut msg: Message) -> Result<ReplyStream, LinkError> {
        // A stdio server that exited while idle may not have been noticed yet (its stdout's
        // end not yet read): the request must not be sent to it, so the caller reconnects.
        if let Wire::Stdio(w) = &self.wire
            && w.has_exited().await
        {
            self.closed.store(true, Ordering::Release);
        }
        if self.is_closed() {
            return Err(LinkError::Closed {
                server: self.spec.name.to_string(),
            });
        }
        self.adapt_outgoing(&mut msg);
        crate::exchange_span::stamp_meta(&mut msg);
        let (link_id, rx) = self.pending.register(&mut msg, 64);
        // The stream exists before the request leaves: if the caller goes away while the
        // POST is under way, dropping it cancels the request upstream.
        let mut stream = ReplyStream {
            rx,
            link: Arc::downgrade(self),
            link_id,
            done: false,
            timeout: self.spec.request_timeout,
            timed_out: false,
            failure: None,
            answered: false,
        };
        match &self.wire {
            Wire::Http(w) => match w.call(&msg, link_id, self.spec.request_timeout).await {
                Ok(Some(stream_reader)) => {
                    lock(&self.aborts).insert(link_id, stream_reader);
                }
                Ok(None) => {}
                Err(_) => {
                    stream.cancel("timeout");
                    stream.timed_out = true;
                }
            },
            _ => {
                if let Err(e) = self.send(&msg, Some(link_id)).await {
                    stream.done = true;
                    self.pending.cancel(link_id);
                    if matches!(e, LinkError::Closed { .. }) {
                        // The write found the peer gone before the reader noticed: say so now,
                        // so the slot reconnects instead of handing out this link again.
                        self.closed.store(true, Ordering::Release);
                    }
                    return Err(e);
                }
            }
        }
        Ok(stream)
    }

    /// Sends a notification (e.g. `notifications/roots/list_changed`).
    pub async fn notify(&self, mut msg: Message) -> Result<(), LinkError> {
        self.adapt_outgoing(&mut msg);
        self.send(&msg, None).await
    }

    /// Answers a server→client request (the message carries the upstream's own id).
    pub async fn respond(&self, msg: Message) -> Result<(), LinkError> {
        self.send(&msg, None).await
    }

    /// Cancels a pending request upstream: `notifications/cancelled`, or for modern
    /// Streamable HTTP, closing its response stream.
    fn cancel_request(self: &Arc<Self>, link_id: i64, reason: &str) {
        if !self.pending.cancel(link_id) {
            return;
        }
        let abort = lock(&self.aborts).remove(&link_id);
        let modern_http = self.info.era == Era::Modern && matches!(self.wire, Wire::Http(_));
        if modern_http {
            // 2026-07-28 Streamable HTTP: closing the response stream is the cancellation.
            if let Some(a) = abort {
                a.abort();
            }
            return;
        }
        let note = Message::notification(
            "notifications/cancelled",
            Some(serde_json::json!({ "requestId": link_id, "reason": reason })),
        );
        let link = Arc::clone(self);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = link.send(&note, None).await;
            });
        }
    }

    async fn send(&self, msg: &Message, link_id: Option<i64>) -> Result<(), LinkError> {
        match &self.wire {
            Wire::Stdio(w) => w.send(msg).await,
            Wire::Http(w) => {
                let handle = w.send(msg, link_id);
                if let Some(id) = link_id {
                    lock(&self.aborts).insert(id, handle);
                }
                Ok(())
            }
            Wire::Sse(w) => w.send(msg).await,
        }
    }

    /// Modern upstreams need `_meta` on every request; legacy upstreams must not get a modern
    /// client's per-request envelope (dual-era servers refuse it on a handshake connection).
    fn adapt_outgoing(&self, msg: &mut Message) {
        if !msg.is_call() {
            return;
        }
        if self.info.era == Era::Modern {
            handshake::insert_modern_meta(msg, &self.hello);
        } else {
            handshake::remove_modern_meta(msg);
        }
    }

    /// A request outside the reply-stream machinery, for the handshake.
    async fn raw_request(&self, mut msg: Message, timeout: Duration) -> Result<Message, LinkError> {
        let (link_id, mut rx) = self.pending.register(&mut msg, 8);
        self.send(&msg, Some(link_id)).await?;
        let server = self.spec.name.to_string();
        loop {
            match tokio::time::timeout(timeout, rx.recv()).await {
                Ok(Some(m)) if m.is_response() => return Ok(m),
                Ok(Some(_)) => {}
                Ok(None) => return Err(LinkError::Closed { server }),
                Err(_) => {
                    self.pending.cancel(link_id);
                    return Err(LinkError::Timeout {
                        server,
                        secs: timeout.as_secs(),
                    });
                }
            }
        }
    }

    /// A notification outside `_meta` adaptation, for the handshake.
    async fn notify_raw(&self, msg: Message) -> Result<(), LinkError> {
        self.send(&msg, None).await
    }

    fn set_wire_protocol(&self, era: Era, version: &str) {
        if let Wire::Http(h) = &self.wire {
            h.set_protocol(era, version);
        }
    }

    /// Closes the connection cleanly (stdin close → SIGTERM → SIGKILL; HTTP DELETE).
    pub async fn shutdown(&self) {
        self.closed.store(true, Ordering::Release);
        if let Some(a) = lock(&self.get_stream).take() {
            a.abort();
        }
        self.pending
            .fail_all(error_code::INTERNAL_ERROR, "upstream connection closed");
        match &self.wire {
            Wire::Stdio(w) => w.shutdown().await,
            Wire::Http(w) => w.close().await,
            Wire::Sse(w) => w.close(),
        }
    }
}

/// The messages answering one request: related notifications and server requests, then the
/// response. Dropping it before the response cancels the upstream request.
#[derive(Debug)]
pub struct ReplyStream {
    rx: mpsc::Receiver<Message>,
    link: std::sync::Weak<Link>,
    link_id: i64,
    done: bool,
    timeout: Duration,
    /// The request timed out before its answer began; `next` reports it once.
    timed_out: bool,
    /// How the request failed, when its answer says it did (for circuit breakers).
    failure: Option<sallyport_limits::CallFailure>,
    /// A response (result or error) arrived.
    answered: bool,
}

impl ReplyStream {
    /// The next message; `None` after the response. A timeout yields an error response.
    pub async fn next(&mut self) -> Option<Message> {
        if std::mem::take(&mut self.timed_out) {
            self.record_answer(sallyport_limits::CallFailure::Timeout);
            return Some(self.timeout_error());
        }
        if self.done {
            return None;
        }
        match tokio::time::timeout(self.timeout, self.rx.recv()).await {
            Ok(Some(mut m)) => {
                if m.is_response() {
                    self.done = true;
                    self.answered = true;
                    self.failure = failure::take(&mut m);
                }
                Some(m)
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(_) => {
                self.cancel("timeout");
                self.record_answer(sallyport_limits::CallFailure::Timeout);
                Some(self.timeout_error())
            }
        }
    }

    /// How the request failed (transport error, timeout, upstream 5xx), if it did.
    pub fn failure(&self) -> Option<sallyport_limits::CallFailure> {
        self.failure
    }

    /// Whether a response arrived (including failures the gateway answered for).
    pub fn answered(&self) -> bool {
        self.answered
    }

    fn record_answer(&mut self, failure: sallyport_limits::CallFailure) {
        self.answered = true;
        self.failure = Some(failure);
    }

    fn timeout_error(&self) -> Message {
        let secs = self.timeout.as_secs();
        Message::error(
            None,
            error_code::INTERNAL_ERROR,
            &format!("upstream did not answer within {secs} s"),
            None,
        )
    }

    /// Replaces the time allowed between messages (long-lived streams such as listen).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The link id of this request (what the upstream sees as its id).
    pub fn link_id(&self) -> i64 {
        self.link_id
    }

    /// Cancels the upstream request now.
    pub fn cancel(&mut self, reason: &str) {
        if let Some(link) = self.link.upgrade() {
            link.cancel_request(self.link_id, reason);
        }
        self.done = true;
    }
}

impl Drop for ReplyStream {
    fn drop(&mut self) {
        if let Some(link) = self.link.upgrade() {
            if self.done {
                lock(&link.aborts).remove(&self.link_id);
            } else {
                link.cancel_request(self.link_id, "client went away");
            }
        }
    }
}

async fn dispatch(
    mut rx: mpsc::Receiver<Incoming>,
    inbound: Arc<Inbound>,
    closed: Arc<AtomicBool>,
    http: Option<Arc<http::HttpWire>>,
) {
    while let Some(item) = rx.recv().await {
        match item {
            Incoming::SessionId(id) => {
                if let Some(h) = &http {
                    h.apply_session_id(id);
                }
            }
            Incoming::Closed { reason } => {
                tracing::debug!(%reason, "Upstream connection ended.");
                break;
            }
            Incoming::Message { msg, related } => inbound.route(msg, related).await,
        }
    }
    closed.store(true, Ordering::Release);
    inbound
        .pending
        .fail_all(error_code::INTERNAL_ERROR, "upstream connection lost");
    let _ = inbound.events.send(LinkEvent::Closed).await;
}

/// The id a pending request is known by upstream (for tests and logs).
pub fn link_request_id(stream: &ReplyStream) -> RequestId {
    RequestId::Number(stream.link_id)
}
