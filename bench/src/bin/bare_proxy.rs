//! A bare HTTP/1.1 forwarder that stands in for the gateway in the load harness, to measure
//! what any proxy costs on this machine: `load --gateway-bin .../bare_proxy`.
//!
//! It accepts the arguments the harness gives `sallyport serve` (`-c FILE`, the rest ignored),
//! reads the listen address and the first upstream URL from that generated config, answers
//! `/healthz`, and forwards every other request to the upstream with its headers, streaming
//! the answer back. The one change it makes is the one a federating proxy cannot skip: the
//! harness names tools `up0__echo`, so the `up0__` prefix is cut from the body and the
//! `Mcp-Name` header. No JSON parsing, no guards, no logs: the floor a gateway's per-call
//! cost cannot go below with hyper on tokio.

use std::convert::Infallible;
use std::net::SocketAddr;

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{Request, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Body = BoxBody<Bytes, hyper::Error>;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let config = args
        .iter()
        .position(|a| a == "-c")
        .and_then(|i| args.get(i + 1))
        .context("usage: bare_proxy serve -c CONFIG (the load harness's generated config)")?;
    let text = std::fs::read_to_string(config).with_context(|| format!("reading {config}"))?;
    let (listen, upstream) = listen_and_upstream(&text)?;
    tokio::runtime::Runtime::new()?.block_on(serve(listen, upstream))
}

/// The `http:` listen address and the first `url:` in the harness's generated config.
fn listen_and_upstream(text: &str) -> anyhow::Result<(SocketAddr, Uri)> {
    let quoted = |key: &str| {
        text.lines()
            .find_map(|l| l.split_once(key).map(|(_, rest)| rest))
            .and_then(|rest| rest.split('"').next())
            .map(str::to_owned)
    };
    let (Some(listen), Some(url)) = (quoted("http: \""), quoted("url: \"")) else {
        bail!("the config names no `http:` listen address or no upstream `url:`");
    };
    Ok((listen.parse()?, url.parse()?))
}

async fn serve(listen: SocketAddr, upstream: Uri) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let (client, upstream) = (client.clone(), upstream.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req| forward(client.clone(), upstream.clone(), req));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn forward(
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: Uri,
    mut req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    if req.uri().path() == "/healthz" {
        return Ok(text(StatusCode::OK, "ok"));
    }
    *req.uri_mut() = upstream;
    let headers = req.headers_mut();
    headers.remove(header::HOST);
    headers.remove(header::CONTENT_LENGTH);
    if let Some(name) = headers.get(MCP_NAME).and_then(|v| v.to_str().ok())
        && let Some(bare) = name.strip_prefix(PREFIX)
        && let Ok(bare) = http::HeaderValue::from_str(bare)
    {
        headers.insert(MCP_NAME, bare);
    }
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => strip_prefix(&b.to_bytes()),
        Err(e) => return Ok(text(StatusCode::BAD_REQUEST, &e.to_string())),
    };
    let req = Request::from_parts(parts, Full::new(body));
    Ok(match client.request(req).await {
        Ok(resp) => resp.map(|b| b.boxed()),
        Err(e) => text(StatusCode::BAD_GATEWAY, &e.to_string()),
    })
}

const MCP_NAME: &str = "mcp-name";
const PREFIX: &str = "up0__";

/// The body with every `"up0__` cut to `"`.
fn strip_prefix(body: &[u8]) -> Bytes {
    let needle = b"\"up0__";
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&rest[..=at]);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    Bytes::from(out)
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let body = Full::new(Bytes::from(body.to_owned()))
        .map_err(|never| match never {})
        .boxed();
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp
}
