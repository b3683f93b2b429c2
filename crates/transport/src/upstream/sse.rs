//! The 2024-11-05 HTTP+SSE transport: a GET event stream plus POSTs to its `endpoint`.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use sallyport_mcp::sse::SseDecoder;
use sallyport_mcp::{Limits, Message, error_code, parse_message};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
use tracing::debug;

use super::{HttpSpec, Incoming, LinkError};

/// How long to wait for the `endpoint` event after opening the stream.
const ENDPOINT_TIMEOUT: Duration = Duration::from_secs(15);

/// A connected HTTP+SSE upstream.
#[derive(Debug)]
pub(crate) struct SseWire {
    server: Arc<str>,
    endpoint: reqwest::Url,
    client: reqwest::Client,
    headers: HeaderMap,
    incoming: mpsc::Sender<Incoming>,
    stream: AbortHandle,
}

impl SseWire {
    /// Opens the event stream and waits for the `endpoint` event.
    pub(crate) async fn connect(
        server: Arc<str>,
        spec: &HttpSpec,
        client: reqwest::Client,
        limits: Limits,
        incoming: mpsc::Sender<Incoming>,
    ) -> Result<Self, LinkError> {
        let err = |reason: String| LinkError::Http {
            server: server.to_string(),
            reason,
        };
        let base = reqwest::Url::parse(&spec.url).map_err(|e| err(format!("bad URL: {e}")))?;
        let mut headers = HeaderMap::new();
        for (k, v) in &spec.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| err(format!("invalid header name {k:?}")))?;
            let mut value = HeaderValue::from_str(v)
                .map_err(|_| err(format!("invalid header value for {k:?}")))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let resp = client
            .get(base.clone())
            .headers(headers.clone())
            .header(ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(|_| err("could not open the event stream".into()))?;
        if !resp.status().is_success() {
            return Err(err(format!(
                "event stream answered HTTP {}",
                resp.status().as_u16()
            )));
        }
        let (ep_tx, ep_rx) = oneshot::channel();
        let task = tokio::spawn(read_stream(
            resp,
            server.clone(),
            limits,
            incoming.clone(),
            ep_tx,
        ));
        let stream = task.abort_handle();
        let endpoint = match tokio::time::timeout(ENDPOINT_TIMEOUT, ep_rx).await {
            Ok(Ok(ep)) => base
                .join(&ep)
                .map_err(|_| err("invalid endpoint event".into()))?,
            _ => {
                stream.abort();
                return Err(err("no endpoint event on the stream".into()));
            }
        };
        if endpoint.origin() != base.origin() {
            stream.abort();
            return Err(err(
                "endpoint event points to another origin; refused".into()
            ));
        }
        Ok(Self {
            server,
            endpoint,
            client,
            headers,
            incoming,
            stream,
        })
    }

    /// POSTs one message to the endpoint; the answer arrives on the event stream.
    pub(crate) async fn send(&self, msg: &Message) -> Result<(), LinkError> {
        let resp = self
            .client
            .post(self.endpoint.clone())
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(msg.to_bytes())
            .send()
            .await
            .map_err(|_| LinkError::Http {
                server: self.server.to_string(),
                reason: "POST failed".into(),
            })?;
        if !resp.status().is_success()
            && let Some(id) = msg.id().filter(|_| msg.is_call())
        {
            let reason = format!("upstream answered HTTP {}", resp.status().as_u16());
            let error = Message::error(Some(id), error_code::INTERNAL_ERROR, &reason, None);
            let _ = self
                .incoming
                .send(Incoming::Message {
                    msg: error,
                    related: None,
                })
                .await;
        }
        Ok(())
    }

    /// Closes the event stream.
    pub(crate) fn close(&self) {
        self.stream.abort();
    }
}

async fn read_stream(
    resp: reqwest::Response,
    server: Arc<str>,
    limits: Limits,
    incoming: mpsc::Sender<Incoming>,
    endpoint: oneshot::Sender<String>,
) {
    let mut endpoint = Some(endpoint);
    let mut decoder = SseDecoder::new(limits.max_bytes);
    let mut body = resp.bytes_stream();
    while let Some(Ok(chunk)) = body.next().await {
        let Ok(events) = decoder.feed(&chunk) else {
            break;
        };
        for ev in events {
            match ev.event.as_deref() {
                Some("endpoint") => {
                    if let Some(tx) = endpoint.take() {
                        let _ = tx.send(ev.data);
                    }
                }
                None | Some("message") => match parse_message(ev.data.as_bytes(), &limits) {
                    Ok(msg) => {
                        let _ = incoming
                            .send(Incoming::Message { msg, related: None })
                            .await;
                    }
                    Err(e) => {
                        debug!(server = %server, error = %e, "Invalid message on SSE stream; skipped.")
                    }
                },
                Some(_) => {}
            }
        }
    }
    let _ = incoming
        .send(Incoming::Closed {
            reason: "event stream ended".into(),
        })
        .await;
}
