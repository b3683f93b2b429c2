//! A downstream client's session: where its messages are routed and its upstreams live.
//!
//! Legacy clients get one session per `initialize`, with their own upstream connections
//! (so server→client requests reach the right client and upstream capabilities are exactly
//! what that client declared). Modern (2026-07-28) clients are stateless and share one
//! session whose upstream connections declare no client capabilities.

mod catalog;
mod description;
mod listen;
mod lists;
mod route;
mod server_requests;
mod slot;

use crate::lock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::RngCore;
use sallyport_mcp::version::{self, Era};
use sallyport_mcp::{Message, MessageKind, RequestId};
use sallyport_pipeline::{Denial, DenyCode, Direction, Exchange, Principal};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::exchange_span::{ExchangeScope, SessionFacts};
use crate::gateway::{Core, Gateway};
use crate::upstream::{ClientHello, LinkEvent};
use slot::LinkSlot;

/// Where messages for the client go: a request's own response stream, or the session's
/// stream for unsolicited messages (the GET stream, `/sse` or stdout).
pub type ClientSink = mpsc::Sender<Message>;

/// A client request in flight, for cancellation and for routing server requests to it.
#[derive(Debug, Clone)]
struct Inflight {
    server: Option<usize>,
    link_id: Option<i64>,
    reply: ClientSink,
    cancel: CancellationToken,
}

/// Removes a request from the in-flight table however its handling ends (answered,
/// refused, or its future dropped).
struct InflightEntry<'a> {
    session: &'a Session,
    key: &'a RequestId,
}

impl Drop for InflightEntry<'_> {
    fn drop(&mut self) {
        lock(&self.session.inflight).remove(self.key);
    }
}

/// One downstream client session.
#[derive(Debug)]
pub struct Session {
    id: Option<String>,
    gw: Arc<Gateway>,
    core: Arc<Core>,
    era: Era,
    version: String,
    hello: ClientHello,
    principal: Principal,
    slots: Vec<LinkSlot>,
    events_tx: mpsc::Sender<(usize, LinkEvent)>,
    out: Mutex<Option<ClientSink>>,
    inflight: Mutex<HashMap<RequestId, Inflight>>,
    server_requests: Mutex<HashMap<String, (usize, RequestId)>>,
    next_server_request: AtomicU64,
    last_seen: Mutex<Instant>,
    listeners: Mutex<Vec<listen::Listener>>,
    catalog: catalog::Catalog,
    upstream_listens: Mutex<std::collections::HashSet<usize>>,
    /// The session shared by stateless clients.
    shared: bool,
    next_stateless_key: AtomicU64,
}

/// What `initialize` answered, and the session it opened.
#[derive(Debug)]
pub struct Opened {
    /// The new session.
    pub session: Arc<Session>,
    /// The `initialize` response to send.
    pub response: Message,
}

impl Session {
    /// Mints a session id with 128 random bits (hex, visible ASCII).
    pub fn mint_id() -> String {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        hex::encode(bytes)
    }

    fn build(
        gw: Arc<Gateway>,
        id: Option<String>,
        era: Era,
        version: String,
        hello: ClientHello,
        principal: Principal,
        shared: bool,
    ) -> Arc<Self> {
        let core = gw.core();
        let slots = core
            .federation
            .servers()
            .iter()
            .enumerate()
            .map(|(i, s)| LinkSlot::new(i, s.clone()))
            .collect();
        let (events_tx, events_rx) = mpsc::channel(256);
        let session = Arc::new(Self {
            id,
            gw,
            core,
            era,
            version,
            hello,
            principal,
            slots,
            events_tx,
            out: Mutex::new(None),
            inflight: Mutex::default(),
            server_requests: Mutex::default(),
            next_server_request: AtomicU64::new(0),
            last_seen: Mutex::new(Instant::now()),
            listeners: Mutex::default(),
            catalog: catalog::Catalog::default(),
            upstream_listens: Mutex::default(),
            shared,
            next_stateless_key: AtomicU64::new(0),
        });
        tokio::spawn(server_requests::pump_events(
            Arc::downgrade(&session),
            events_rx,
        ));
        session
    }

    /// The shared session for stateless (modern) requests.
    pub(crate) fn stateless(gw: Arc<Gateway>) -> Arc<Self> {
        Self::build(
            gw,
            None,
            Era::Modern,
            version::MODERN.into(),
            ClientHello::bare(),
            Principal::local(),
            true,
        )
    }

    /// Handles a legacy `initialize`: opens a session, connects every upstream with the
    /// client's capabilities, and answers with the merged capabilities.
    pub async fn initialize(
        gw: Arc<Gateway>,
        request: &Message,
        principal: Principal,
        with_id: bool,
    ) -> Opened {
        // The handshake is an exchange too: its span (and its decision records) carry an
        // exchange id; the session id does not exist yet.
        let id = gw.core().relay.next_exchange_id();
        let requested = request
            .params()
            .and_then(|p| p.get("protocolVersion"))
            .and_then(Value::as_str)
            .unwrap_or(version::LATEST_LEGACY)
            .to_owned();
        let facts = SessionFacts {
            id: None,
            version: &requested,
        };
        let scope = ExchangeScope::open(id, request, facts, &principal);
        scope
            .run(Self::open_legacy(gw, request, principal, with_id))
            .await
    }

    /// [`Session::initialize`] inside its exchange's span.
    async fn open_legacy(
        gw: Arc<Gateway>,
        request: &Message,
        principal: Principal,
        with_id: bool,
    ) -> Opened {
        let params = request.params().cloned().unwrap_or_default();
        let requested = params
            .get("protocolVersion")
            .and_then(Value::as_str)
            .unwrap_or(version::LATEST_LEGACY);
        let negotiated = version::negotiate_legacy(requested).to_owned();
        let hello = ClientHello {
            era: Era::Legacy,
            version: negotiated.clone(),
            capabilities: params
                .get("capabilities")
                .cloned()
                .unwrap_or_else(|| json!({})),
        };
        let id = with_id.then(Self::mint_id);
        let session = Self::build(
            gw,
            id,
            Era::Legacy,
            negotiated.clone(),
            hello,
            principal,
            false,
        );
        session.connect_all().await;
        let mut result = session
            .merged_server_description(&session.principal, "initialize")
            .await;
        result.insert("protocolVersion".into(), Value::from(negotiated));
        let rid = request.id().unwrap_or(RequestId::Number(0));
        Opened {
            response: Message::result(rid, Value::Object(result)),
            session,
        }
    }

    /// The session id (legacy HTTP sessions only).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The client's era.
    pub fn era(&self) -> Era {
        self.era
    }

    /// The negotiated protocol version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The principal that opened the session.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Time since the client last used the session.
    pub fn idle_for(&self) -> Duration {
        lock(&self.last_seen).elapsed()
    }

    /// Sets where unsolicited messages for the client go (GET stream, `/sse`, stdout).
    /// Returns false when another stream already holds it.
    pub fn attach_stream(&self, sink: ClientSink) -> bool {
        let mut out = lock(&self.out);
        if out.as_ref().is_some_and(|s| !s.is_closed()) {
            return false;
        }
        *out = Some(sink);
        true
    }

    fn unsolicited_sink(&self) -> Option<ClientSink> {
        lock(&self.out).clone().filter(|s| !s.is_closed())
    }

    /// Connects every upstream concurrently; failures are logged and retried on use.
    pub(crate) async fn connect_all(&self) {
        let tasks = self.slots.iter().map(|slot| async move {
            if let Err(e) = slot.link(&self.gw, &self.hello, &self.events_tx).await {
                warn!(server = %slot.spec.name, error = %e, "Upstream not connected.");
            }
        });
        futures::future::join_all(tasks).await;
    }

    /// Handles one message from the client. Requests are answered on `reply`; notifications
    /// and responses need none. The work runs in the exchange's span (`exchange_span`).
    pub async fn handle(self: &Arc<Self>, msg: Message, principal: &Principal, reply: ClientSink) {
        *lock(&self.last_seen) = Instant::now();
        let facts = SessionFacts {
            id: self.id.as_deref(),
            version: &self.version,
        };
        let id = self.gw.core().relay.next_exchange_id();
        let scope = ExchangeScope::open(id, &msg, facts, principal);
        let work = async {
            match msg.kind() {
                MessageKind::Request => self.handle_request(msg, principal, reply).await,
                MessageKind::Notification => self.handle_notification(msg, principal).await,
                MessageKind::Result | MessageKind::Error => {
                    self.answer_server_request(msg, principal).await
                }
            }
        };
        scope.run(work).await;
    }

    async fn handle_request(
        self: &Arc<Self>,
        msg: Message,
        principal: &Principal,
        reply: ClientSink,
    ) {
        let Some(id) = msg.id() else { return };
        // Stateless (2026-07-28) clients share one session but not an id space: their
        // requests are filed under gateway-unique keys, so two clients may both use id 1.
        let key = if self.is_shared() {
            let n = self.next_stateless_key.fetch_add(1, Ordering::Relaxed);
            RequestId::String(format!("stateless-{n}"))
        } else {
            id.clone()
        };
        let ticket = route::Ticket {
            key,
            cancel: CancellationToken::new(),
        };
        let duplicate = {
            let mut inflight = lock(&self.inflight);
            let duplicate = inflight.contains_key(&ticket.key);
            if !duplicate {
                inflight.insert(
                    ticket.key.clone(),
                    Inflight {
                        server: None,
                        link_id: None,
                        reply: reply.clone(),
                        cancel: ticket.cancel.clone(),
                    },
                );
            }
            duplicate
        };
        if duplicate {
            let denial = Denial::client(
                DenyCode::DuplicateRequestId,
                format!("request id {id} is already in use by a request in flight; use a new id"),
            );
            self.refuse(&msg, principal, "session", &denial, &reply)
                .await;
            return;
        }
        let _filed = InflightEntry {
            session: self,
            key: &ticket.key,
        };
        route::route_request(self, msg, principal, &reply, &ticket).await;
    }

    /// True for the one session all stateless (2026-07-28 HTTP) clients share.
    fn is_shared(&self) -> bool {
        self.shared
    }

    async fn handle_notification(&self, msg: Message, principal: &Principal) {
        let ex = self.exchange(Direction::ClientToServer, &msg, principal);
        if !self.inspect(&ex).await.is_allowed() {
            return;
        }
        match msg.method() {
            Some("notifications/cancelled") => {
                let target = msg
                    .params()
                    .and_then(|p| p.get("requestId"))
                    .and_then(RequestId::from_value);
                let entry = target.and_then(|t| lock(&self.inflight).get(&t).cloned());
                if let Some(e) = entry {
                    e.cancel.cancel();
                }
            }
            Some("notifications/roots/list_changed") => self.broadcast_notification(&msg).await,
            Some("notifications/initialized") | Some(_) | None => {
                debug!(
                    method = msg.method(),
                    "Client notification consumed by the gateway."
                );
            }
        }
    }

    async fn broadcast_notification(&self, msg: &Message) {
        for slot in &self.slots {
            if let Some(link) = slot.current().await {
                let _ = link.notify(msg.clone()).await;
            }
        }
    }

    /// Runs the chain on a refusal decided outside it and answers the client.
    pub(crate) async fn refuse(
        &self,
        msg: &Message,
        principal: &Principal,
        stage: &'static str,
        denial: &Denial,
        reply: &ClientSink,
    ) {
        let ex = self.exchange(Direction::ClientToServer, msg, principal);
        self.gw.core().relay.record_denial(&ex, stage, denial);
        if msg.kind() == MessageKind::Request {
            let _ = reply.send(denial.to_error(msg.id())).await;
        }
    }

    /// Runs the current guard chain: a hot reload changes policy for live sessions too,
    /// while their upstream connections stay as they were. With an audit trail in `sync`
    /// mode this waits for the record's durable append, so the caller acts on nothing the
    /// trail does not hold.
    pub(crate) async fn inspect(&self, ex: &Exchange<'_>) -> sallyport_pipeline::Decision {
        let core = self.gw.core();
        core.relay.inspect(ex).await
    }

    pub(crate) fn exchange<'a>(
        &'a self,
        direction: Direction,
        msg: &'a Message,
        principal: &'a Principal,
    ) -> Exchange<'a> {
        let mut ex = Exchange::new(direction, msg, principal, self.era);
        ex.session_id = self.id.as_deref();
        ex
    }

    /// Ends the session: closes every upstream connection.
    pub async fn close(&self) {
        for slot in &self.slots {
            slot.shutdown().await;
        }
        let inflight: Vec<Inflight> = lock(&self.inflight).drain().map(|(_, v)| v).collect();
        for i in inflight {
            i.cancel.cancel();
        }
    }
}
