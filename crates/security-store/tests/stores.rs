//! The security state kept in a real SQLite file and shared through the real Redis on
//! 127.0.0.1:6379 (each test under its own key prefix).

#![allow(clippy::expect_used, reason = "test code")]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sallyport_respond::{QuarantineTarget, SecurityState};
use sallyport_security_store::{SecurityStateConfig, StateRedisConfig, StateRedisUrl};

const ADDR: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9));

fn redis_config(prefix: &str) -> SecurityStateConfig {
    SecurityStateConfig {
        path: None,
        redis: Some(StateRedisConfig {
            url: StateRedisUrl("redis://127.0.0.1:6379".into()),
            key_prefix: prefix.into(),
            resync_secs: 30,
        }),
    }
}

fn unique_prefix(test: &str) -> String {
    format!("sallyport-test:{test}:{}", std::process::id())
}

/// Waits up to five seconds for `check` to hold.
async fn eventually(what: &str, check: impl Fn() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{what}: not within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_block_survives_a_restart_in_sqlite_and_an_unblock_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = SecurityStateConfig {
        path: Some(dir.path().join("state.db")),
        redis: None,
    };
    let first = Arc::new(SecurityState::default());
    sallyport_security_store::start(&config, &first)
        .await
        .expect("open");
    let now = Instant::now();
    first.block_ip(ADDR, None, "brute_force", now);
    first.block_principal("eve", None, Some(Duration::from_secs(3600)), "scan", now);
    first.block_principal("ended", None, Some(Duration::from_millis(1)), "short", now);
    let tool = QuarantineTarget {
        server: Some("files".into()),
        tool: Some("write".into()),
    };
    first.quarantine(tool.clone(), None, "poisoned", now);
    first.require_approval("carol", Some("acme"), None, "exfiltration_chain", now);
    first.unblock_principal("eve", None);
    // The writer thread stores changes in order; give it the moment it needs.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A new process: an empty state loaded from the file.
    let second = Arc::new(SecurityState::default());
    sallyport_security_store::start(&config, &second)
        .await
        .expect("reopen");
    assert!(
        second.is_blocked_ip(ADDR),
        "a permanent block outlives the restart"
    );
    assert!(
        !second.is_blocked_principal("eve", None),
        "so does its lifting"
    );
    assert!(
        !second.is_blocked_principal("ended", None),
        "an ended block is gone"
    );
    assert!(
        second
            .quarantined("files", "write", Instant::now())
            .is_some()
    );
    assert!(
        second
            .approval_required("carol", Some("acme"), Instant::now())
            .is_some()
    );
    assert_eq!(second.list().len(), 1);
}

#[tokio::test]
async fn sqlite_refuses_a_file_it_cannot_create() {
    let config = SecurityStateConfig {
        path: Some("/nonexistent-dir/for/sure/state.db".into()),
        redis: None,
    };
    let state = Arc::new(SecurityState::default());
    let error = sallyport_security_store::start(&config, &state)
        .await
        .expect_err("no such directory");
    assert!(
        error
            .to_string()
            .contains("/nonexistent-dir/for/sure/state.db"),
        "{error}"
    );
}

#[tokio::test]
async fn replicas_share_blocks_quarantines_and_holds_through_redis() {
    let prefix = unique_prefix("share");
    let config = redis_config(&prefix);
    let a = Arc::new(SecurityState::default());
    let b = Arc::new(SecurityState::default());
    let status = sallyport_security_store::start(&config, &a)
        .await
        .expect("a");
    sallyport_security_store::start(&config, &b)
        .await
        .expect("b");
    eventually("a connected", || status.is_up()).await;
    assert_eq!(status.backend(), "redis");

    // Without the store, replica b never learns of a's block: the gap this closes.
    let alone = SecurityState::default();
    let now = Instant::now();
    a.block_ip(ADDR, Some(Duration::from_secs(600)), "brute_force", now);
    assert!(!alone.is_blocked_ip(ADDR));
    eventually("b sees a's block", || b.is_blocked_ip(ADDR)).await;

    let server = QuarantineTarget {
        server: Some("payments".into()),
        tool: None,
    };
    b.quarantine(server.clone(), None, "operator", now);
    b.require_approval("mallory", None, None, "exfiltration_chain", now);
    eventually("a sees b's quarantine", || {
        a.quarantined("payments", "refund", Instant::now())
            .is_some()
    })
    .await;
    eventually("a sees b's hold", || {
        a.approval_required("mallory", None, Instant::now())
            .is_some()
    })
    .await;

    // Lifting on one replica lifts everywhere.
    b.unblock_ip(ADDR);
    a.release_quarantine(&server);
    eventually("a sees b's unblock", || !a.is_blocked_ip(ADDR)).await;
    eventually("b sees a's release", || {
        b.quarantined("payments", "refund", Instant::now())
            .is_none()
    })
    .await;

    // A replica that starts later loads what is in force.
    let c = Arc::new(SecurityState::default());
    sallyport_security_store::start(&config, &c)
        .await
        .expect("c");
    assert!(
        c.approval_required("mallory", None, Instant::now())
            .is_some()
    );
    assert!(!c.is_blocked_ip(ADDR));
    cleanup(&prefix).await;
}

#[tokio::test]
async fn an_unreachable_redis_does_not_stop_the_replica() {
    let config = SecurityStateConfig {
        path: None,
        redis: Some(StateRedisConfig {
            // Nothing listens on port 1.
            url: StateRedisUrl("redis://127.0.0.1:1".into()),
            key_prefix: "unused".into(),
            resync_secs: 30,
        }),
    };
    let state = Arc::new(SecurityState::default());
    let status = sallyport_security_store::start(&config, &state)
        .await
        .expect("starts without Redis");
    assert!(!status.is_up());
    // Its own blocks still hold.
    state.block_ip(ADDR, None, "local", Instant::now());
    assert!(state.is_blocked_ip(ADDR));
}

async fn cleanup(prefix: &str) {
    let client = redis::Client::open("redis://127.0.0.1:6379").expect("client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let _: () = redis::cmd("DEL")
        .arg(format!("{prefix}:entries"))
        .query_async(&mut conn)
        .await
        .expect("del");
}
