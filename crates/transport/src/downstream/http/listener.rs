//! The accept loop of the HTTP listener. Ours rather than `axum::serve` so that every TCP
//! connection passes the network layer first (IP lists, per-IP connection limit) and slow
//! clients are cut off: a client gets `network.slow_client.header_read_timeout_secs` to send
//! a request head (hyper closes the connection otherwise), and the body read timeout is
//! applied per request by the network middleware.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;
use tracing::{debug, warn};

use crate::gateway::Gateway;

/// The request-head timeout without a `network` section (hyper's own default).
const DEFAULT_HEADER_READ: Duration = Duration::from_secs(30);

/// How long shutdown waits for open connections to finish their requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `gw` on `listener` until `shutdown` resolves, then lets open connections finish
/// (up to a short grace period).
pub async fn serve(
    listener: TcpListener,
    gw: Arc<Gateway>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let app = super::router(gw.clone());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    warn!(%error, "Accepting a connection failed.");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        accept(&gw, &app, &graceful, tcp, peer);
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        debug!("Connections still open after the shutdown grace period.");
    }
    Ok(())
}

/// Admits one connection (or closes it) and serves it on its own task.
fn accept(
    gw: &Gateway,
    app: &Router,
    graceful: &GracefulShutdown,
    tcp: TcpStream,
    peer: SocketAddr,
) {
    let core = gw.core();
    let (guard, header_read) = match &core.network {
        Some(gate) => match gate.connect(peer.ip()) {
            Ok(guard) => (Some(guard), gate.timeouts().header_read),
            Err(refusal) => {
                super::network::record_connection_refusal(&core, &refusal);
                return;
            }
        },
        None => (None, DEFAULT_HEADER_READ),
    };
    // Small SSE writes must not wait for the peer's delayed ACK (Nagle).
    let _ = tcp.set_nodelay(true);
    let app = app.clone();
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read);
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
    let connection = graceful.watch(connection.into_owned());
    tokio::spawn(async move {
        // The connection counts against its client's limit for as long as it is open.
        let _guard = guard;
        if let Err(error) = connection.await {
            debug!(%peer, error = %error, "Client connection ended with an error.");
        }
    });
}
