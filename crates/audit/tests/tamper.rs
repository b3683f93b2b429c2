//! Tampering with a stored chain is detected by `verify`, with the right seq and kind, on
//! both stores.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, runtime};
use sallyport_audit::chain::EncodedEvent;
use sallyport_audit::{
    AuditEvent, AuditLog, BreakKind, ChainEntry, VerifyOptions, VerifyReport, VerifyingKey, verify,
};

/// Write `n` events (checkpoint every 5, flushed at the end); returns the public key.
fn fill(backend: &Backend, key_dir: &std::path::Path, n: u64) -> VerifyingKey {
    let rt = runtime();
    rt.block_on(async {
        let log = AuditLog::open(backend.config(key_dir)).await.unwrap();
        for i in 1..=n {
            let mut e = AuditEvent::new("mcp_request", "alice", "tools/call", "allow");
            e.resource = Some(format!("mcp://fs/tool_{i}"));
            let ack = log.append(e).await.unwrap();
            assert!(matches!(ack, sallyport_audit::Ack::Committed(r) if r.seq == i));
        }
        let key = *log.verifying_key();
        log.close().await.unwrap();
        key
    })
}

fn check(backend: &Backend, key: &VerifyingKey) -> VerifyReport {
    let mut store = backend.open();
    verify(store.as_mut(), key, &VerifyOptions::default()).unwrap()
}

fn entry(backend: &Backend, seq: u64) -> ChainEntry {
    backend.open().scan(seq, 1).unwrap().remove(0)
}

fn expect_break(backend: &Backend, key: &VerifyingKey, seq: u64, kind: BreakKind) {
    let report = check(backend, key);
    let b = report
        .first_break
        .clone()
        .unwrap_or_else(|| panic!("{}: tampering not detected: {report:?}", backend.name()));
    assert_eq!((b.seq, b.kind), (seq, kind), "{}: {b:?}", backend.name());
    assert!(!report.ok);
}

fn scenario(tamper: impl Fn(&Backend), seq: u64, kind: BreakKind) {
    for backend in Backend::both() {
        let dir = tempfile::tempdir().unwrap();
        let key = fill(&backend, dir.path(), 20);
        let clean = check(&backend, &key);
        assert!(clean.ok, "{}: {clean:?}", backend.name());
        assert_eq!(
            (clean.events_checked, clean.last_checkpoint),
            (20, Some(20))
        );
        assert_eq!(clean.unsigned_tail, None);
        tamper(&backend);
        expect_break(&backend, &key, seq, kind);
    }
}

#[test]
fn edited_row_is_detected() {
    scenario(
        |b| {
            b.exec(r#"UPDATE {events} SET body = replace(body, '"allow"', '"deny"') WHERE seq = 7"#)
        },
        7,
        BreakKind::Edited,
    );
}

#[test]
fn edited_and_rehashed_row_is_detected_at_that_row() {
    scenario(
        |b| {
            let mut e = entry(b, 7);
            e.body = e.body.replace("\"allow\"", "\"deny\"");
            let forged = e.computed_hash();
            b.exec(&format!(
                r#"UPDATE {{events}} SET body = replace(body, '"allow"', '"deny"'), hash = X'{}' WHERE seq = 7"#,
                hex::encode(forged)
            ));
        },
        7,
        BreakKind::Edited,
    );
}

#[test]
fn rewritten_suffix_is_caught_by_the_next_checkpoint() {
    scenario(
        |b| {
            // Rewrite 7 and recompute every later hash: only the signed checkpoint at 10 can tell.
            let mut prev = entry(b, 6).hash;
            for seq in 7..=20 {
                let mut e = entry(b, seq);
                if seq == 7 {
                    e.body = e.body.replace("\"allow\"", "\"deny\"");
                }
                e.prev_hash = prev;
                let h = e.computed_hash();
                b.exec(&format!(
                    "UPDATE {{events}} SET body = '{}', prev_hash = X'{}', hash = X'{}' WHERE seq = {seq}",
                    e.body.replace('\'', "''"),
                    hex::encode(prev),
                    hex::encode(h)
                ));
                prev = h;
            }
        },
        10,
        BreakKind::CheckpointMismatch,
    );
}

#[test]
fn deleted_row_is_detected() {
    scenario(
        |b| b.exec("DELETE FROM {events} WHERE seq = 7"),
        7,
        BreakKind::Deleted,
    );
}

#[test]
fn deleted_and_renumbered_rows_are_detected() {
    scenario(
        |b| {
            b.exec(
                "DELETE FROM {events} WHERE seq = 7;
                 UPDATE {events} SET seq = -seq WHERE seq > 7;
                 UPDATE {events} SET seq = -seq - 1 WHERE seq < 0;",
            )
        },
        7,
        BreakKind::Deleted,
    );
}

#[test]
fn reordered_rows_are_detected() {
    scenario(
        |b| {
            b.exec(
                "UPDATE {events} SET seq = -1 WHERE seq = 7;
                 UPDATE {events} SET seq = 7 WHERE seq = 8;
                 UPDATE {events} SET seq = 8 WHERE seq = -1;",
            )
        },
        7,
        BreakKind::Reordered,
    );
}

#[test]
fn inserted_row_is_detected() {
    scenario(
        |b| {
            // A careful forger: renumbers the tail and gives the new row a valid hash.
            let before = entry(b, 6);
            let forged = EncodedEvent::new(&AuditEvent::new(
                "mcp_request",
                "mallory",
                "tools/call",
                "allow",
            ))
            .unwrap()
            .seal(7, before.hash);
            b.exec(&format!(
                "UPDATE {{events}} SET seq = -seq WHERE seq >= 7;
                 UPDATE {{events}} SET seq = -seq + 1 WHERE seq < 0;
                 INSERT INTO {{events}} (seq, event_id, time_ms, event_type, retention_class, body, prev_hash, hash)
                 VALUES (7, '{}', {}, 'mcp_request', 'standard', '{}', X'{}', X'{}');",
                forged.event_id,
                forged.time_unix_ms,
                forged.body.replace('\'', "''"),
                hex::encode(forged.prev_hash),
                hex::encode(forged.hash)
            ));
        },
        7,
        BreakKind::Inserted,
    );
}

#[test]
fn truncated_tail_is_detected_against_the_checkpoint() {
    scenario(
        |b| b.exec("DELETE FROM {events} WHERE seq > 17"),
        18,
        BreakKind::Truncated,
    );
}

#[test]
fn forged_checkpoint_signature_is_detected() {
    scenario(
        |b| {
            b.exec(&format!(
                "UPDATE {{checkpoints}} SET signature = X'{}' WHERE seq = 10",
                "00".repeat(64)
            ))
        },
        10,
        BreakKind::BadSignature,
    );
}

#[test]
fn tail_after_last_checkpoint_is_reported_unsigned() {
    for backend in Backend::both() {
        let dir = tempfile::tempdir().unwrap();
        let key = fill(&backend, dir.path(), 10);
        // Five more events written without a checkpoint (as after a crash).
        let mut store = backend.open();
        let mut head = store.head().unwrap();
        let mut entries = Vec::new();
        for _ in 0..5 {
            let e = EncodedEvent::new(&AuditEvent::new(
                "mcp_request",
                "bob",
                "tools/list",
                "allow",
            ))
            .unwrap()
            .seal(head.seq + 1, head.hash);
            head = sallyport_audit::Head {
                seq: e.seq,
                hash: e.hash,
            };
            entries.push(e);
        }
        store.append(&entries, None).unwrap();
        drop(store);
        let report = check(&backend, &key);
        assert!(report.ok, "{report:?}");
        assert_eq!(report.unsigned_tail, Some((11, 15)));
        // Deleting unsigned events cannot be detected: verify stays ok, the tail shrinks.
        backend.exec("DELETE FROM {events} WHERE seq > 13");
        let report = check(&backend, &key);
        assert!(report.ok, "{report:?}");
        assert_eq!(report.unsigned_tail, Some((11, 13)));
        // An externally recorded head does catch it.
        let options = VerifyOptions {
            expected_head: Some(head),
        };
        let mut store = backend.open();
        let report = verify(store.as_mut(), &key, &options).unwrap();
        assert_eq!(
            report.first_break.map(|b| (b.seq, b.kind)),
            Some((14, BreakKind::Truncated))
        );
    }
}
