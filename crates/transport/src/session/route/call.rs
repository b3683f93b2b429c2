//! One routed request on its way to an upstream: sending it, relaying its answers, and
//! recording its outcome for the circuit breakers before the final answer leaves.

use std::sync::Arc;

use sallyport_limits::{CallFailure, CallOutcome};
use sallyport_mcp::Message;
use sallyport_pipeline::{Denial, Direction, Principal};

use super::{ClientSink, Session, Ticket, relay_replies, send, upstream_error};
use crate::lock;
use crate::traffic::{PendingOutcome, TrackedStream};
use crate::upstream::{LinkError, ReplyStream};

/// One routed request on its way to an upstream.
pub(super) struct Call<'a> {
    pub(super) idx: usize,
    pub(super) client_msg: &'a Message,
    pub(super) method: Option<&'a str>,
    pub(super) tool: Option<&'a str>,
    pub(super) principal: &'a Principal,
    pub(super) reply: &'a ClientSink,
    pub(super) ticket: &'a Ticket,
}

impl Call<'_> {
    /// Sends the request and relays its answers; records how it ended on `pending` before
    /// the final answer leaves.
    pub(super) async fn exchange(
        &self,
        s: &Arc<Session>,
        upstream_msg: Message,
        deadline: Option<std::time::Duration>,
        pending: &PendingOutcome,
    ) {
        let stream = match self.start(s, upstream_msg).await {
            Ok(st) => st,
            Err(e) => {
                pending.finish(CallOutcome::Failed(CallFailure::Transport));
                return send(self.reply, upstream_error(self.client_msg, &e.to_string())).await;
            }
        };
        let mut tracked = TrackedStream { stream, pending };
        let stream = &mut tracked.stream;
        if let Some(limit) = deadline {
            // The overall deadline answers first; this only keeps the link's own gap timer
            // from racing it.
            stream.set_timeout(limit + std::time::Duration::from_secs(1));
        }
        if let Some(e) = lock(&s.inflight).get_mut(&self.ticket.key) {
            e.server = Some(self.idx);
            e.link_id = Some(stream.link_id());
        }
        relay_replies(
            s,
            self.idx,
            stream,
            self.method,
            self.tool,
            self.principal,
            self.reply,
            &self.ticket.cancel,
        )
        .await;
    }

    /// Sends the request on the slot's link. A link that died before the request left
    /// (a server that exited while idle, not yet noticed) is replaced once and the request
    /// sent again: it never reached the dead process, so resending cannot repeat it.
    async fn start(
        &self,
        s: &Arc<Session>,
        upstream_msg: Message,
    ) -> Result<ReplyStream, LinkError> {
        let slot = &s.slots[self.idx];
        let link = slot.link(&s.gw, &s.hello, &s.events_tx).await?;
        match link.call(upstream_msg.clone()).await {
            Err(LinkError::Closed { .. }) => {
                let link = slot.link(&s.gw, &s.hello, &s.events_tx).await?;
                link.call(upstream_msg).await
            }
            other => other,
        }
    }

    /// Records a refusal decided on the request path (naming server and tool) and answers.
    pub(super) async fn refuse(
        &self,
        s: &Session,
        server: &str,
        stage: &'static str,
        denial: &Denial,
    ) {
        let mut ex = s.exchange(Direction::ClientToServer, self.client_msg, self.principal);
        ex.server = Some(server);
        ex.tool = self.tool;
        s.gw.core().relay.record_denial(&ex, stage, denial);
        send(self.reply, denial.to_error(self.client_msg.id())).await;
    }
}
