//! Background upkeep of traffic protection: upstream health checks (seed 003's
//! HealthChecker: a cheap list call per upstream every `limits.health_check.interval_secs`)
//! feeding `/readyz` and the circuit breakers, and reloading IP reputation files on their
//! refresh interval.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sallyport_mcp::{Message, RequestId};
use serde_json::{Value, json};
use tracing::{debug, info, warn};

use crate::gateway::{Core, Gateway};
use crate::lock;
use crate::upstream::{ClientHello, Link, UpstreamSpec};

/// How often the upkeep task looks at the configuration when nothing is due.
const IDLE_TICK: Duration = Duration::from_secs(1);

/// The last health check of each upstream, for `/readyz`.
#[derive(Debug, Default)]
pub struct HealthBoard {
    results: Mutex<HashMap<String, CheckResult>>,
}

#[derive(Debug, Clone)]
struct CheckResult {
    ok: bool,
    error: Option<String>,
    at: Instant,
}

impl HealthBoard {
    /// `{server: {healthy, error?, checked_secs_ago}}` for every upstream checked so far.
    pub fn snapshot(&self) -> Value {
        let results = lock(&self.results);
        let map: serde_json::Map<String, Value> = results
            .iter()
            .map(|(name, r)| {
                let mut v =
                    json!({ "healthy": r.ok, "checked_secs_ago": r.at.elapsed().as_secs() });
                if let Some(e) = &r.error {
                    v["error"] = Value::from(e.as_str());
                }
                (name.clone(), v)
            })
            .collect();
        Value::Object(map)
    }

    /// Whether the last check of every checked upstream passed.
    pub fn all_healthy(&self) -> bool {
        lock(&self.results).values().all(|r| r.ok)
    }

    fn record(&self, server: &str, result: Result<(), String>) {
        let entry = CheckResult {
            ok: result.is_ok(),
            error: result.err(),
            at: Instant::now(),
        };
        lock(&self.results).insert(server.to_owned(), entry);
    }
}

/// Runs health checks and reputation reloads while the gateway lives.
pub(crate) async fn upkeep(gw: Weak<Gateway>) {
    let mut links: HashMap<String, Arc<Link>> = HashMap::new();
    let mut next_check = Instant::now();
    let mut next_reputation = Instant::now();
    loop {
        tokio::time::sleep(IDLE_TICK).await;
        let Some(gw) = gw.upgrade() else { return };
        let core = gw.core();
        let now = Instant::now();
        if let Some(health) = &core.health_check
            && now >= next_check
        {
            next_check = now + health.interval;
            check_all(&gw, &core, health.timeout, &mut links).await;
        } else if core.health_check.is_none() {
            links.clear();
        }
        if now >= next_reputation {
            next_reputation = now + reload_reputation(&core);
        }
    }
}

/// Health-check settings of one configuration generation.
#[derive(Debug, Clone, Copy)]
pub struct HealthCheckSettings {
    /// Time between two checks.
    pub interval: Duration,
    /// Time one check may take.
    pub timeout: Duration,
}

async fn check_all(
    gw: &Arc<Gateway>,
    core: &Core,
    timeout: Duration,
    links: &mut HashMap<String, Arc<Link>>,
) {
    let servers = core.federation.servers().to_vec();
    links.retain(|name, _| servers.iter().any(|s| &*s.name == name));
    for spec in servers {
        let name = spec.name.to_string();
        let cached = links.get(&name).filter(|l| !l.is_closed()).cloned();
        let check = check_one(gw, spec, cached, timeout);
        let (result, link) = match tokio::time::timeout(timeout, check).await {
            Ok(outcome) => outcome,
            Err(_) => (
                Err(format!("no answer within {} s", timeout.as_secs())),
                None,
            ),
        };
        match &link {
            Some(link) => {
                links.insert(name.clone(), link.clone());
            }
            None => {
                links.remove(&name);
            }
        }
        match &result {
            Ok(()) => debug!(server = %name, "Upstream health check passed."),
            Err(error) => warn!(server = %name, %error, "Upstream health check failed."),
        }
        core.traffic.breakers().record_health(&name, result.is_ok());
        gw.health_board().record(&name, result);
    }
}

/// Lists tools on `spec` (connecting first when there is no live link): any answer is
/// healthy — an error answer still shows a working server — while a transport failure,
/// a timeout or an HTTP 5xx is not.
async fn check_one(
    gw: &Gateway,
    spec: Arc<UpstreamSpec>,
    cached: Option<Arc<Link>>,
    timeout: Duration,
) -> (Result<(), String>, Option<Arc<Link>>) {
    let link = match cached {
        Some(link) => link,
        None => {
            let (tx, mut rx) = tokio::sync::mpsc::channel(16);
            // Nobody routes the checker's server events; drain them.
            tokio::spawn(async move { while rx.recv().await.is_some() {} });
            match Link::connect(spec, ClientHello::bare(), &gw.http, tx, &gw.era_cache).await {
                Ok(link) => link,
                Err(e) => return (Err(e.to_string()), None),
            }
        }
    };
    let request = Message::request(RequestId::Number(0), "tools/list", Some(json!({})));
    let mut stream = match link.call(request).await {
        Ok(stream) => stream,
        Err(e) => return (Err(e.to_string()), None),
    };
    stream.set_timeout(timeout);
    while stream.next().await.is_some() {}
    match (stream.failure(), stream.answered()) {
        (None, true) => (Ok(()), Some(link)),
        (Some(failure), _) => (Err(format!("{failure:?}")), None),
        (None, false) => (Err("no answer".into()), None),
    }
}

/// Reloads reputation files that changed; returns when to look again.
fn reload_reputation(core: &Core) -> Duration {
    let Some(list) = core.network.as_ref().and_then(|n| n.reputation()) else {
        return IDLE_TICK * 5;
    };
    let Some(every) = list.refresh_interval() else {
        return IDLE_TICK * 5;
    };
    match list.reload_if_changed() {
        Ok(Some(report)) => info!(
            entries = report.entries_total(),
            invalid = report.invalid_total(),
            "IP reputation lists reloaded."
        ),
        Ok(None) => {}
        Err(error) => warn!(%error, "IP reputation lists not reloaded; the previous ones stay."),
    }
    every
}
