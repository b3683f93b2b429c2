//! Serving one client on stdin/stdout, so a desktop client can spawn Sallyport as its only
//! MCP server.

use std::sync::Arc;

use sallyport_mcp::framing::{LineDecoder, encode_line};
use sallyport_mcp::version::{self, Era};
use sallyport_mcp::{Message, MessageKind, RequestId, parse_message};
use sallyport_pipeline::{Denial, DenyCode, Direction, Exchange, Principal};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tracing::debug;

use super::envelope_code;
use crate::gateway::Gateway;
use crate::session::Session;

/// Serves one client on `input`/`output` until `input` ends.
pub async fn serve<R, W>(gw: Arc<Gateway>, mut input: R, mut output: W) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(256);
    let writer = tokio::spawn(async move {
        while let Some(m) = out_rx.recv().await {
            if output.write_all(&encode_line(&m)).await.is_err() || output.flush().await.is_err() {
                break;
            }
        }
    });
    let core = gw.core();
    let mut decoder = LineDecoder::new(core.limits.max_bytes);
    let mut session: Option<Arc<Session>> = None;
    let principal = Principal {
        auth_method: "stdio",
        ..Principal::local()
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = input.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        for line in decoder.feed(&buf[..n]) {
            let parsed = match line {
                Ok(l) => parse_message(&l, &core.limits)
                    .map_err(|e| (envelope_code(&e), e.to_string(), e.id())),
                Err(e) => Err((DenyCode::MessageTooLarge, e.to_string(), None)),
            };
            let msg = match parsed {
                Ok(m) => m,
                Err((code, reason, id)) => {
                    refuse_line(&gw, code, &reason, id, &out_tx).await;
                    continue;
                }
            };
            session = handle_line(&gw, session, msg, &principal, &out_tx).await;
        }
    }
    debug!("Client closed stdin; shutting down.");
    if let Some(s) = session {
        s.close().await;
    }
    drop(out_tx);
    let _ = writer.await;
    Ok(())
}

async fn handle_line(
    gw: &Arc<Gateway>,
    session: Option<Arc<Session>>,
    msg: Message,
    principal: &Principal,
    out: &mpsc::Sender<Message>,
) -> Option<Arc<Session>> {
    if msg.method() == Some("initialize") && session.is_none() {
        let opened = Session::initialize(gw.clone(), &msg, principal.clone(), false).await;
        opened.session.attach_stream(out.clone());
        let _ = out.send(opened.response).await;
        return Some(opened.session);
    }
    let modern = msg.params_meta().is_some_and(|m| {
        m.get(version::META_PROTOCOL_VERSION)
            .and_then(|v| v.as_str())
            == Some(version::MODERN)
    });
    let target = match (&session, modern) {
        (_, true) => gw.stateless_session(),
        (Some(s), false) => s.clone(),
        (None, false) => {
            if msg.kind() == MessageKind::Request {
                let err = Message::error(
                    msg.id(),
                    sallyport_mcp::error_code::INVALID_REQUEST,
                    "send initialize first, or use protocol version 2026-07-28 with _meta",
                    None,
                );
                let _ = out.send(err).await;
            }
            return session;
        }
    };
    let (principal, out) = (principal.clone(), out.clone());
    tokio::spawn(async move { target.handle(msg, &principal, out).await });
    session
}

async fn refuse_line(
    gw: &Gateway,
    code: DenyCode,
    reason: &str,
    id: Option<RequestId>,
    out: &mpsc::Sender<Message>,
) {
    let core = gw.core();
    let denial = Denial::client(code, format!("invalid message line: {reason}"));
    let placeholder = Message::notification("", None);
    let principal = Principal::local();
    let ex = Exchange::new(
        Direction::ClientToServer,
        &placeholder,
        &principal,
        Era::Legacy,
    );
    core.relay.record_denial(&ex, "envelope", &denial);
    let _ = out.send(denial.to_error(id)).await;
}
