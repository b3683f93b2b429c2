//! What the notifier logs when deliveries fail: the sink and event are named, no secret is.
//!
//! Its own test binary: the only test in its process, so no other test's thread registers
//! tracing callsites while this one's subscriber is installed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Receiver, Reply, SECRET, client, notification};
use sallyport_notify::{Notifier, Severity};

const SLACK_PATH: &str = "/services/T0001/B0001/s3cr3tT0k3n";
const ROUTING_KEY: &str = "R0UT1NGKEY0123456789abcdefABCDEF";

/// Log output collected in memory.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn logs_never_show_secrets() {
    let logs = CapturedLogs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let slack = Receiver::start().await;
    slack.script([Reply::Status(404)]);
    let pagerduty = Receiver::start().await;
    pagerduty.script([Reply::Status(400)]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!(
        "http://{}/hook?token=s3cr3tT0k3n",
        closed.local_addr().unwrap()
    );
    drop(closed);
    let yaml = format!(
        "sinks:
  - name: chat
    kind: slack
    url_env: SLACK_URL
  - name: oncall
    kind: pagerduty
    url: {}
    routing_key_env: PD_KEY
  - name: soc
    kind: webhook
    url: {closed_url}
    secret_env: S
    max_attempts: 2
    initial_backoff_ms: 10
",
        pagerduty.url("/v2/enqueue")
    );
    let slack_url = slack.url(SLACK_PATH);
    let env = [
        ("S", SECRET),
        ("SLACK_URL", slack_url.as_str()),
        ("PD_KEY", ROUTING_KEY),
    ];
    let notifier = Notifier::start(common::build(&yaml, &env), client());
    assert_eq!(
        notifier.notify(&notification("n-log", Severity::Critical)),
        3
    );
    assert!(notifier.shutdown(Duration::from_secs(10)).await);
    let stats = notifier.stats();
    assert!(stats.iter().all(|s| s.failed == 1), "{stats:?}");

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        text.matches("Notification not delivered.").count(),
        3,
        "{text}"
    );
    assert!(text.contains("reason=HTTP 404"), "{text}");
    assert!(
        text.contains("sink=chat") && text.contains("event_id=n-log"),
        "{text}"
    );
    for secret in [SECRET, "s3cr3tT0k3n", ROUTING_KEY, "/services/"] {
        assert!(!text.contains(secret), "{secret} in logs:\n{text}");
    }
}
