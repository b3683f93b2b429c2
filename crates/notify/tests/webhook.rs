//! The generic webhook against a real receiver: signatures (and attacks on them), retries,
//! severity filtering, the bounded queue and shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{
    Receiver, Reply, SECRET, build, client, notification, wait_for_requests, wait_for_stats,
    webhook_notifier,
};
use sallyport_notify::{
    DEFAULT_TOLERANCE, EVENT_ID_HEADER, Notifier, SIGNATURE_HEADER, Severity, TIMESTAMP_HEADER,
    VerifyError, sign, verify_signature,
};
use tokio::sync::Semaphore;

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// Delivers one notification to a verifying receiver and returns what it saw.
async fn delivered_request() -> (Receiver, common::Received) {
    let receiver = Receiver::verifying(SECRET).await;
    let notifier = webhook_notifier(&receiver.url("/hook"), "");
    notifier.notify(&notification("n-1", Severity::High));
    wait_for_stats(&notifier, |s| s.sent == 1).await;
    let request = receiver.received().remove(0);
    (receiver, request)
}

async fn post(receiver: &Receiver, timestamp: &str, signature: Option<&str>, body: &[u8]) -> u16 {
    let mut request = client()
        .post(receiver.url("/hook"))
        .header("content-type", "application/json")
        .header(TIMESTAMP_HEADER, timestamp)
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header(SIGNATURE_HEADER, signature);
    }
    request
        .send()
        .await
        .expect("receiver answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_receiver_verifies_the_hmac_of_a_delivered_notification() {
    let (_receiver, request) = delivered_request().await;
    assert_eq!(request.verified, Some(Ok(())));
    assert_eq!(request.path, "/hook");
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.header(EVENT_ID_HEADER), "n-1");
    assert!(request.header("user-agent").starts_with("sallyport/"));
    let timestamp: u64 = request.header(TIMESTAMP_HEADER).parse().expect("seconds");
    assert!(unix_now().abs_diff(timestamp) <= 5);
    let signature = request.header(SIGNATURE_HEADER);
    assert_eq!(signature, sign(SECRET.as_bytes(), timestamp, &request.body));

    let body = request.json();
    assert_eq!(body["schema"], "sallyport.notification.v1");
    assert_eq!(body["id"], "n-1");
    assert_eq!(body["time"], "2023-11-14T22:13:20.000Z");
    assert_eq!(body["time_ms"], 1_700_000_000_000_u64);
    assert_eq!(body["rule_id"], "credential_stuffing");
    assert_eq!(body["severity"], "high");
    assert_eq!(body["title"], "Credential stuffing against alice");
    assert_eq!(body["summary"], "12 failed logins in 60 s from one address");
    assert_eq!(
        body["key"],
        serde_json::json!({"principal": "alice", "client_ip": "203.0.113.7"})
    );
    assert_eq!(body["mitre"], serde_json::json!(["T1110.004", "T1078"]));
    assert_eq!(body["actions_taken"][1], "revoked api key k-42");
    assert_eq!(body["incident_id"], "inc-7");
}

#[tokio::test]
async fn attack_a_forged_or_tampered_request_fails_verification() {
    let (receiver, genuine) = delivered_request().await;
    let timestamp = genuine.header(TIMESTAMP_HEADER).to_owned();
    let signature = genuine.header(SIGNATURE_HEADER).to_owned();

    // The attacker does not hold the secret: signs with a guess, or does not sign at all.
    let forged_body = br#"{"id":"n-evil","severity":"info","actions_taken":[]}"#;
    let guessed = sign(b"guessed-secret-guessed-secret!!!", unix_now(), forged_body);
    assert_eq!(
        post(&receiver, &timestamp, Some(&guessed), forged_body).await,
        401
    );
    assert_eq!(post(&receiver, &timestamp, None, forged_body).await, 401);
    // Nor can it keep a genuine signature and change the body or the timestamp.
    let mut tampered = genuine.body.to_vec();
    let at = tampered
        .iter()
        .position(|&b| b == b'h')
        .expect("an h in the body");
    tampered[at] = b'H';
    assert_eq!(
        post(&receiver, &timestamp, Some(&signature), &tampered).await,
        401
    );
    let later = (unix_now() + 1).to_string();
    assert_eq!(
        post(&receiver, &later, Some(&signature), &genuine.body).await,
        401
    );

    let outcomes: Vec<_> = receiver.received()[1..]
        .iter()
        .map(|r| r.verified.clone())
        .collect();
    assert_eq!(
        outcomes,
        [
            Some(Err(VerifyError::SignatureMismatch)),
            Some(Err(VerifyError::MalformedSignature)),
            Some(Err(VerifyError::SignatureMismatch)),
            Some(Err(VerifyError::SignatureMismatch)),
        ]
    );
    // The wrong secret on the receiver's side fails the genuine request too.
    let check = verify_signature(
        b"another-secret-another-secret!!!",
        &timestamp,
        &genuine.body,
        &signature,
        SystemTime::now(),
        DEFAULT_TOLERANCE,
    );
    assert_eq!(check, Err(VerifyError::SignatureMismatch));
}

#[tokio::test]
async fn attack_a_replayed_request_outside_the_tolerance_fails_verification() {
    let (receiver, genuine) = delivered_request().await;
    let timestamp = genuine.header(TIMESTAMP_HEADER);
    let signature = genuine.header(SIGNATURE_HEADER);
    let later = SystemTime::now() + DEFAULT_TOLERANCE + Duration::from_secs(60);
    let check = verify_signature(
        SECRET.as_bytes(),
        timestamp,
        &genuine.body,
        signature,
        later,
        DEFAULT_TOLERANCE,
    );
    assert!(
        matches!(check, Err(VerifyError::OutsideTolerance { age_secs, tolerance_secs: 300 }) if age_secs >= 360),
        "{check:?}"
    );
    // A request captured an hour ago, replayed now: authentic, but refused.
    let old = unix_now() - 3_600;
    let old_signature = sign(SECRET.as_bytes(), old, &genuine.body);
    let status = post(
        &receiver,
        &old.to_string(),
        Some(&old_signature),
        &genuine.body,
    )
    .await;
    assert_eq!(status, 401);
    assert!(matches!(
        receiver.received()[1].verified,
        Some(Err(VerifyError::OutsideTolerance { .. }))
    ));
}

#[tokio::test]
async fn server_errors_are_retried_until_delivered() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::Status(503), Reply::Status(503), Reply::Status(200)]);
    let notifier = webhook_notifier(&receiver.url("/hook"), "");
    notifier.notify(&notification("n-retry", Severity::High));
    let stats = wait_for_stats(&notifier, |s| s.sent + s.failed == 1).await;
    assert_eq!((stats.sent, stats.retried, stats.failed), (1, 2, 0));
    let requests = receiver.received();
    assert_eq!(requests.len(), 3);
    // The same event id every time: the receiver can drop duplicates.
    assert!(
        requests
            .iter()
            .all(|r| r.header(EVENT_ID_HEADER) == "n-retry")
    );
    assert!(requests.iter().all(|r| r.body == requests[0].body));
}

#[tokio::test]
async fn a_client_error_is_not_retried_and_counts_as_failed() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::Status(400)]);
    let notifier = webhook_notifier(&receiver.url("/hook"), "");
    notifier.notify(&notification("n-400", Severity::High));
    let stats = wait_for_stats(&notifier, |s| s.failed == 1).await;
    assert_eq!((stats.sent, stats.retried), (0, 0));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(receiver.count(), 1);
}

#[tokio::test]
async fn retry_after_on_429_is_honoured() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::TooManyRequests {
        retry_after_secs: 1,
    }]);
    let notifier = webhook_notifier(&receiver.url("/hook"), "    max_backoff_ms: 5000\n");
    notifier.notify(&notification("n-429", Severity::High));
    let stats = wait_for_stats(&notifier, |s| s.sent == 1).await;
    assert_eq!(stats.retried, 1);
    let requests = receiver.received();
    let gap = requests[1].at - requests[0].at;
    assert!(gap >= Duration::from_millis(950), "{gap:?}");
}

#[tokio::test]
async fn retry_after_is_capped_by_max_backoff() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::TooManyRequests {
        retry_after_secs: 3_600,
    }]);
    let notifier = webhook_notifier(&receiver.url("/hook"), "    max_backoff_ms: 100\n");
    let started = Instant::now();
    notifier.notify(&notification("n-429-cap", Severity::High));
    wait_for_stats(&notifier, |s| s.sent == 1).await;
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn attempts_are_bounded_by_max_attempts() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::Status(500); 10]);
    let notifier = webhook_notifier(&receiver.url("/hook"), "    max_attempts: 3\n");
    notifier.notify(&notification("n-500", Severity::High));
    let stats = wait_for_stats(&notifier, |s| s.failed == 1).await;
    assert_eq!((stats.sent, stats.retried), (0, 2));
    assert_eq!(receiver.count(), 3);
}

#[tokio::test]
async fn an_unreachable_receiver_is_retried_then_given_up() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    drop(listener);
    let notifier = webhook_notifier(&url, "    max_attempts: 2\n");
    notifier.notify(&notification("n-down", Severity::High));
    let stats = wait_for_stats(&notifier, |s| s.failed == 1).await;
    assert_eq!((stats.sent, stats.retried, stats.queued), (0, 1, 0));
}

#[tokio::test]
async fn a_slow_receiver_times_out_and_is_retried() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::Slow(Duration::from_millis(1_000), 200)]);
    let notifier = webhook_notifier(&receiver.url("/hook"), "    timeout_ms: 100\n");
    notifier.notify(&notification("n-slow", Severity::High));
    let stats = wait_for_stats(&notifier, |s| s.sent == 1).await;
    assert_eq!(stats.retried, 1);
}

#[tokio::test]
async fn notifications_below_min_severity_are_not_sent() {
    let receiver = Receiver::start().await;
    let yaml = format!(
        "sinks:
  - name: pager
    kind: webhook
    url: {}
    secret_env: S
  - name: all
    kind: webhook
    url: {}
    secret_env: S
    min_severity: info
",
        receiver.url("/high"),
        receiver.url("/all")
    );
    let notifier = Notifier::start(build(&yaml, &[("S", SECRET)]), client());
    assert_eq!(notifier.notify(&notification("n-w", Severity::Warning)), 1);
    assert_eq!(notifier.notify(&notification("n-h", Severity::High)), 2);
    assert_eq!(notifier.notify(&notification("n-c", Severity::Critical)), 2);
    wait_for_requests(&receiver, 5).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut seen: Vec<(String, String)> = receiver
        .received()
        .iter()
        .map(|r| (r.path.clone(), r.header(EVENT_ID_HEADER).to_owned()))
        .collect();
    seen.sort();
    let expected = [
        ("/all", "n-c"),
        ("/all", "n-h"),
        ("/all", "n-w"),
        ("/high", "n-c"),
        ("/high", "n-h"),
    ]
    .map(|(p, id)| (p.to_owned(), id.to_owned()));
    assert_eq!(seen, expected);
    let stats = notifier.stats();
    assert_eq!((stats[0].name.as_str(), stats[0].sent), ("pager", 2));
    assert_eq!((stats[1].name.as_str(), stats[1].sent), ("all", 3));
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_without_blocking() {
    let gate = Arc::new(Semaphore::new(0));
    let receiver = Receiver::gated(Arc::clone(&gate)).await;
    let notifier = webhook_notifier(&receiver.url("/hook"), "    queue_capacity: 2\n");
    // The first is taken off the queue and held by the receiver; two more fill the queue.
    assert_eq!(notifier.notify(&notification("n-0", Severity::High)), 1);
    wait_for_requests(&receiver, 1).await;
    let started = Instant::now();
    let queued: usize = (1..=100)
        .map(|i| notifier.notify(&notification(&format!("n-{i}"), Severity::High)))
        .sum();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "notify blocked"
    );
    assert_eq!(queued, 2);
    let stats = notifier.stats().remove(0);
    assert_eq!((stats.dropped, stats.queued), (98, 3));

    gate.add_permits(10);
    let stats = wait_for_stats(&notifier, |s| s.sent == 3).await;
    assert_eq!((stats.dropped, stats.queued, stats.failed), (98, 0, 0));
    let ids: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.header(EVENT_ID_HEADER).to_owned())
        .collect();
    assert_eq!(ids, ["n-0", "n-1", "n-2"]);
}

#[tokio::test]
async fn shutdown_drains_the_queues() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::Slow(Duration::from_millis(30), 200); 5]);
    let notifier = webhook_notifier(&receiver.url("/hook"), "");
    for i in 0..5 {
        notifier.notify(&notification(&format!("n-{i}"), Severity::High));
    }
    assert!(notifier.shutdown(Duration::from_secs(5)).await);
    let stats = notifier.stats().remove(0);
    assert_eq!((stats.sent, stats.dropped, stats.queued), (5, 0, 0));
    // Closed: later notifications are dropped and counted, never queued.
    assert_eq!(notifier.notify(&notification("n-late", Severity::High)), 0);
    assert_eq!(notifier.stats()[0].dropped, 1);
}

#[tokio::test]
async fn shutdown_gives_up_at_its_deadline_and_counts_the_rest_as_dropped() {
    let gate = Arc::new(Semaphore::new(0));
    let receiver = Receiver::gated(gate).await;
    let notifier = webhook_notifier(&receiver.url("/hook"), "    timeout_ms: 60000\n");
    for i in 0..3 {
        notifier.notify(&notification(&format!("n-{i}"), Severity::High));
    }
    wait_for_requests(&receiver, 1).await;
    let started = Instant::now();
    assert!(!notifier.shutdown(Duration::from_millis(200)).await);
    assert!(started.elapsed() < Duration::from_secs(2));
    let stats = notifier.stats().remove(0);
    assert_eq!((stats.sent, stats.dropped, stats.queued), (0, 3, 0));
}
