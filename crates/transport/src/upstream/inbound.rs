//! Where an upstream's messages go: to the pending request they answer or relate to, or to
//! the session as link events.

use std::sync::Arc;

use sallyport_mcp::{Message, MessageKind};
use tokio::sync::mpsc;

use super::LinkEvent;
use super::pending::PendingTable;

/// Routes one link's incoming messages. Wires call it directly where they can (a POST's JSON
/// answer), so an answer reaches its caller without a hop through the link's dispatch task.
#[derive(Debug)]
pub(crate) struct Inbound {
    pub(crate) pending: Arc<PendingTable>,
    pub(crate) events: mpsc::Sender<LinkEvent>,
}

impl Inbound {
    /// Delivers one message; `related` is the link id of the request whose response stream
    /// carried it, when the transport tells.
    pub(crate) async fn route(&self, msg: Message, related: Option<i64>) {
        match msg.kind() {
            MessageKind::Result | MessageKind::Error => {
                // A response whose id is unknown (late, forged or after cancel) is dropped.
                let _ = self.pending.resolve(msg).await;
            }
            MessageKind::Notification if msg.method() == Some("notifications/progress") => {
                if let Some(m) = self.pending.route_progress(msg).await {
                    let _ = self.events.send(LinkEvent::Notification(m)).await;
                }
            }
            MessageKind::Notification => {
                // Logging and other notifications sent on a request's own stream go with it.
                match related.and_then(|id| self.pending.sender_for(id)) {
                    Some(tx) => {
                        let _ = tx.send(msg).await;
                    }
                    None => {
                        let _ = self.events.send(LinkEvent::Notification(msg)).await;
                    }
                }
            }
            MessageKind::Request => {
                let _ = self
                    .events
                    .send(LinkEvent::ServerRequest { msg, related })
                    .await;
            }
        }
    }
}
