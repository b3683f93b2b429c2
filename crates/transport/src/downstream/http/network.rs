//! The network layer on every MCP request, before Host/Origin checks and authentication:
//! IP allow/deny and reputation lists, per-IP request rate, request-line checks. A refusal
//! is answered at the HTTP level (403, 429 with `Retry-After`, 400, 413) and recorded as a
//! decision naming the rule. An admitted request carries its resolved [`ClientIp`] and its
//! body is read under the slow-client body timeout.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use sallyport_network::{Admission, ClientAddr, Refusal, RefusalReason, RequestMeta};
use sallyport_pipeline::{Denial, DenyCode};
use tokio::time::{Instant, Sleep};

use super::edge;
use crate::gateway::{Core, Gateway};

/// The client address of a request as the network layer resolved it (the TCP peer, or
/// the address a trusted proxy forwarded), for later stages and audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub ClientAddr);

/// The client address of `req`: the one the network layer resolved (trusted proxies), else
/// the TCP peer.
pub(super) fn client_ip(req: &Request) -> Option<std::net::IpAddr> {
    req.extensions()
        .get::<ClientIp>()
        .map(|c| c.0.ip)
        .or_else(|| {
            req.extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
        })
}

/// Admits or refuses one request before anything else reads it.
pub(super) async fn admit(
    State(gw): State<Arc<Gateway>>,
    mut req: Request,
    next: Next,
) -> Response {
    let core = gw.core();
    let Some(gate) = core.network.clone() else {
        return next.run(req).await;
    };
    let Some(peer) = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    else {
        return next.run(req).await;
    };
    match gate.admit(&RequestMeta::of(peer, &req)) {
        Admission::Allow { client } => {
            req.extensions_mut().insert(ClientIp(client));
            let read_timeout = gate.timeouts().body_read;
            let req = req.map(|body| Body::new(TimedBody::new(body, read_timeout)));
            next.run(req).await
        }
        Admission::Refuse(refusal) => refuse(&core, &refusal),
    }
}

/// The deny code and rule of a network refusal.
fn denial(refusal: &Refusal) -> Denial {
    let reason = refusal.reason;
    let (code, message) = match reason {
        RefusalReason::IpDenied | RefusalReason::NotInAllowList => {
            (DenyCode::IpDenied, "Your address may not use this gateway")
        }
        RefusalReason::IpReputation => (
            DenyCode::IpReputation,
            "Your address is on a blocklist this gateway uses",
        ),
        RefusalReason::PerIpRate | RefusalReason::TooManyConnections => (
            DenyCode::PerIpRateLimited,
            "Too many requests from your address",
        ),
        RefusalReason::PathTraversal => {
            (DenyCode::PathTraversal, "The request path is not allowed")
        }
        RefusalReason::ContentLength => {
            (DenyCode::MessageTooLarge, "The request body is too large")
        }
        RefusalReason::MalformedContentLength => {
            (DenyCode::InvalidMessage, "Content-Length is not valid")
        }
        // A reason added to the network layer later: refuse as a denied address.
        _ => (DenyCode::IpDenied, "Your address may not use this gateway"),
    };
    let client = refusal.client;
    Denial::client(code, message).with_detail(format!(
        "network:{reason} client {} ({})",
        client.ip,
        client.source.as_str()
    ))
}

fn refuse(core: &Core, refusal: &Refusal) -> Response {
    let mut resp = edge::refuse_from(core, &denial(refusal), Some(refusal.client.ip));
    // The network layer's own table decides the status (it has finer reasons than codes).
    *resp.status_mut() = refusal.status;
    if let Some(secs) = refusal.retry_after_secs() {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// Records a connection refused at accept (it gets no HTTP answer: it is closed).
pub(super) fn record_connection_refusal(core: &Core, refusal: &Refusal) {
    let _ = edge::refuse_from(core, &denial(refusal), Some(refusal.client.ip));
}

/// A request body that fails once its whole read takes longer than the body timeout.
struct TimedBody {
    inner: Body,
    deadline: Pin<Box<Sleep>>,
    limit: Duration,
}

impl TimedBody {
    fn new(inner: Body, limit: Duration) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep_until(Instant::now() + limit)),
            limit,
        }
    }
}

/// The body did not arrive within the slow-client body timeout.
#[derive(Debug, thiserror::Error)]
#[error("request body not received within {0:?}")]
struct BodyTimeout(Duration);

impl hyper::body::Body for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyTimeout(self.limit).into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
