//! The approval store's guarantees: bound to the exact call, single use, expiry, and the
//! same file shared by two processes' worth of handles.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sallyport_approvals::{
    ApprovalBinding, ApprovalError, ApprovalState, ApprovalStore, Waited, wait_for_decision,
};

const HOUR: u64 = 3_600_000;

/// The binding of a call whose arguments digest to `digest`.
fn call(digest: &str) -> ApprovalBinding {
    ApprovalBinding::new(
        "alice",
        Some("acme"),
        "fs",
        "delete_file",
        &format!("sha256:{digest}"),
        "v1",
    )
}

#[test]
fn an_approval_admits_only_the_call_it_was_given_for() {
    let store = ApprovalStore::in_memory().unwrap();
    let report = call("aa11");
    let passwd = call("bb22");
    let req = store.request(&report, "require_approval", 1, HOUR).unwrap();
    store.approve(&req.id, "bob", Some("ok"), 2, HOUR).unwrap();
    // Other arguments: the approval does not cover them, whoever asks.
    assert!(!store.consume(&req.id, &passwd, 3).unwrap());
    // Another principal with the same arguments: not covered either.
    let mut mallory = report.clone();
    mallory.principal = "mallory".into();
    assert!(!store.consume(&req.id, &mallory, 3).unwrap());
    // A changed policy: not covered.
    let mut newer = report.clone();
    newer.policy_version = "v2".into();
    assert!(!store.consume(&req.id, &newer, 3).unwrap());
    // The call itself: once.
    assert!(store.consume(&req.id, &report, 4).unwrap());
    assert!(!store.consume(&req.id, &report, 5).unwrap());
    assert_eq!(
        store.get(&req.id, 6).unwrap().unwrap().state,
        ApprovalState::Used
    );
    // The other arguments file their own request.
    let other = store.request(&passwd, "require_approval", 7, HOUR).unwrap();
    assert_ne!(other.id, req.id);
    assert_eq!(other.state, ApprovalState::Pending);
}

#[test]
fn a_retried_call_finds_its_request_and_a_denial_sticks() {
    let store = ApprovalStore::in_memory().unwrap();
    let c = call("cc33");
    let first = store.request(&c, "hold", 10, HOUR).unwrap();
    let again = store.request(&c, "hold", 20, HOUR).unwrap();
    assert_eq!(first.id, again.id, "no second request for a retry");
    store.deny(&first.id[..8], "bob", Some("no"), 30).unwrap();
    let after = store.request(&c, "hold", 40, HOUR).unwrap();
    assert_eq!(after.id, first.id);
    assert_eq!(after.state, ApprovalState::Denied);
    assert_eq!(after.note.as_deref(), Some("no"));
    // Once the denial has run its course, the call may ask again.
    let later = store.request(&c, "hold", 10 + HOUR + 1, HOUR).unwrap();
    assert_ne!(later.id, first.id);
}

#[test]
fn requests_and_approvals_expire() {
    let store = ApprovalStore::in_memory().unwrap();
    let c = call("cc33");
    let req = store.request(&c, "hold", 0, 1_000).unwrap();
    assert_eq!(
        store.get(&req.id, 1_000).unwrap().unwrap().state,
        ApprovalState::Expired
    );
    let err = store.approve(&req.id, "bob", None, 1_000, 500).unwrap_err();
    assert!(
        matches!(
            err,
            ApprovalError::NotPending {
                state: "expired",
                ..
            }
        ),
        "{err}"
    );
    let req = store.request(&c, "hold", 2_000, 1_000).unwrap();
    store.approve(&req.id, "bob", None, 2_100, 500).unwrap();
    assert!(
        !store.consume(&req.id, &c, 2_600).unwrap(),
        "approval used too late"
    );
}

#[test]
fn only_pending_requests_are_decided_and_ids_resolve_precisely() {
    let store = ApprovalStore::in_memory().unwrap();
    let req = store.request(&call("cc33"), "hold", 0, HOUR).unwrap();
    store.approve(&req.id, "bob", None, 1, HOUR).unwrap();
    let err = store.deny(&req.id, "eve", None, 2).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "approval request {} is approved, not pending; only a pending request can be decided",
            req.id
        )
    );
    let err = store.approve("zzzzzz", "bob", None, 3, HOUR).unwrap_err();
    assert!(matches!(err, ApprovalError::NotFound(_)), "{err}");
    let err = store
        .approve(&req.id[..3], "bob", None, 3, HOUR)
        .unwrap_err();
    assert!(
        matches!(err, ApprovalError::NotFound(_)),
        "short prefixes are refused: {err}"
    );
    assert_eq!(
        store
            .list(Some(ApprovalState::Approved), 4, 10)
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .list(Some(ApprovalState::Pending), 4, 10)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn two_handles_on_one_file_see_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/approvals.db");
    let gateway = ApprovalStore::open(&path).unwrap();
    let cli = ApprovalStore::open(&path).unwrap();
    let c = call("cc33");
    let req = gateway.request(&c, "hold", 0, HOUR).unwrap();
    assert_eq!(cli.list(None, 1, 10).unwrap()[0].id, req.id);
    cli.approve(&req.id, "bob", None, 2, HOUR).unwrap();
    assert!(gateway.consume(&req.id, &c, 3).unwrap());
}

#[tokio::test]
async fn a_waiting_call_sees_the_decision_or_gives_up() {
    let store = std::sync::Arc::new(ApprovalStore::in_memory().unwrap());
    let c = call("cc33");
    let now = sallyport_approvals::now_ms();
    let req = store.request(&c, "hold", now, HOUR).unwrap();
    let waited = wait_for_decision(&store, &req.id, Duration::from_millis(300))
        .await
        .unwrap();
    assert!(matches!(waited, Waited::StillPending(_)));
    let decider = {
        let (store, id) = (store.clone(), req.id.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(250)).await;
            store
                .approve(&id, "bob", None, sallyport_approvals::now_ms(), HOUR)
                .unwrap();
        })
    };
    let waited = wait_for_decision(&store, &req.id, Duration::from_secs(10))
        .await
        .unwrap();
    decider.await.unwrap();
    match waited {
        Waited::Decided(a) => assert_eq!(a.state, ApprovalState::Approved),
        other => panic!("{other:?}"),
    }
}
