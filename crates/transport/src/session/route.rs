//! Routing one client request to the upstream that serves it, and its answer back.

use std::sync::Arc;

use sallyport_limits::{CallFailure, CallOutcome};
use sallyport_mcp::version::{self, Era};
use sallyport_mcp::{Message, error_code};
use sallyport_pipeline::{Decision, Denial, DenyCode, Direction, Principal};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use self::approval::Settlement;
use self::call::Call;
use super::{ClientSink, Session, lists};
use crate::traffic::PendingOutcome;
use crate::upstream::ReplyStream;

mod approval;
mod call;
mod reserved;

/// One request's place in the session's in-flight table: the key it is filed under and the
/// token that cancels it.
#[derive(Debug)]
pub(super) struct Ticket {
    pub(super) key: sallyport_mcp::RequestId,
    pub(super) cancel: CancellationToken,
}

/// Where a request goes.
enum Target {
    /// Answered by the gateway itself.
    Local(Message),
    /// A federated list.
    List,
    /// A long-lived `subscriptions/listen` stream.
    Listen,
    /// One upstream: its index, the rewritten request, and the tool/prompt name.
    Upstream {
        idx: usize,
        msg: Message,
        tool: Option<String>,
    },
    /// Refused before routing.
    Refused(Denial),
}

pub(super) async fn route_request(
    s: &Arc<Session>,
    msg: Message,
    principal: &Principal,
    reply: &ClientSink,
    ticket: &Ticket,
) {
    let cancel = &ticket.cancel;
    let inbound = s.exchange(Direction::ClientToServer, &msg, principal);
    let msg = match s.inspect(&inbound).await {
        Decision::Allow => msg,
        Decision::Rewrite(m) => m,
        Decision::Deny(d) => return send(reply, d.to_error(msg.id())).await,
        Decision::Hold(h) => return send(reply, held(&msg, &h.reason)).await,
    };
    match target(s, &msg, principal).await {
        Target::Local(answer) => send(reply, s.adapt_result(answer, msg.method())).await,
        Target::List => {
            let answer = lists::federated_list(s, &msg, principal).await;
            send(reply, answer).await;
        }
        Target::Listen => super::listen::listen(s, &msg, reply, cancel).await,
        Target::Refused(d) => s.refuse(&msg, principal, "router", &d, reply).await,
        Target::Upstream {
            idx,
            msg: upstream_msg,
            tool,
        } => {
            if let Some(name) = tool.as_deref() {
                let method = msg.method().unwrap_or_default();
                if !s
                    .upstream_has(idx, super::catalog::Kind::of(method), name)
                    .await
                {
                    let server = &s.slots[idx].spec.name;
                    let denial = unknown_name(method, msg.param_str("name").unwrap_or_default())
                        .with_detail(format!("server {server} has no {name:?}"));
                    return s.refuse(&msg, principal, "router", &denial, reply).await;
                }
            }
            forward(
                s,
                idx,
                &msg,
                upstream_msg,
                tool.as_deref(),
                principal,
                reply,
                ticket,
            )
            .await;
        }
    }
}

async fn target(s: &Session, msg: &Message, principal: &Principal) -> Target {
    let method = msg.method().unwrap_or_default();
    let fed = &s.core.federation;
    match method {
        "initialize"
        | "ping"
        | "logging/setLevel"
        | "resources/subscribe"
        | "resources/unsubscribe"
            if s.era == Era::Modern =>
        {
            // Removed in 2026-07-28: unknown methods, answered 404 + -32601.
            Target::Refused(Denial::client(
                DenyCode::MethodNotFound,
                format!("Method not found: {method} does not exist in protocol version 2026-07-28"),
            ))
        }
        "ping" => Target::Local(Message::result(id(msg), json!({}))),
        "initialize" => Target::Refused(Denial::client(
            DenyCode::InvalidMessage,
            "the session is already initialized; start a new session to initialize again",
        )),
        "server/discover" => {
            s.connect_all().await;
            let mut d = s
                .merged_server_description(principal, "server/discover")
                .await;
            d.insert("supportedVersions".into(), json!(version::ALL_VERSIONS));
            Target::Local(Message::result(id(msg), Value::Object(d)))
        }
        "logging/setLevel" => {
            s.broadcast_notification_as_request(msg).await;
            Target::Local(Message::result(id(msg), json!({})))
        }
        "subscriptions/listen" if s.era == Era::Modern => Target::Listen,
        "tools/list" | "prompts/list" | "resources/list" | "resources/templates/list" => {
            Target::List
        }
        "tools/call" | "prompts/get" => {
            let name = msg.param_str("name").unwrap_or_default();
            match fed.resolve_name(name) {
                Some((idx, local)) => {
                    let mut m = msg.clone();
                    m.params_mut().insert("name".into(), Value::from(local));
                    Target::Upstream {
                        idx,
                        msg: m,
                        tool: Some(local.to_owned()),
                    }
                }
                None => Target::Refused(unknown_name(method, name)),
            }
        }
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => {
            let uri = msg.param_str("uri").unwrap_or_default();
            match fed.resolve_uri(uri) {
                Some((idx, local)) => {
                    let mut m = msg.clone();
                    m.params_mut().insert("uri".into(), Value::from(local));
                    Target::Upstream {
                        idx,
                        msg: m,
                        tool: None,
                    }
                }
                None => Target::Refused(unknown_resource(uri, s.era)),
            }
        }
        "completion/complete" => completion_target(s, msg),
        _ => Target::Refused(Denial::client(
            DenyCode::MethodNotFound,
            format!("Method not found: {method}"),
        )),
    }
}

fn completion_target(s: &Session, msg: &Message) -> Target {
    let fed = &s.core.federation;
    let reference = msg
        .params()
        .and_then(|p| p.get("ref"))
        .cloned()
        .unwrap_or(Value::Null);
    let (key, value) = match reference.get("type").and_then(Value::as_str) {
        Some("ref/prompt") => ("name", reference.get("name").and_then(Value::as_str)),
        Some("ref/resource") => ("uri", reference.get("uri").and_then(Value::as_str)),
        _ => ("", None),
    };
    let resolved = match (key, value) {
        ("name", Some(v)) => fed.resolve_name(v),
        ("uri", Some(v)) => fed.resolve_uri(v),
        _ => None,
    };
    let Some((idx, local)) = resolved else {
        return Target::Refused(Denial::client(
            DenyCode::InvalidMessage,
            "params.ref must name a known prompt or resource",
        ));
    };
    let mut m = msg.clone();
    if let Some(r) = m.params_mut().get_mut("ref").and_then(Value::as_object_mut) {
        r.insert(key.into(), Value::from(local));
    }
    Target::Upstream {
        idx,
        msg: m,
        tool: None,
    }
}

#[allow(clippy::too_many_arguments)]
async fn forward(
    s: &Arc<Session>,
    idx: usize,
    client_msg: &Message,
    upstream_msg: Message,
    tool: Option<&str>,
    principal: &Principal,
    reply: &ClientSink,
    ticket: &Ticket,
) {
    let server = s.slots[idx].spec.name.clone();
    let method = client_msg.method().map(str::to_owned);
    let approval_id: String;
    let mut ex = s.exchange(Direction::ClientToServer, &upstream_msg, principal);
    ex.server = Some(&server);
    ex.tool = tool;
    let mut decision = s.inspect(&ex).await;
    if let Decision::Hold(h) = &decision {
        match approval::settle(s, &ex, client_msg, h, ticket, reply).await {
            // The approval answers the hold; the chain runs again, so every other guard
            // still has its say, and the record names the approval.
            Settlement::Approved(id) => {
                approval_id = id;
                ex.approval = Some(&approval_id);
                decision = s.inspect(&ex).await;
            }
            Settlement::Refused(denial) => {
                s.gw.core().relay.record_denial(&ex, "approval", &denial);
                return send(reply, denial.to_error(client_msg.id())).await;
            }
            Settlement::Answer(m) => {
                return send(reply, s.adapt_result(m, method.as_deref())).await;
            }
        }
    }
    let upstream_msg = match decision {
        Decision::Allow => upstream_msg,
        Decision::Rewrite(m) => m,
        Decision::Deny(d) if d.code == DenyCode::ToolNotAllowed => {
            let name = client_msg.param_str("name").unwrap_or_default();
            return send(
                reply,
                unknown_name(method.as_deref().unwrap_or_default(), name).to_error(client_msg.id()),
            )
            .await;
        }
        Decision::Deny(d) => return send(reply, d.to_error(client_msg.id())).await,
        Decision::Hold(h) => return send(reply, held(client_msg, &h.reason)).await,
    };
    // Traffic protection, after the guards (a refused call costs no budget) and before the
    // upstream sees anything: rate limits and quota, breakers, concurrency slots.
    let call = Call {
        idx,
        client_msg,
        method: method.as_deref(),
        tool,
        principal,
        reply,
        ticket,
    };
    let traffic = s.gw.core().traffic.clone();
    let limited_tool = tool.filter(|_| call.method == Some("tools/call"));
    let pending = match traffic.admit(principal, &server, limited_tool).await {
        Ok(admitted) => PendingOutcome::new(admitted),
        Err(denial) => return call.refuse(s, &server, "traffic", &denial).await,
    };
    let deadline = traffic.timeout_for(&server, limited_tool);
    let exchange = call.exchange(s, upstream_msg, deadline, &pending);
    match deadline {
        None => exchange.await,
        // Dropping the exchange drops its reply stream, which cancels the upstream request
        // as its era requires (`notifications/cancelled`, or closing the response stream).
        Some(limit) => {
            if tokio::time::timeout(limit, exchange).await.is_err() {
                pending.finish(CallOutcome::Failed(CallFailure::Timeout));
                let denial = crate::traffic::timeout_denial(&server, limited_tool, limit);
                call.refuse(s, &server, "timeout", &denial).await;
            }
        }
    }
    // A call the client abandoned tells nothing about the upstream: dropping `pending`
    // unrecorded records nothing.
}

#[allow(clippy::too_many_arguments)]
async fn relay_replies(
    s: &Arc<Session>,
    idx: usize,
    stream: &mut ReplyStream,
    method: Option<&str>,
    tool: Option<&str>,
    principal: &Principal,
    reply: &ClientSink,
    cancel: &CancellationToken,
) {
    let server = s.slots[idx].spec.name.clone();
    loop {
        let next = tokio::select! {
            m = stream.next() => m,
            () = cancel.cancelled() => return stream.cancel("cancelled by the client"),
            () = reply.closed() => return stream.cancel("client closed the stream"),
        };
        let Some(msg) = next else { return };
        if msg.kind() == sallyport_mcp::MessageKind::Request {
            s.deliver_server_request(idx, msg, Some(reply.clone()), principal)
                .await;
            continue;
        }
        let mut ex = s.exchange(Direction::ServerToClient, &msg, principal);
        ex.server = Some(&server);
        ex.tool = tool;
        ex.method = if msg.is_response() {
            method
        } else {
            msg.method()
        };
        let out = match s.inspect(&ex).await {
            Decision::Allow => reserved::defuse(msg),
            Decision::Rewrite(m) => reserved::defuse(m),
            Decision::Deny(d) if msg.is_response() => d.to_error(msg.id()),
            Decision::Hold(h) if msg.is_response() => held(&msg, &h.reason),
            // A refused notification is dropped; the decision record keeps why.
            Decision::Deny(_) | Decision::Hold(_) => continue,
        };
        let is_final = out.is_response();
        let out = if is_final {
            s.adapt_result(s.expose_in_result(idx, out, method), method)
        } else {
            out
        };
        if reply.send(out).await.is_err() {
            return stream.cancel("client closed the stream");
        }
        if is_final {
            return;
        }
    }
}

impl Session {
    /// Adds what a modern client requires on every result (`resultType`), and the caching
    /// hints on list results.
    pub(crate) fn adapt_result(&self, mut msg: Message, method: Option<&str>) -> Message {
        if self.era != Era::Modern {
            return msg;
        }
        if let Some(r) = msg.result_mut() {
            r.entry("resultType")
                .or_insert_with(|| Value::from("complete"));
            // The client's server is the gateway: it identifies itself, not the upstream.
            let meta = r.entry("_meta").or_insert_with(|| json!({}));
            if let Some(m) = meta.as_object_mut() {
                let info = json!({ "name": "sallyport", "version": env!("CARGO_PKG_VERSION") });
                m.insert(version::META_SERVER_INFO.into(), info);
            }
            if matches!(
                method,
                Some(
                    "server/discover"
                        | "tools/list"
                        | "prompts/list"
                        | "resources/list"
                        | "resources/templates/list"
                        | "resources/read"
                )
            ) {
                r.entry("ttlMs").or_insert_with(|| Value::from(0));
                r.entry("cacheScope")
                    .or_insert_with(|| Value::from("private"));
            }
        }
        msg
    }

    /// Rewrites upstream resource URIs inside a result to their exposed form.
    pub(crate) fn expose_in_result(
        &self,
        idx: usize,
        mut msg: Message,
        method: Option<&str>,
    ) -> Message {
        let fed = &self.core.federation;
        let Some(result) = msg.result_mut() else {
            return msg;
        };
        let key = match method {
            Some("resources/read") => "contents",
            Some("tools/call") => "content",
            Some("prompts/get") => "messages",
            _ => return msg,
        };
        if let Some(Value::Array(items)) = result.get_mut(key) {
            for item in items {
                expose_uris(item, &|u| fed.expose_uri(idx, u));
            }
        }
        msg
    }

    pub(crate) async fn broadcast_notification_as_request(&self, msg: &Message) {
        for slot in &self.slots {
            if let Some(link) = slot.current().await
                && let Ok(mut st) = link.call(msg.clone()).await
            {
                tokio::spawn(async move { while st.next().await.is_some() {} });
            }
        }
    }
}

/// Rewrites `uri` members of content items (resource links, embedded resources) in place.
fn expose_uris(item: &mut Value, expose: &dyn Fn(&str) -> String) {
    let Some(obj) = item.as_object_mut() else {
        return;
    };
    if let Some(Value::String(u)) = obj.get("uri") {
        let exposed = expose(u);
        obj.insert("uri".into(), Value::from(exposed));
    }
    for nested in ["resource", "content"] {
        if let Some(v) = obj.get_mut(nested) {
            expose_uris(v, expose);
        }
    }
}

fn id(msg: &Message) -> sallyport_mcp::RequestId {
    msg.id().unwrap_or(sallyport_mcp::RequestId::Number(0))
}

async fn send(reply: &ClientSink, msg: Message) {
    let _ = reply.send(msg).await;
}

/// The error for a tool or prompt that does not exist — and, identically, for one that is
/// hidden by policy (no oracle).
pub(crate) fn unknown_name(method: &str, name: &str) -> Denial {
    let what = if method == "prompts/get" {
        "prompt"
    } else {
        "tool"
    };
    let shown: String = name.chars().take(128).collect();
    Denial::client(DenyCode::ToolNotAllowed, format!("Unknown {what}: {shown}"))
}

fn unknown_resource(uri: &str, era: Era) -> Denial {
    let shown: String = uri.chars().take(256).collect();
    // Legacy revisions answer unknown resources with -32002, 2026-07-28 with -32602.
    let code = if era == Era::Legacy {
        DenyCode::ResourceNotFound
    } else {
        DenyCode::UnknownResource
    };
    Denial::client(code, format!("Resource not found: {shown}")).with_data(json!({ "uri": uri }))
}

fn upstream_error(msg: &Message, reason: &str) -> Message {
    Message::error(msg.id(), error_code::INTERNAL_ERROR, reason, None)
}

fn held(msg: &Message, reason: &str) -> Message {
    Message::error(
        msg.id(),
        error_code::INVALID_REQUEST,
        &format!("held for approval: {reason}"),
        None,
    )
}
