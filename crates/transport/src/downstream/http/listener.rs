//! The accept loop of the HTTP listener. Ours rather than `axum::serve` so that every TCP
//! connection passes the network layer first (IP lists, per-IP connection limit) and slow
//! clients are cut off: a client gets `network.slow_client.header_read_timeout_secs` to send
//! a request head (hyper closes the connection otherwise), and the body read timeout is
//! applied per request by the network middleware.
//!
//! With a TLS configuration (`listen.tls`, and `auth.mtls` for client certificates) every
//! connection is a TLS 1.3 handshake first, within the same head timeout; a verified client
//! certificate travels with each request as a [`PeerCertificate`] for authentication. A
//! failed handshake (no certificate where one is required, an unknown CA, an expired
//! certificate) is recorded as an `invalid_certificate` refusal.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use sallyport_pipeline::{Denial, DenyCode};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tracing::{debug, warn};

use super::authn::PeerCertificate;
use crate::gateway::{Core, Gateway};

/// The request-head timeout without a `network` section (hyper's own default).
const DEFAULT_HEADER_READ: Duration = Duration::from_secs(30);

/// How long shutdown waits for open connections to finish their requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `gw` on `listener` until `shutdown` resolves, then lets open connections finish
/// (up to a short grace period). With `tls`, connections are TLS (see the module docs).
pub async fn serve(
    listener: TcpListener,
    gw: Arc<Gateway>,
    tls: Option<TlsAcceptor>,
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
        accept(&gw, &app, &graceful, tls.as_ref(), tcp, peer);
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

/// Serves any `app` (the admin listener's) on `listener` until `shutdown`, over TLS when
/// `tls` is given: each request carries its peer address (`ConnectInfo`) and the verified
/// client certificate, if any ([`PeerCertificate`]). No network layer runs here.
pub async fn serve_app(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    warn!(%error, "Accepting a connection failed.");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let conn = Connection {
            app: app.clone(),
            peer,
            header_read: DEFAULT_HEADER_READ,
            watcher: graceful.watcher(),
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            let Some(acceptor) = tls else {
                return conn.serve(tcp, None).await;
            };
            match tokio::time::timeout(DEFAULT_HEADER_READ, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => {
                    let cert = stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .map(|leaf| PeerCertificate(leaf.to_vec()));
                    conn.serve(stream, cert).await;
                }
                Ok(Err(error)) => warn!(%peer, %error, "Admin TLS handshake failed."),
                Err(_) => debug!(%peer, "Admin TLS handshake not finished in time."),
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
    Ok(())
}

/// Admits one connection (or closes it) and serves it on its own task.
fn accept(
    gw: &Gateway,
    app: &Router,
    graceful: &GracefulShutdown,
    tls: Option<&TlsAcceptor>,
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
    let conn = Connection {
        app: app.clone(),
        peer,
        header_read,
        watcher: graceful.watcher(),
    };
    let tls = tls.cloned();
    tokio::spawn(async move {
        // The connection counts against its client's limit for as long as it is open.
        let _guard = guard;
        match tls {
            None => conn.serve(tcp, None).await,
            Some(acceptor) => {
                let handshake = tokio::time::timeout(header_read, acceptor.accept(tcp)).await;
                match handshake {
                    Ok(Ok(stream)) => {
                        let cert = stream
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|chain| chain.first())
                            .map(|leaf| PeerCertificate(leaf.to_vec()));
                        conn.serve(stream, cert).await;
                    }
                    Ok(Err(error)) => record_handshake_failure(&core, peer, &error.to_string()),
                    Err(_) => debug!(%peer, "TLS handshake not finished within the head timeout."),
                }
            }
        }
    });
}

/// One admitted connection, ready to be served over TCP or TLS.
struct Connection {
    app: Router,
    peer: SocketAddr,
    header_read: Duration,
    watcher: Watcher,
}

impl Connection {
    async fn serve<S>(self, io: S, cert: Option<PeerCertificate>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Self {
            app,
            peer,
            header_read,
            watcher,
        } = self;
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                if let Some(cert) = &cert {
                    req.extensions_mut().insert(cert.clone());
                }
                app.clone().oneshot(req.map(axum::body::Body::new))
            });
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(header_read);
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
        // The connection's parts wake one another within this task (see `inline_wakes`).
        let connection =
            crate::inline_wakes::InlineWakes::new(watcher.watch(connection.into_owned()));
        if let Err(error) = connection.await {
            debug!(%peer, error = %error, "Client connection ended with an error.");
        }
    }
}

/// A TLS handshake that failed: recorded as an `invalid_certificate` refusal (most are
/// client certificates missing, expired or from an unknown CA; the detail says which).
fn record_handshake_failure(core: &Core, peer: SocketAddr, error: &str) {
    debug!(%peer, %error, "TLS handshake failed.");
    let denial = Denial::client(
        DenyCode::InvalidCertificate,
        "TLS handshake failed: present a client certificate issued by the configured CA",
    )
    .with_detail(format!("{peer}: {error}"));
    let _ = super::edge::refuse_from(core, &denial, Some(peer.ip().to_canonical()));
}
