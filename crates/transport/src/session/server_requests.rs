//! Messages an upstream starts: server→client requests (sampling, elicitation, roots) and
//! notifications (list_changed, resources/updated, logging).

use std::sync::Weak;
use std::sync::atomic::Ordering;

use sallyport_mcp::{Message, RequestId, error_code, version::Era};
use sallyport_pipeline::{Decision, Direction, Principal};
use serde_json::Value;
use tokio::sync::mpsc;
use tracing::debug;

use super::{ClientSink, Session, lock};
use crate::upstream::LinkEvent;

/// Consumes upstream events for as long as the session lives.
pub(super) async fn pump_events(
    session: Weak<Session>,
    mut rx: mpsc::Receiver<(usize, LinkEvent)>,
) {
    while let Some((idx, event)) = rx.recv().await {
        let Some(s) = session.upgrade() else { return };
        let principal = s.principal.clone();
        match event {
            LinkEvent::ServerRequest { msg, related } => {
                let via = s.reply_for(idx, related);
                s.deliver_server_request(idx, msg, via, &principal).await;
            }
            LinkEvent::Notification(msg) => s.deliver_notification(idx, msg, &principal).await,
            LinkEvent::Closed => {
                debug!(server = %s.slots[idx].spec.name, "Upstream connection closed.")
            }
        }
    }
}

impl Session {
    /// The response stream a server request should travel on: the client request it
    /// relates to, or the only one in flight to that upstream; else the session stream.
    fn reply_for(&self, idx: usize, related: Option<i64>) -> Option<ClientSink> {
        let inflight = lock(&self.inflight);
        let to_server: Vec<_> = inflight
            .values()
            .filter(|i| i.server == Some(idx))
            .collect();
        let chosen = match related {
            Some(l) => to_server.iter().find(|i| i.link_id == Some(l)).copied(),
            None if to_server.len() == 1 => to_server.first().copied(),
            None => None,
        };
        chosen.map(|i| i.reply.clone()).filter(|r| !r.is_closed())
    }

    /// Relays a server→client request with a gateway-minted id; the client's answer is
    /// routed back to the same upstream with the upstream's own id.
    pub(crate) async fn deliver_server_request(
        &self,
        idx: usize,
        mut msg: Message,
        via: Option<ClientSink>,
        principal: &Principal,
    ) {
        let Some(upstream_id) = msg.id() else { return };
        let server = self.slots[idx].spec.name.clone();
        let mut ex = self.exchange(Direction::ServerToClient, &msg, principal);
        ex.server = Some(&server);
        let refusal = match self.inspect(&ex).await {
            Decision::Allow => None,
            Decision::Rewrite(m) => {
                msg = m;
                None
            }
            Decision::Deny(d) => Some(d.public_message),
            Decision::Hold(h) => Some(h.reason),
        };
        let sink = via.or_else(|| self.unsolicited_sink());
        let refusal = refusal.or_else(|| match (self.era, &sink) {
            (Era::Modern, _) => {
                Some("the client speaks 2026-07-28 and takes no server requests".into())
            }
            (_, None) => Some("the client has no open stream for server requests".into()),
            _ => None,
        });
        if let Some(reason) = refusal {
            let error = Message::error(
                Some(upstream_id),
                error_code::INVALID_REQUEST,
                &reason,
                None,
            );
            if let Some(link) = self.slots[idx].current().await {
                let _ = link.respond(error).await;
            }
            return;
        }
        let n = self.next_server_request.fetch_add(1, Ordering::Relaxed);
        let gateway_id = format!("sp-{n}");
        lock(&self.server_requests).insert(gateway_id.clone(), (idx, upstream_id));
        msg.set_id(&RequestId::String(gateway_id));
        if let Some(sink) = sink {
            let _ = sink.send(msg).await;
        }
    }

    /// Routes the client's answer to a server request back to its upstream.
    pub(super) async fn answer_server_request(&self, mut msg: Message, principal: &Principal) {
        let Some(RequestId::String(key)) = msg.id() else {
            return;
        };
        let Some((idx, upstream_id)) = lock(&self.server_requests).remove(&key) else {
            debug!(id = %key, "Client answered an unknown server request; dropped.");
            return;
        };
        let server = self.slots[idx].spec.name.clone();
        let mut ex = self.exchange(Direction::ClientToServer, &msg, principal);
        ex.server = Some(&server);
        msg = match self.inspect(&ex).await {
            Decision::Allow => msg,
            Decision::Rewrite(m) => m,
            Decision::Deny(d) => d.to_error(None),
            Decision::Hold(h) => Message::error(None, error_code::INVALID_REQUEST, &h.reason, None),
        };
        msg.set_id(&upstream_id);
        if let Some(link) = self.slots[idx].current().await {
            let _ = link.respond(msg).await;
        }
    }

    /// Relays an upstream notification to the client, with resource URIs exposed.
    pub(super) async fn deliver_notification(
        &self,
        idx: usize,
        mut msg: Message,
        principal: &Principal,
    ) {
        let server = self.slots[idx].spec.name.clone();
        let mut ex = self.exchange(Direction::ServerToClient, &msg, principal);
        ex.server = Some(&server);
        match self.inspect(&ex).await {
            Decision::Allow => {}
            Decision::Rewrite(m) => msg = m,
            Decision::Deny(_) | Decision::Hold(_) => return,
        }
        match msg.method() {
            Some("notifications/resources/updated") => {
                if let Some(uri) = msg.param_str("uri").map(str::to_owned) {
                    let exposed = self.core.federation.expose_uri(idx, &uri);
                    msg.params_mut().insert("uri".into(), Value::from(exposed));
                }
            }
            Some("notifications/cancelled") => {
                // The upstream withdrew one of its own requests: map its id to ours.
                let upstream = msg
                    .params()
                    .and_then(|p| p.get("requestId"))
                    .and_then(RequestId::from_value);
                let ours = upstream.and_then(|u| {
                    lock(&self.server_requests)
                        .iter()
                        .find(|(_, (i, id))| *i == idx && *id == u)
                        .map(|(k, _)| k.clone())
                });
                let Some(ours) = ours else { return };
                msg.params_mut()
                    .insert("requestId".into(), Value::from(ours));
            }
            Some("notifications/progress") => return,
            Some("notifications/tools/list_changed" | "notifications/prompts/list_changed") => {
                self.catalog.invalidate(idx);
            }
            _ => {}
        }
        self.notify_listeners(&msg);
        if let Some(sink) = self.unsolicited_sink() {
            let _ = sink.try_send(msg);
        }
    }
}
