//! A real HTTP receiver (axum on 127.0.0.1:0) and helpers shared by the integration tests.

#![allow(dead_code, reason = "each test binary uses a different part")]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sallyport_notify::{
    DEFAULT_TOLERANCE, Notification, Notifier, NotifyConfig, SIGNATURE_HEADER, Severity, Sink,
    SinkStats, TIMESTAMP_HEADER, VerifyError, verify_signature,
};
use tokio::sync::Semaphore;

/// The shared webhook secret of the tests.
pub(crate) const SECRET: &str = "test-secret-0123456789abcdefghij";

/// What the receiver answers to one request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Reply {
    /// This status.
    Status(u16),
    /// 429 with `Retry-After: <secs>`.
    TooManyRequests { retry_after_secs: u64 },
    /// Wait, then answer this status.
    Slow(Duration, u16),
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) path: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) at: Instant,
    /// `Some` when the receiver checks signatures.
    pub(crate) verified: Option<Result<(), VerifyError>>,
}

impl Received {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Reply>>,
    secret: Option<Vec<u8>>,
    /// When set, every request waits for a permit before it is answered.
    gate: Option<Arc<Semaphore>>,
}

/// A receiver listening on a loopback port.
pub(crate) struct Receiver {
    pub(crate) base: String,
    shared: Arc<Shared>,
}

impl Receiver {
    /// Answers 200 to everything, checking nothing.
    pub(crate) async fn start() -> Self {
        Self::spawn(Shared::default()).await
    }

    /// Checks every request's signature with `secret` and answers 401 to a bad one.
    pub(crate) async fn verifying(secret: &str) -> Self {
        Self::spawn(Shared {
            secret: Some(secret.as_bytes().to_vec()),
            ..Shared::default()
        })
        .await
    }

    /// Holds every request until the test adds a permit to `gate`.
    pub(crate) async fn gated(gate: Arc<Semaphore>) -> Self {
        Self::spawn(Shared {
            gate: Some(gate),
            ..Shared::default()
        })
        .await
    }

    async fn spawn(shared: Shared) -> Self {
        let shared = Arc::new(shared);
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("local address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base: format!("http://{address}"),
            shared,
        }
    }

    /// The URL of `path` on this receiver.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Queues the answers to the next requests (200 after they run out).
    pub(crate) fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.script.lock().expect("lock").extend(replies);
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("lock").clone()
    }

    pub(crate) fn count(&self) -> usize {
        self.shared.received.lock().expect("lock").len()
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let verified = shared.secret.as_deref().map(|secret| {
        let header = |name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        verify_signature(
            secret,
            header(TIMESTAMP_HEADER),
            &body,
            header(SIGNATURE_HEADER),
            SystemTime::now(),
            DEFAULT_TOLERANCE,
        )
    });
    let rejected = matches!(verified, Some(Err(_)));
    shared.received.lock().expect("lock").push(Received {
        path: uri.path().to_owned(),
        headers,
        body,
        at: Instant::now(),
        verified,
    });
    if rejected {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if let Some(gate) = &shared.gate {
        gate.acquire().await.expect("gate open").forget();
    }
    let reply = shared.script.lock().expect("lock").pop_front();
    match reply.unwrap_or(Reply::Status(200)) {
        Reply::Status(code) => status(code).into_response(),
        Reply::TooManyRequests { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", retry_after_secs.to_string())],
        )
            .into_response(),
        Reply::Slow(delay, code) => {
            tokio::time::sleep(delay).await;
            status(code).into_response()
        }
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).expect("a status code")
}

/// Parses YAML with the house parser and builds it with `env` as the environment.
pub(crate) fn build(yaml: &str, env: &[(&str, &str)]) -> Vec<Sink> {
    let config: NotifyConfig = serde_saphyr::from_str(yaml).expect("valid YAML config");
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    config
        .build_with_env(|var| env.get(var).cloned())
        .expect("a valid config")
}

/// A webhook sink on `url`, fast retries, and `extra` YAML lines for the sink.
pub(crate) fn webhook_yaml(url: &str, extra: &str) -> String {
    format!(
        "sinks:
  - name: soc
    kind: webhook
    url: {url}
    secret_env: HOOK_SECRET
    min_severity: info
    initial_backoff_ms: 10
{extra}"
    )
}

/// Starts a notifier for a webhook sink on `url`.
pub(crate) fn webhook_notifier(url: &str, extra: &str) -> Notifier {
    let sinks = build(&webhook_yaml(url, extra), &[("HOOK_SECRET", SECRET)]);
    Notifier::start(sinks, client())
}

/// A client as the gateway builds it: no redirects.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub(crate) fn notification(id: &str, severity: Severity) -> Notification {
    Notification {
        id: id.to_owned(),
        time_ms: 1_700_000_000_000,
        rule_id: "credential_stuffing".to_owned(),
        title: "Credential stuffing against alice".to_owned(),
        severity,
        mitre: vec!["T1110.004".to_owned(), "T1078".to_owned()],
        key: vec![
            ("principal".to_owned(), "alice".to_owned()),
            ("client_ip".to_owned(), "203.0.113.7".to_owned()),
        ],
        summary: "12 failed logins in 60 s from one address".to_owned(),
        actions_taken: vec![
            "blocked principal alice for 3600 s".to_owned(),
            "revoked api key k-42".to_owned(),
        ],
        incident_id: Some("inc-7".to_owned()),
    }
}

/// Waits until `done` holds for the notifier's first sink, or fails after 10 s.
pub(crate) async fn wait_for_stats(
    notifier: &Notifier,
    done: impl Fn(&SinkStats) -> bool,
) -> SinkStats {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = notifier.stats().remove(0);
        if done(&stats) {
            return stats;
        }
        assert!(Instant::now() < deadline, "timed out; stats: {stats:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the receiver has seen `n` requests, or fails after 10 s.
pub(crate) async fn wait_for_requests(receiver: &Receiver, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while receiver.count() < n {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {n} requests"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
