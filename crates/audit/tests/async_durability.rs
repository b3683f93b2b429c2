//! Async mode on SQLite commits with `synchronous=NORMAL`: a commit still survives kill -9 of
//! the process (only an OS crash or power loss can take the latest commits), and the chain
//! left behind verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Backend, runtime};
use sallyport_audit::{
    AuditEvent, AuditLog, DurabilityConfig, DurabilityMode, VerifyOptions, WhenFull, verify,
};

const CHILD_ENV: &str = "SALLYPORT_AUDIT_ASYNC_CRASH_CHILD";

/// Run by the child process only: append in async mode, flush every 100 events and print the
/// committed head after each flush.
#[test]
#[ignore = "child process of async_commits_survive_kill_9"]
fn async_crash_child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let mut config = Backend::sqlite().config(&dir);
    config.store = sallyport_audit::StoreConfig::Sqlite {
        path: dir.join("audit.db"),
    };
    config.durability = DurabilityConfig {
        mode: DurabilityMode::Async,
        queue_capacity: 1_000,
        when_full: WhenFull::Block,
        max_batch: 100,
    };
    config.checkpoint.every_events = 500;
    runtime().block_on(async move {
        let log = AuditLog::open(config).await.unwrap();
        loop {
            for _ in 0..100 {
                let e = AuditEvent::new("mcp_request", "alice", "tools/call", "allow");
                log.append(e).await.unwrap();
            }
            let head = log.flush().await.unwrap();
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "flushed {}", head.seq);
            let _ = out.flush();
        }
    });
}

#[test]
fn async_commits_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "async_crash_child_writer",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut flushed = 0u64;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(seq) = line
                .strip_prefix("flushed ")
                .and_then(|s| s.parse::<u64>().ok())
            {
                flushed = flushed.max(seq);
            }
        }
        flushed
    });
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let flushed = reader.join().unwrap();
    assert!(flushed >= 100, "child flushed only {flushed} events");

    let config = sallyport_audit::StoreConfig::Sqlite {
        path: dir.path().join("audit.db"),
    };
    let mut store = sallyport_audit::open_store(&config).unwrap();
    let head = store.head().unwrap();
    assert!(
        head.seq >= flushed,
        "committed head {} is behind the last flush {flushed}",
        head.seq
    );
    let pem = std::fs::read_to_string(dir.path().join("audit.pub.pem")).unwrap();
    let key = sallyport_audit::VerifyingKey::parse(&pem).unwrap();
    let report = verify(store.as_mut(), &key, &VerifyOptions::default()).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.head_seq, head.seq);
    assert_eq!(report.events_checked, head.seq);
}
