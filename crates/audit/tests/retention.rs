//! Retention by class: expired events are deleted, the deletion is chained, and verify still
//! passes — but an unrecorded deletion next to a purged gap is still caught.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, runtime};
use sallyport_audit::{AuditEvent, AuditLog, BreakKind, VerifyOptions, verify};

const DAY: u64 = 86_400_000;

#[test]
fn purge_by_class_keeps_the_chain_verifiable() {
    for backend in Backend::both() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = backend.config(dir.path());
        config.retention.classes.insert("debug".into(), 7);
        config.retention.classes.insert("security".into(), 365);
        let now = sallyport_audit::event::now_unix_ms();
        let rt = runtime();
        let key = rt.block_on(async {
            let log = AuditLog::open(config).await.unwrap();
            // seq 1..=30: classes interleaved, debug events 30 days old, security 30 days old,
            // standard (no retention) 400 days old.
            for i in 0..30u64 {
                let mut e = AuditEvent::new("mcp_request", "alice", "tools/call", "allow");
                let (class, age) = match i % 3 {
                    0 => ("debug", 30 * DAY),
                    1 => ("security", 30 * DAY),
                    _ => ("standard", 400 * DAY),
                };
                e.retention_class = class.into();
                e.time_unix_ms = now - age;
                log.append(e).await.unwrap();
            }
            // Also delete a leading prefix: 1 (debug) is old; make 2 debug too by purging twice.
            let first = log.purge_at(now).await.unwrap();
            assert_eq!(
                (first.deleted, first.runs, first.purge_seq),
                (10, 10, Some(31))
            );
            let again = log.purge_at(now).await.unwrap();
            assert_eq!(again.deleted, 0);
            // A year later the security events go too; their runs abut the debug gaps.
            let later = log.purge_at(now + 400 * DAY).await.unwrap();
            assert_eq!(later.deleted, 10);
            let report = log.verify().await.unwrap();
            assert!(report.ok, "{}: {report:?}", backend.name());
            assert_eq!(report.events_purged, 20);
            assert_eq!(report.events_checked, 12); // 10 standard + 2 purge records
            assert_eq!(report.unsigned_tail, None);
            let key = *log.verifying_key();
            log.close().await.unwrap();
            key
        });
        // A deletion the purge did not record, right next to a purged gap, is still caught.
        backend.exec("DELETE FROM {events} WHERE seq = 3");
        let mut store = backend.open();
        let report = verify(store.as_mut(), &key, &VerifyOptions::default()).unwrap();
        let b = report.first_break.unwrap();
        assert_eq!(
            (b.seq, b.kind),
            (3, BreakKind::Deleted),
            "{}: {b:?}",
            backend.name()
        );
    }
}
