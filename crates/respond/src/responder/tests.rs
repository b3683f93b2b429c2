use std::net::{IpAddr, Ipv4Addr};

use sallyport_pipeline::{DenyCode, Direction, GuardRecord, Outcome};

use super::*;
use crate::config::EventRulesConfig;

const IP: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));

fn responder(yaml: &str) -> Responder {
    let config: EventRulesConfig = serde_saphyr::from_str(yaml).unwrap();
    Responder::new(config.build(), Arc::new(SecurityState::default()))
}

fn event(kind: SecurityEventKind) -> SecurityEvent {
    let mut e = SecurityEvent::new(kind, "alice");
    e.tenant = Some("acme".into());
    e.source_ip = Some(IP);
    e
}

/// Feeds `n` events one second apart from `start`; returns the actions taken.
fn feed(r: &mut Responder, e: &SecurityEvent, n: u32, start: Instant) -> Vec<ActionRecord> {
    (0..n)
        .filter_map(|i| r.handle(e, start + Duration::from_secs(u64::from(i))))
        .collect()
}

fn blocked(r: &Responder, e: &SecurityEvent, at: Instant) -> (bool, bool) {
    (
        r.state()
            .is_blocked_principal_at(&e.principal, e.tenant.as_deref(), at),
        r.state().is_blocked_ip_at(IP, at),
    )
}

#[test]
fn every_seed_event_type_acts_at_its_threshold_and_not_one_short() {
    // (kind, threshold, action, principal blocked, ip blocked)
    let table = [
        (
            SecurityEventKind::AuthenticationFailed,
            5,
            ResponseAction::Alert,
            false,
            false,
        ),
        (
            SecurityEventKind::AuthorizationDenied,
            10,
            ResponseAction::Alert,
            false,
            false,
        ),
        (
            SecurityEventKind::RateLimitExceeded,
            20,
            ResponseAction::Log,
            false,
            false,
        ),
        (
            SecurityEventKind::SuspiciousPattern,
            1,
            ResponseAction::BlockAndAlert,
            true,
            false,
        ),
        (
            SecurityEventKind::PrivilegeEscalationAttempt,
            1,
            ResponseAction::BlockUserAndAlert,
            true,
            false,
        ),
        (
            SecurityEventKind::InvalidCertificate,
            3,
            ResponseAction::BlockIp,
            false,
            true,
        ),
    ];
    for (kind, threshold, action, principal_blocked, ip_blocked) in table {
        let mut r = responder("{}");
        let e = event(kind);
        let start = Instant::now();
        let short = feed(&mut r, &e, threshold - 1, start);
        assert!(
            short.is_empty(),
            "{kind:?} acted one short of its threshold"
        );
        assert_eq!(blocked(&r, &e, start), (false, false), "{kind:?}");
        let at = start + Duration::from_secs(u64::from(threshold));
        let done = r.handle(&e, at).expect("the threshold-th event acts");
        assert_eq!((done.action, done.count), (action, threshold), "{kind:?}");
        assert_eq!(r.actions_taken(action), 1);
        assert_eq!(
            blocked(&r, &e, at),
            (principal_blocked, ip_blocked),
            "{kind:?}"
        );
    }
}

#[test]
fn the_window_slides() {
    let mut r = responder("authentication_failed: { threshold: 3, window_secs: 60 }\n");
    let e = event(SecurityEventKind::AuthenticationFailed);
    let t0 = Instant::now();
    assert!(r.handle(&e, t0).is_none());
    assert!(r.handle(&e, t0 + Duration::from_secs(30)).is_none());
    // The first event has left the window: two in the last 60 s.
    assert!(r.handle(&e, t0 + Duration::from_secs(61)).is_none());
    // Three within 60 s (30, 61, 89).
    let done = r.handle(&e, t0 + Duration::from_secs(89)).unwrap();
    assert_eq!(done.count, 3);
    // The window starts afresh after an action.
    assert!(r.handle(&e, t0 + Duration::from_secs(90)).is_none());
}

#[test]
fn keys_are_counted_apart() {
    let mut r = responder("authorization_denied: { threshold: 2 }\n");
    let alice = event(SecurityEventKind::AuthorizationDenied);
    let mut bob = alice.clone();
    bob.principal = "bob".into();
    let mut other_tenant = alice.clone();
    other_tenant.tenant = Some("globex".into());
    let t = Instant::now();
    assert!(r.handle(&alice, t).is_none());
    assert!(r.handle(&bob, t).is_none());
    assert!(r.handle(&other_tenant, t).is_none());
    assert!(r.handle(&alice, t).is_some());
}

#[test]
fn blocks_expire_and_permanent_ones_do_not() {
    let mut r = responder("block_duration_secs: 600\n");
    let t = Instant::now();
    let e = event(SecurityEventKind::SuspiciousPattern);
    let done = r.handle(&e, t).unwrap();
    assert_eq!(done.block_secs, Some(600));
    assert!(blocked(&r, &e, t + Duration::from_secs(599)).0);
    assert!(!blocked(&r, &e, t + Duration::from_secs(600)).0);

    let mut e = event(SecurityEventKind::PrivilegeEscalationAttempt);
    e.principal = "mallory".into();
    let done = r.handle(&e, t).unwrap();
    assert_eq!(done.block_secs, None);
    assert!(blocked(&r, &e, t + Duration::from_secs(86_400 * 365)).0);
    assert!(r.state().unblock_principal("mallory", Some("acme")));
    assert!(!blocked(&r, &e, t).0);
}

#[test]
fn unauthenticated_events_count_and_block_by_address() {
    let mut r = responder("authentication_failed: { threshold: 2, action: block_and_alert }\n");
    let t = Instant::now();
    let mut e = event(SecurityEventKind::AuthenticationFailed);
    e.principal = "unauthenticated".into();
    e.auth_method = "none";
    assert!(r.handle(&e, t).is_none());
    // Another address is another key.
    let mut elsewhere = e.clone();
    elsewhere.source_ip = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert!(r.handle(&elsewhere, t).is_none());
    let done = r.handle(&e, t).unwrap();
    assert_eq!(done.blocked, Some(BlockTarget::Ip { ip: IP }));
    assert!(r.state().is_blocked_ip_at(IP, t));
    assert!(
        !r.state()
            .is_blocked_principal_at("unauthenticated", Some("acme"), t)
    );
    // Without an address there is no one to count against.
    e.source_ip = None;
    assert!(r.handle(&e, t).is_none());
    assert!(r.handle(&e, t).is_none());
}

#[test]
fn disabled_rules_do_nothing() {
    let mut r = responder("enabled: false\n");
    assert!(
        r.handle(&event(SecurityEventKind::SuspiciousPattern), Instant::now())
            .is_none()
    );
}

#[test]
fn memory_stays_bounded_under_many_distinct_keys() {
    let mut r = responder("max_tracked_keys: 100000\nmax_blocks: 100\n");
    let t = Instant::now();
    for i in 0..150_000u32 {
        let mut e = event(SecurityEventKind::AuthorizationDenied);
        e.principal = format!("p{i}");
        assert!(r.handle(&e, t).is_none());
        let mut s = event(SecurityEventKind::SuspiciousPattern);
        s.principal = format!("s{i}");
        s.source_ip = None;
        let _ = r.handle(&s, t);
    }
    assert!(r.tracked_keys() <= 100_000, "{}", r.tracked_keys());
    assert!(r.state().len() <= 100, "{}", r.state().len());
    // The most recent key is still tracked; its count goes on.
    let mut last = event(SecurityEventKind::AuthorizationDenied);
    last.principal = "p149999".into();
    for _ in 0..8 {
        assert!(r.handle(&last, t).is_none());
    }
    assert!(r.handle(&last, t).is_some());
}

fn record(outcome: Outcome, code: Option<DenyCode>, reason: &str) -> DecisionRecord {
    DecisionRecord {
        exchange_id: "x-1".into(),
        time_unix_ms: 1,
        direction: Direction::ClientToServer,
        kind: "request",
        method: Some("tools/call".into()),
        jsonrpc_id: Some("1".into()),
        server: Some("fs".into()),
        tool: Some("read_file".into()),
        principal: "alice".into(),
        auth_method: "api_key",
        tenant: None,
        source_ip: Some(IP),
        session_id: None,
        era: "legacy",
        outcome,
        deny_code: code,
        origin: None,
        reason: Some(reason.into()),
        guards: Vec::new(),
        duration_ns: 0,
    }
}

#[test]
fn records_map_to_event_kinds() {
    use SecurityEventKind as K;
    let deny =
        |code, reason: &str| classify(&record(Outcome::Deny, Some(code), reason)).map(|e| e.kind);
    assert_eq!(
        deny(DenyCode::Unauthenticated, "invalid_api_key"),
        Some(K::AuthenticationFailed)
    );
    assert_eq!(
        deny(DenyCode::AuthForbidden, "x"),
        Some(K::AuthorizationDenied)
    );
    assert_eq!(
        deny(DenyCode::ToolNotAllowed, "Unknown tool: x"),
        Some(K::AuthorizationDenied)
    );
    assert_eq!(
        deny(DenyCode::StepUpRequired, "x"),
        Some(K::AuthorizationDenied)
    );
    assert_eq!(
        deny(
            DenyCode::ToolNotAllowed,
            "deny by rbac: no permission of roles [reader] grants mcp.fs.delete_file:delete"
        ),
        Some(K::PrivilegeEscalationAttempt)
    );
    for code in [
        DenyCode::RateLimited,
        DenyCode::QuotaExceeded,
        DenyCode::PerIpRateLimited,
        DenyCode::ConcurrencyLimited,
    ] {
        assert_eq!(deny(code, "x"), Some(K::RateLimitExceeded));
    }
    assert_eq!(
        deny(DenyCode::ThreatDetected, "x"),
        Some(K::SuspiciousPattern)
    );
    assert_eq!(
        deny(DenyCode::PathTraversal, "x"),
        Some(K::SuspiciousPattern)
    );
    assert_eq!(
        deny(DenyCode::InvalidCertificate, "x"),
        Some(K::InvalidCertificate)
    );
    assert_eq!(
        deny(DenyCode::ToolQuarantined, "x"),
        Some(K::ToolQuarantined)
    );
    // Not security events, and the blocks' own refusals never feed back.
    assert_eq!(deny(DenyCode::ParseError, "x"), None);
    assert_eq!(deny(DenyCode::IpBlocked, "x"), None);
    assert_eq!(deny(DenyCode::PrincipalBlocked, "x"), None);
    assert_eq!(deny(DenyCode::ResourceNotFound, "x"), None);
    assert_eq!(classify(&record(Outcome::Allow, None, "x")), None);

    let mut hidden = record(Outcome::Deny, Some(DenyCode::ResourceNotFound), "x");
    hidden.guards.push(GuardRecord {
        guard: "authz",
        outcome: Outcome::Deny,
        reason: None,
        duration_ns: 0,
    });
    assert_eq!(
        classify(&hidden).map(|e| e.kind),
        Some(K::AuthorizationDenied)
    );

    let mut redacted = record(Outcome::Rewrite, None, "x");
    assert_eq!(classify(&redacted), None);
    redacted.guards.push(GuardRecord {
        guard: "tool_result",
        outcome: Outcome::Rewrite,
        reason: Some("secret.aws_access_key at /content/0/text".into()),
        duration_ns: 0,
    });
    let e = classify(&redacted).unwrap();
    assert_eq!(
        (e.kind, e.principal.as_str(), e.source_ip),
        (K::ThreatDetected, "alice", Some(IP))
    );
}

#[test]
fn every_event_counts_against_its_principals_reputation() {
    let mut r = responder("{}");
    let t = Instant::now();
    let mut e = event(SecurityEventKind::RateLimitExceeded);
    e.auth_method = "jwt";
    feed(&mut r, &e, 3, t);
    let denied = event(SecurityEventKind::AuthorizationDenied);
    let mut denied = denied;
    denied.auth_method = "jwt";
    r.handle(&denied, t);
    assert_eq!(r.state().recent_violations("alice", Some("acme")), 4);
    assert_eq!(r.state().recent_violations("alice", None), 0, "per tenant");
    // Unauthenticated callers and the local operator have no reputation to lower.
    let mut anonymous = event(SecurityEventKind::AuthenticationFailed);
    anonymous.principal = "unauthenticated".into();
    anonymous.auth_method = "none";
    r.handle(&anonymous, t);
    assert_eq!(
        r.state().recent_violations("unauthenticated", Some("acme")),
        0
    );
}
