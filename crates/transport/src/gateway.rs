//! The shared state every listener serves from.

use crate::lock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;
use sallyport_mcp::Limits;
use serde_json::{Value, json};

use crate::federation::Federation;
use crate::relay::Relay;
use crate::session::Session;
use crate::upstream::EraCache;

/// One configuration generation: the upstream topology and the guard chain.
/// Hot reload publishes a new one; sessions keep the topology they started with.
#[derive(Debug)]
pub struct Core {
    /// Names, URIs and cursors.
    pub federation: Arc<Federation>,
    /// The guard chain and decision publisher.
    pub relay: Relay,
    /// Limits on client messages.
    pub limits: Limits,
    /// Downstream listener settings.
    pub edge: EdgeSettings,
    /// Client authentication; `None` means every caller is the local operator.
    pub auth: Option<Arc<sallyport_identity::Authenticator>>,
    /// Rate limits, quotas, breakers, concurrency and timeouts on the request path. A reload
    /// with the same traffic configuration keeps this one (and its counters).
    pub traffic: Arc<crate::traffic::Traffic>,
    /// The network layer at the HTTP edge; `None` when `network:` is absent.
    pub network: Option<Arc<sallyport_network::NetworkGate>>,
    /// Upstream health checks; `None` when `limits.health_check` is absent.
    pub health_check: Option<crate::health::HealthCheckSettings>,
    /// The authorization engine, when `authz` is configured; a reload's engine succeeds it.
    pub authz_engine: Option<Arc<sallyport_policy::Engine>>,
    /// A digest of everything that decides holds (the `authz` and `detect` sections and the
    /// policy files named): an approval given under one version covers no call under another.
    pub policy_version: String,
}

/// Settings of the downstream edges.
#[derive(Debug, Clone)]
pub struct EdgeSettings {
    /// Allowed `Origin` values (exact match, e.g. `http://localhost:3000`).
    pub allowed_origins: Vec<String>,
    /// Allowed `Host` names (port ignored).
    pub allowed_hosts: Vec<String>,
    /// Idle time after which a legacy session ends.
    pub session_idle: std::time::Duration,
    /// Most concurrent legacy sessions.
    pub max_sessions: usize,
    /// Whether `/sse` serves 2024-11-05 clients.
    pub legacy_sse: bool,
}

/// The running gateway: the current core plus everything that outlives a reload.
#[derive(Debug)]
pub struct Gateway {
    core: ArcSwap<Core>,
    /// HTTP clients for upstreams (no redirects, no cookies), one per connect timeout.
    pub http: crate::upstream::HttpClients,
    /// Detected upstream eras.
    pub era_cache: EraCache,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    stateless: Mutex<Option<Arc<Session>>>,
    started: Instant,
    health: crate::health::HealthBoard,
    /// Blocked principals and addresses (the response orchestrator writes, the edge reads).
    security: Arc<sallyport_respond::SecurityState>,
    /// Where held calls wait for an operator; set once at start (`approvals:`).
    approvals: std::sync::OnceLock<Arc<crate::approvals::Approvals>>,
}

impl Gateway {
    /// A gateway serving `core`.
    pub fn new(core: Core) -> Arc<Self> {
        Self::with_security(core, Arc::default())
    }

    /// A gateway serving `core` whose edge enforces the blocks in `security` (shared with
    /// the response orchestrator and any guard built on it).
    pub fn with_security(core: Core, security: Arc<sallyport_respond::SecurityState>) -> Arc<Self> {
        let gw = Arc::new(Self {
            core: ArcSwap::from_pointee(core),
            http: crate::upstream::HttpClients::default(),
            era_cache: EraCache::default(),
            sessions: Mutex::default(),
            stateless: Mutex::default(),
            started: Instant::now(),
            health: crate::health::HealthBoard::default(),
            security,
            approvals: std::sync::OnceLock::new(),
        });
        // Health checks and reputation reloads; the task ends with the gateway.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(crate::health::upkeep(Arc::downgrade(&gw)));
        }
        gw
    }

    /// Blocked principals and addresses: outlives reloads; the HTTP edge refuses them.
    pub fn security(&self) -> &Arc<sallyport_respond::SecurityState> {
        &self.security
    }

    /// Lets held calls wait for operators' decisions in `approvals`. Without it a held call
    /// is refused at once. Set once; a second call changes nothing and returns false.
    pub fn set_approvals(&self, approvals: Arc<crate::approvals::Approvals>) -> bool {
        self.approvals.set(approvals).is_ok()
    }

    /// The approvals held calls wait in, when set.
    pub fn approvals(&self) -> Option<&Arc<crate::approvals::Approvals>> {
        self.approvals.get()
    }

    /// Ends every legacy session opened by principal `id` of `tenant` (the response action
    /// `invalidate_sessions`): their upstream connections close and their ids answer 404.
    /// Returns how many ended.
    pub async fn end_sessions_of(&self, id: &str, tenant: Option<&str>) -> usize {
        let ended: Vec<Arc<Session>> = {
            let mut map = lock(&self.sessions);
            let ids: Vec<String> = map
                .iter()
                .filter(|(_, s)| {
                    s.principal().id == id && s.principal().tenant.as_deref() == tenant
                })
                .map(|(k, _)| k.clone())
                .collect();
            ids.iter().filter_map(|k| map.remove(k)).collect()
        };
        for s in &ended {
            s.close().await;
        }
        ended.len()
    }

    /// The last upstream health checks.
    pub fn health_board(&self) -> &crate::health::HealthBoard {
        &self.health
    }

    /// The current core.
    pub fn core(&self) -> Arc<Core> {
        self.core.load_full()
    }

    /// Publishes a new core (hot reload). Live sessions keep their upstreams; new sessions
    /// and every new message use the new guard chain.
    pub fn reload(&self, mut core: Core) {
        let old = self.core.load();
        if old.traffic.same_config(&core.traffic) {
            // Unchanged limits keep their local counters, breaker states and slots.
            core.traffic = old.traffic.clone();
        }
        self.core.store(Arc::new(core));
        // The shared stateless session follows the new topology on its next use.
        let old = lock(&self.stateless).take();
        if let Some(s) = old {
            tokio::spawn(async move { s.close().await });
        }
    }

    /// Registers a legacy session; refuses when at capacity.
    pub fn insert_session(&self, session: Arc<Session>) -> bool {
        let mut map = lock(&self.sessions);
        if map.len() >= self.core().edge.max_sessions {
            return false;
        }
        if let Some(id) = session.id() {
            map.insert(id.to_owned(), session);
        }
        true
    }

    /// A legacy session by id.
    pub fn session(&self, id: &str) -> Option<Arc<Session>> {
        lock(&self.sessions).get(id).cloned()
    }

    /// A legacy session by id, only for the principal that opened it: the same id with
    /// another caller's credentials finds nothing (sessions never authenticate).
    pub fn session_for(
        &self,
        id: &str,
        principal: &sallyport_pipeline::Principal,
    ) -> Option<Arc<Session>> {
        self.session(id).filter(|s| {
            let owner = s.principal();
            owner.id == principal.id
                && owner.auth_method == principal.auth_method
                && owner.tenant == principal.tenant
        })
    }

    /// Ends a legacy session; later requests with its id get 404.
    pub fn remove_session(&self, id: &str) -> Option<Arc<Session>> {
        lock(&self.sessions).remove(id)
    }

    /// Number of live legacy sessions.
    pub fn session_count(&self) -> usize {
        lock(&self.sessions).len()
    }

    /// Ends sessions idle for longer than the configured time.
    pub async fn reap_idle_sessions(&self) {
        let idle = self.core().edge.session_idle;
        let expired: Vec<Arc<Session>> = {
            let mut map = lock(&self.sessions);
            let ids: Vec<String> = map
                .iter()
                .filter(|(_, s)| s.idle_for() > idle)
                .map(|(k, _)| k.clone())
                .collect();
            ids.iter().filter_map(|id| map.remove(id)).collect()
        };
        for s in expired {
            s.close().await;
        }
    }

    /// The session shared by stateless (2026-07-28) requests.
    pub fn stateless_session(self: &Arc<Self>) -> Arc<Session> {
        let mut slot = lock(&self.stateless);
        if let Some(s) = slot.as_ref() {
            return s.clone();
        }
        let s = Session::stateless(self.clone());
        *slot = Some(s.clone());
        s
    }

    /// Closes every session and upstream connection.
    pub async fn shutdown(&self) {
        let all: Vec<Arc<Session>> = lock(&self.sessions).drain().map(|(_, s)| s).collect();
        let stateless = lock(&self.stateless).take();
        for s in all.into_iter().chain(stateless) {
            s.close().await;
        }
    }

    /// Health summary for `/healthz`.
    pub fn health(&self) -> Value {
        json!({ "status": "ok", "uptime_secs": self.started.elapsed().as_secs(), "sessions": self.session_count() })
    }
}
