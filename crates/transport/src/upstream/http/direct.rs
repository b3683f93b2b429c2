//! HTTP/1.1 connections to one plain-`http` upstream, each driven by the task that uses it.
//!
//! A pooled client (reqwest, hyper-util) runs every connection on a task of its own, so each
//! call hands its request to that task and its answer back: two cross-task wake-ups per call,
//! which on a multi-threaded runtime often wake a parked worker. Here the caller polls the
//! connection itself while it waits for the answer and reads its body, and puts the idle
//! connection back in the pool when the body ends. A body dropped early closes its connection.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Most idle connections kept per upstream.
const MAX_IDLE: usize = 64;

type Driver = Connection<TokioIo<TcpStream>, Full<Bytes>>;

/// One HTTP/1.1 connection: the handle that sends on it and the state machine that runs it.
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    /// `None` once the connection has ended.
    driver: Option<Driver>,
}

impl Conn {
    /// Runs the connection as far as it can go now; false once it has ended.
    fn poll_drive(&mut self, cx: &mut Context<'_>) -> bool {
        if let Some(driver) = &mut self.driver
            && Pin::new(driver).poll(cx).is_ready()
        {
            self.driver = None;
        }
        self.driver.is_some()
    }

    /// Runs the connection, then polls `poll`, something only the connection produces into.
    ///
    /// `poll` does not register this task's waker: whatever it waits for comes from the
    /// connection, which registers that waker for the socket. Had it registered, the
    /// connection would wake this task from inside its own poll, and tokio reschedules a task
    /// woken while it runs as a yield, which wakes a parked worker for nothing.
    fn drive_then<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        self.poll_drive(cx);
        poll(&mut Context::from_waker(Waker::noop()))
    }

    /// Waits until the connection can take a request; false if it has ended instead.
    async fn ready(&mut self) -> bool {
        poll_fn(|cx| {
            if !self.poll_drive(cx) {
                return Poll::Ready(false);
            }
            self.sender.poll_ready(cx).map(|r| r.is_ok())
        })
        .await
    }
}

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DirectError {
    #[error("connection failed")]
    Connect,
    #[error("request failed")]
    Request,
}

/// The idle connections to one upstream address.
pub(crate) struct DirectPool {
    /// `host:port` to connect to.
    authority: String,
    /// The `Host` header: the URL's host, and its port when not the default.
    host_header: http::HeaderValue,
    connect_timeout: Duration,
    idle: Mutex<Vec<Conn>>,
}

impl std::fmt::Debug for DirectPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectPool")
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

impl DirectPool {
    /// A pool for `url`, or `None` when the URL needs what only the general client does: TLS,
    /// or a proxy named in the environment.
    pub(crate) fn for_url(url: &reqwest::Url, connect_timeout: Duration) -> Option<Arc<Self>> {
        let has_userinfo = !url.username().is_empty() || url.password().is_some();
        if url.scheme() != "http" || has_userinfo || proxy_configured() {
            return None;
        }
        let host = url.host_str()?;
        let port = url.port_or_known_default()?;
        let host_header = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        Some(Arc::new(Self {
            authority: format!("{host}:{port}"),
            host_header: http::HeaderValue::from_str(&host_header).ok()?,
            connect_timeout,
            idle: Mutex::new(Vec::new()),
        }))
    }

    /// Sends `request` (its URI absolute; it is sent in origin form) on an idle connection
    /// or a new one, and returns the response once its head has arrived. Reading the body
    /// drives the connection; the connection returns to the pool when the body ends.
    pub(crate) async fn send(
        self: &Arc<Self>,
        request: http::Request<Full<Bytes>>,
    ) -> Result<http::Response<DrivenBody>, DirectError> {
        let mut request = to_origin_form(request, &self.host_header);
        loop {
            let (mut conn, reused) = match self.checkout().await {
                Some(c) => (c, true),
                None => (self.connect().await?, false),
            };
            let sent = conn.sender.try_send_request(request);
            let mut sent = std::pin::pin!(sent);
            let outcome = poll_fn(|cx| conn.drive_then(cx, |nx| sent.as_mut().poll(nx))).await;
            match outcome {
                Ok(resp) => {
                    let pool = Arc::downgrade(self);
                    return Ok(resp.map(|body| DrivenBody::new(body, conn, pool)));
                }
                // An idle connection the server had closed: the request never left, so it
                // is safe to send again on a fresh one.
                Err(mut e) if reused && e.message().is_some() => {
                    request = e.take_message().ok_or(DirectError::Request)?;
                }
                Err(_) => return Err(DirectError::Request),
            }
        }
    }

    /// An idle connection ready for a request, dropping those that have ended.
    async fn checkout(&self) -> Option<Conn> {
        loop {
            let mut conn = crate::lock(&self.idle).pop()?;
            if conn.ready().await {
                return Some(conn);
            }
        }
    }

    async fn connect(&self) -> Result<Conn, DirectError> {
        let tcp = tokio::time::timeout(self.connect_timeout, TcpStream::connect(&self.authority))
            .await
            .map_err(|_| DirectError::Connect)?
            .map_err(|_| DirectError::Connect)?;
        let _ = tcp.set_nodelay(true);
        let (sender, driver) = http1::Builder::new()
            .handshake(TokioIo::new(tcp))
            .await
            .map_err(|_| DirectError::Connect)?;
        let mut conn = Conn {
            sender,
            driver: Some(driver),
        };
        if conn.ready().await {
            Ok(conn)
        } else {
            Err(DirectError::Connect)
        }
    }

    fn check_in(&self, conn: Conn) {
        if conn.driver.is_none() || conn.sender.is_closed() {
            return;
        }
        let mut idle = crate::lock(&self.idle);
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }
}

/// A response body that runs its connection while it is read.
pub(crate) struct DrivenBody {
    body: Incoming,
    conn: Option<Conn>,
    pool: Weak<DirectPool>,
}

impl std::fmt::Debug for DrivenBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DrivenBody")
            .field("connected", &self.conn.is_some())
            .finish_non_exhaustive()
    }
}

impl DrivenBody {
    fn new(body: Incoming, conn: Conn, pool: Weak<DirectPool>) -> Self {
        Self {
            body,
            conn: Some(conn),
            pool,
        }
    }

    /// The body has ended: its connection may serve another request.
    fn release(&mut self) {
        if let (Some(conn), Some(pool)) = (self.conn.take(), self.pool.upgrade()) {
            pool.check_in(conn);
        }
    }
}

impl Body for DrivenBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let body = &mut this.body;
        let frame = match &mut this.conn {
            Some(conn) => conn.drive_then(cx, |nx| Pin::new(body).poll_frame(nx)),
            // The connection has ended: the body holds what it had read, then its end.
            None => Pin::new(body).poll_frame(cx),
        };
        if let Poll::Ready(None) = frame {
            this.release();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Rewrites an absolute URI to the origin form HTTP/1.1 sends to a server, and sets `Host`.
fn to_origin_form(
    request: http::Request<Full<Bytes>>,
    host: &http::HeaderValue,
) -> http::Request<Full<Bytes>> {
    let (mut parts, body) = request.into_parts();
    parts.headers.insert(http::header::HOST, host.clone());
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    if let Ok(uri) = path.parse() {
        parts.uri = uri;
    }
    http::Request::from_parts(parts, body)
}

/// True when the environment names a proxy for plain HTTP, which only reqwest honours.
fn proxy_configured() -> bool {
    ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn pool_for(port: u16) -> Arc<DirectPool> {
        let url = reqwest::Url::parse(&format!("http://127.0.0.1:{port}/mcp")).unwrap();
        DirectPool::for_url(&url, Duration::from_secs(2)).unwrap()
    }

    fn post(port: u16) -> http::Request<Full<Bytes>> {
        let mut req = http::Request::new(Full::new(Bytes::from_static(b"{}")));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = format!("http://127.0.0.1:{port}/mcp?x=1").parse().unwrap();
        req
    }

    /// A keep-alive server that echoes each request's target and `Host`, counting connections.
    async fn echo_server() -> (u16, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let service =
                    hyper::service::service_fn(|req: http::Request<Incoming>| async move {
                        let host = req.headers()[http::header::HOST]
                            .to_str()
                            .unwrap()
                            .to_owned();
                        let echo = format!("{} {host}", req.uri());
                        Ok::<_, hyper::Error>(http::Response::new(Full::new(Bytes::from(echo))))
                    });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service),
                );
            }
        });
        (port, accepted)
    }

    async fn body_text(resp: http::Response<DrivenBody>) -> String {
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn sequential_requests_share_one_connection_in_origin_form() {
        let (port, accepted) = echo_server().await;
        let pool = pool_for(port);
        for _ in 0..3 {
            let resp = pool.send(post(port)).await.unwrap();
            assert_eq!(body_text(resp).await, format!("/mcp?x=1 127.0.0.1:{port}"));
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn concurrent_requests_each_get_a_connection_and_all_return_to_the_pool() {
        let (port, accepted) = echo_server().await;
        let pool = pool_for(port);
        let (a, b) = tokio::join!(pool.send(post(port)), pool.send(post(port)));
        let (a, b) = (a.unwrap(), b.unwrap());
        body_text(a).await;
        body_text(b).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
        assert_eq!(crate::lock(&pool.idle).len(), 2);
    }

    /// Answers one request per connection, then closes it although it promised keep-alive.
    async fn one_shot_server() -> (u16, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let mut buf = vec![0u8; 4096];
                let _ = tcp.read(&mut buf).await;
                let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                let _ = tcp.write_all(answer).await;
                drop(tcp);
            }
        });
        (port, accepted)
    }

    #[tokio::test]
    async fn an_idle_connection_the_server_closed_is_replaced() {
        let (port, accepted) = one_shot_server().await;
        let pool = pool_for(port);
        let first = pool.send(post(port)).await.unwrap();
        assert_eq!(body_text(first).await, "ok");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let second = pool.send(post(port)).await.expect("a fresh connection");
        assert_eq!(body_text(second).await, "ok");
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_body_dropped_before_its_end_closes_its_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let _ = tcp.read(&mut buf).await;
            let head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n";
            tcp.write_all(head).await.unwrap();
            // The client hangs up without reading the rest: the read sees the end.
            tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
                .await
                .expect("the client closes the connection")
                .unwrap()
        });
        let pool = pool_for(port);
        let resp = pool.send(post(port)).await.unwrap();
        drop(resp);
        assert_eq!(server.await.unwrap(), 0);
        assert!(crate::lock(&pool.idle).is_empty());
    }

    #[tokio::test]
    async fn nothing_listening_is_a_connect_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let err = pool_for(port).send(post(port)).await.unwrap_err();
        assert!(matches!(err, DirectError::Connect));
    }

    #[test]
    fn tls_userinfo_and_proxies_are_left_to_the_general_client() {
        let pool = |u: &str| DirectPool::for_url(&reqwest::Url::parse(u).unwrap(), Duration::ZERO);
        assert!(pool("https://example.com/mcp").is_none());
        assert!(pool("http://user:secret@example.com/mcp").is_none());
        assert!(pool("http://[::1]:9000/mcp").is_some());
        assert_eq!(
            pool("http://example.com/mcp").unwrap().host_header,
            "example.com"
        );
    }
}
