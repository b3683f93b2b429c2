//! `subscriptions/listen` (2026-07-28): a client opens a long-lived stream with a filter;
//! the gateway acknowledges it, keeps one upstream listen per modern upstream, and forwards
//! each matching notification tagged with the client's subscription id. Legacy upstreams'
//! list_changed notifications arrive unsolicited and are fanned out the same way.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sallyport_mcp::version::Era;
use sallyport_mcp::{Message, RequestId};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::{ClientSink, Session, lock};

/// `_meta` key tagging notifications with the listen request's id.
const META_SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
/// Upstream listen streams live as long as the session: no request timeout applies.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// One client listen stream.
#[derive(Debug, Clone)]
pub(super) struct Listener {
    id: RequestId,
    filter: Map<String, Value>,
    sink: ClientSink,
}

impl Listener {
    /// Whether the client opted in to this notification.
    fn wants(&self, msg: &Message) -> bool {
        let flag = match msg.method() {
            Some("notifications/tools/list_changed") => "toolsListChanged",
            Some("notifications/prompts/list_changed") => "promptsListChanged",
            Some("notifications/resources/list_changed") => "resourcesListChanged",
            Some("notifications/resources/updated") => {
                let uri = msg.param_str("uri").unwrap_or_default();
                let subs = self
                    .filter
                    .get("resourceSubscriptions")
                    .and_then(Value::as_array);
                return subs.is_some_and(|s| s.iter().any(|u| u.as_str() == Some(uri)));
            }
            _ => return false,
        };
        self.filter.get(flag).and_then(Value::as_bool) == Some(true)
    }
}

/// Serves one `subscriptions/listen` request until the client closes its stream.
pub(super) async fn listen(
    s: &Arc<Session>,
    msg: &Message,
    reply: &ClientSink,
    cancel: &CancellationToken,
) {
    let Some(id) = msg.id() else { return };
    s.connect_all().await;
    let requested = msg
        .params()
        .and_then(|p| p.get("notifications"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let agreed = agreed_filter(s, &requested).await;
    let mut ack = Message::notification(
        "notifications/subscriptions/acknowledged",
        Some(json!({ "notifications": agreed })),
    );
    tag(&mut ack, &id);
    if reply.send(ack).await.is_err() {
        return;
    }
    lock(&s.listeners).push(Listener {
        id: id.clone(),
        filter: agreed,
        sink: reply.clone(),
    });
    ensure_upstream_listens(s).await;
    tokio::select! {
        () = reply.closed() => {}
        () = cancel.cancelled() => {}
    }
    lock(&s.listeners).retain(|l| l.id != id);
}

/// The requested filter, narrowed to what some upstream can deliver.
async fn agreed_filter(s: &Session, requested: &Map<String, Value>) -> Map<String, Value> {
    let mut offered = Map::new();
    for slot in &s.slots {
        let Some(link) = slot.current().await else {
            continue;
        };
        let caps = link.capabilities();
        for (feature, flag) in [
            ("tools", "toolsListChanged"),
            ("prompts", "promptsListChanged"),
            ("resources", "resourcesListChanged"),
        ] {
            if caps
                .get(feature)
                .and_then(|f| f.get("listChanged"))
                .and_then(Value::as_bool)
                == Some(true)
            {
                offered.insert(flag.into(), Value::Bool(true));
            }
        }
        if caps
            .get("resources")
            .and_then(|f| f.get("subscribe"))
            .and_then(Value::as_bool)
            == Some(true)
        {
            offered.insert("resourceSubscriptions".into(), Value::Bool(true));
        }
    }
    let mut agreed = Map::new();
    for (k, v) in requested {
        match (k.as_str(), offered.get(k)) {
            ("resourceSubscriptions", _) if offered.contains_key("resourceSubscriptions") => {
                agreed.insert(k.clone(), v.clone());
            }
            (_, Some(_)) if v.as_bool() == Some(true) => {
                agreed.insert(k.clone(), Value::Bool(true));
            }
            _ => {}
        }
    }
    agreed
}

fn tag(msg: &mut Message, id: &RequestId) {
    let meta = msg
        .params_mut()
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(m) = meta.as_object_mut() {
        m.insert(META_SUBSCRIPTION_ID.into(), id.to_value());
    }
}

/// Opens one upstream listen per modern upstream that announces list changes.
async fn ensure_upstream_listens(s: &Arc<Session>) {
    for slot in &s.slots {
        let Some(link) = slot.current().await else {
            continue;
        };
        if link.era() != Era::Modern || !lock(&s.upstream_listens).insert(slot.idx) {
            continue;
        }
        let request = Message::request(
            RequestId::Number(0),
            "subscriptions/listen",
            Some(
                json!({ "notifications": { "toolsListChanged": true, "promptsListChanged": true, "resourcesListChanged": true } }),
            ),
        );
        let Ok(mut stream) = link.call(request).await else {
            lock(&s.upstream_listens).remove(&slot.idx);
            continue;
        };
        stream.set_timeout(LISTEN_TIMEOUT);
        let (weak, idx): (Weak<Session>, usize) = (Arc::downgrade(s), slot.idx);
        tokio::spawn(async move {
            while let Some(mut note) = stream.next().await {
                let Some(s) = weak.upgrade() else { return };
                if note.is_response()
                    || note.method() == Some("notifications/subscriptions/acknowledged")
                {
                    continue;
                }
                if let Some(Value::Object(meta)) = note.params_mut().get_mut("_meta") {
                    meta.remove(META_SUBSCRIPTION_ID);
                }
                let principal = s.principal.clone();
                s.deliver_notification(idx, note, &principal).await;
            }
            if let Some(s) = weak.upgrade() {
                lock(&s.upstream_listens).remove(&idx);
            }
        });
    }
}

impl Session {
    /// Fans a notification out to the client listen streams that asked for it.
    pub(super) fn notify_listeners(&self, msg: &Message) {
        let listeners: Vec<Listener> = lock(&self.listeners)
            .iter()
            .filter(|l| l.wants(msg))
            .cloned()
            .collect();
        for l in listeners {
            let mut m = msg.clone();
            tag(&mut m, &l.id);
            let _ = l.sink.try_send(m);
        }
    }
}
