//! In-flight requests on one upstream link: id and progress-token remapping.

use crate::lock;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use sallyport_mcp::{Message, RequestId};
use serde_json::Value;
use tokio::sync::mpsc;

/// One request waiting for its response.
#[derive(Debug)]
struct Entry {
    /// The id the caller used (restored on the response).
    caller_id: RequestId,
    /// The caller's progress token, if it asked for progress.
    caller_token: Option<Value>,
    /// Where related messages and the final response go.
    tx: mpsc::Sender<Message>,
}

/// The requests a link has sent and not yet seen answered.
///
/// Every request leaves with a fresh link-unique integer id, so clients that reuse ids (or
/// many clients sharing one link) never collide; progress tokens are rewritten the same way.
#[derive(Debug, Default)]
pub(crate) struct PendingTable {
    next: AtomicI64,
    entries: Mutex<HashMap<i64, Entry>>,
    tokens: Mutex<HashMap<String, i64>>,
}

impl PendingTable {
    /// Registers `msg` (a request): rewrites its id and progress token in place and returns the
    /// link id and the receiver of its reply stream.
    pub(crate) fn register(
        &self,
        msg: &mut Message,
        capacity: usize,
    ) -> (i64, mpsc::Receiver<Message>) {
        let link_id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let caller_id = msg.id().unwrap_or(RequestId::Number(link_id));
        msg.set_id(&RequestId::Number(link_id));
        let caller_token = take_progress_token(msg, link_id);
        if caller_token.is_some() {
            lock(&self.tokens).insert(token_key(link_id), link_id);
        }
        let (tx, rx) = mpsc::channel(capacity);
        lock(&self.entries).insert(
            link_id,
            Entry {
                caller_id,
                caller_token,
                tx,
            },
        );
        (link_id, rx)
    }

    /// Delivers a response: restores the caller's id and closes the reply stream.
    /// Returns false when no such request is pending (a late or forged response).
    pub(crate) async fn resolve(&self, mut response: Message) -> bool {
        let Some(RequestId::Number(link_id)) = response.id() else {
            return false;
        };
        let Some(entry) = self.forget(link_id) else {
            return false;
        };
        response.set_id(&entry.caller_id);
        let _ = entry.tx.send(response).await;
        true
    }

    /// Routes a progress notification to its request, restoring the caller's token.
    /// Returns the message back when it belongs to no pending request.
    pub(crate) async fn route_progress(&self, mut note: Message) -> Option<Message> {
        let key = note
            .params()
            .and_then(|p| p.get("progressToken"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let link_id = key.and_then(|k| lock(&self.tokens).get(&k).copied());
        let Some(link_id) = link_id else {
            return Some(note);
        };
        let (tx, token) = {
            let entries = lock(&self.entries);
            let e = entries.get(&link_id)?;
            (e.tx.clone(), e.caller_token.clone())
        };
        if let Some(t) = token {
            note.params_mut().insert("progressToken".into(), t);
        }
        let _ = tx.send(note).await;
        None
    }

    /// The reply stream of a pending request, for messages its transport says belong to it.
    pub(crate) fn sender_for(&self, link_id: i64) -> Option<mpsc::Sender<Message>> {
        lock(&self.entries).get(&link_id).map(|e| e.tx.clone())
    }

    /// Drops a pending request (cancelled or timed out); its reply stream ends.
    pub(crate) fn cancel(&self, link_id: i64) -> bool {
        self.forget(link_id).is_some()
    }

    /// Fails every pending request with `error` (the upstream went away).
    pub(crate) fn fail_all(&self, code: i32, message: &str) {
        let drained: Vec<Entry> = lock(&self.entries).drain().map(|(_, e)| e).collect();
        lock(&self.tokens).clear();
        for e in drained {
            let mut err = Message::error(Some(e.caller_id), code, message, None);
            super::failure::mark(&mut err, sallyport_limits::CallFailure::Transport);
            let _ = e.tx.try_send(err);
        }
    }

    /// How many requests are in flight.
    pub(crate) fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    fn forget(&self, link_id: i64) -> Option<Entry> {
        let entry = lock(&self.entries).remove(&link_id)?;
        if entry.caller_token.is_some() {
            lock(&self.tokens).remove(&token_key(link_id));
        }
        Some(entry)
    }
}

fn token_key(link_id: i64) -> String {
    format!("sp-{link_id}")
}

/// Replaces `params._meta.progressToken` with a link-unique token; returns the original.
fn take_progress_token(msg: &mut Message, link_id: i64) -> Option<Value> {
    msg.params()?.get("_meta")?.get("progressToken")?;
    let meta = msg.params_mut().get_mut("_meta")?.as_object_mut()?;
    meta.insert("progressToken".into(), Value::from(token_key(link_id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn ids_and_tokens_are_remapped_and_restored() {
        let table = PendingTable::default();
        let mut a = Message::request(
            RequestId::Number(0),
            "tools/call",
            Some(json!({"name":"x","_meta":{"progressToken":7}})),
        );
        let mut b = Message::request(
            RequestId::Number(0),
            "tools/call",
            Some(json!({"name":"y"})),
        );
        let (ia, mut ra) = table.register(&mut a, 4);
        let (ib, mut rb) = table.register(&mut b, 4);
        assert_ne!(ia, ib, "two callers reusing id 0 get distinct link ids");
        assert_eq!(
            a.params_meta().unwrap()["progressToken"],
            json!(format!("sp-{ia}"))
        );

        let progress = Message::notification(
            "notifications/progress",
            Some(json!({"progressToken": format!("sp-{ia}"), "progress": 1})),
        );
        assert!(table.route_progress(progress).await.is_none());
        let got = ra.recv().await.unwrap();
        assert_eq!(got.params().unwrap()["progressToken"], json!(7));

        assert!(
            table
                .resolve(Message::result(RequestId::Number(ib), json!({"ok":true})))
                .await
        );
        assert_eq!(rb.recv().await.unwrap().id(), Some(RequestId::Number(0)));
        assert!(
            !table
                .resolve(Message::result(RequestId::Number(ib), json!({})))
                .await,
            "no double delivery"
        );
        assert_eq!(table.len(), 1);
    }
}
