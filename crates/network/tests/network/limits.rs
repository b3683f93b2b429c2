//! Per-client request rate and connection limits.

use std::time::Duration;

use http::HeaderMap;

use crate::support::{admit, gate, gate_with_clock, headers, refusal, verdict};

#[test]
fn per_ip_rate_with_fake_clock() {
    let (gate, clock) = gate_with_clock("per_ip: {requests_per_second: 2, burst: 3}");
    for _ in 0..3 {
        assert_eq!(verdict(&gate, "192.0.2.1"), "allow");
    }
    let r = refusal(admit(&gate, "192.0.2.1", "/mcp", &HeaderMap::new()));
    assert_eq!((r.reason.as_str(), r.status.as_u16()), ("per_ip_rate", 429));
    assert_eq!(r.retry_after, Some(Duration::from_millis(500)));
    assert_eq!(r.retry_after_secs(), Some(1));
    // Another client is not affected.
    assert_eq!(verdict(&gate, "192.0.2.2"), "allow");
    clock.advance(Duration::from_millis(499));
    assert_eq!(verdict(&gate, "192.0.2.1"), "per_ip_rate");
    clock.advance(Duration::from_millis(1));
    assert_eq!(verdict(&gate, "192.0.2.1"), "allow");
    assert_eq!(verdict(&gate, "192.0.2.1"), "per_ip_rate");
    // After a long idle the full burst is back.
    clock.advance(Duration::from_secs(10));
    for _ in 0..3 {
        assert_eq!(verdict(&gate, "192.0.2.1"), "allow");
    }
    assert_eq!(verdict(&gate, "192.0.2.1"), "per_ip_rate");
}

#[test]
fn per_minute_rate_defaults_burst_to_the_rate() {
    let (gate, clock) = gate_with_clock("per_ip: {requests_per_minute: 60}");
    for _ in 0..60 {
        assert_eq!(verdict(&gate, "192.0.2.1"), "allow");
    }
    assert_eq!(verdict(&gate, "192.0.2.1"), "per_ip_rate");
    clock.advance(Duration::from_secs(1));
    assert_eq!(verdict(&gate, "192.0.2.1"), "allow");
}

#[test]
fn ipv6_clients_share_their_prefix() {
    let (gate, _clock) = gate_with_clock("per_ip: {requests_per_second: 1, burst: 1}");
    assert_eq!(verdict(&gate, "2001:db8:1:2::1"), "allow");
    assert_eq!(
        verdict(&gate, "2001:db8:1:2::ffff"),
        "per_ip_rate",
        "same /64"
    );
    assert_eq!(verdict(&gate, "2001:db8:1:3::1"), "allow", "other /64");
}

#[test]
fn rate_is_keyed_on_resolved_client() {
    let (gate, _clock) =
        gate_with_clock("trusted_proxies: [10.0.0.1]\nper_ip: {requests_per_second: 1, burst: 1}");
    let a = headers(&[("x-forwarded-for", "203.0.113.1")]);
    let b = headers(&[("x-forwarded-for", "203.0.113.2")]);
    assert!(admit(&gate, "10.0.0.1", "/mcp", &a).is_allowed());
    assert!(admit(&gate, "10.0.0.1", "/mcp", &b).is_allowed());
    assert!(!admit(&gate, "10.0.0.1", "/mcp", &a).is_allowed());
}

#[test]
fn rate_table_is_bounded() {
    let (gate, clock) =
        gate_with_clock("per_ip: {requests_per_second: 1, burst: 1, max_tracked_ips: 16}");
    let mut refused = 0;
    for i in 0..200u32 {
        let ip = std::net::Ipv4Addr::from(0x0A00_0000 + i).to_string();
        if verdict(&gate, &ip) != "allow" {
            refused += 1;
        }
        assert!(gate.tracked_clients().0 <= 16);
    }
    assert!(
        refused > 0,
        "a full table of limited clients refuses new ones"
    );
    // Once the tracked clients have recovered, they are evicted for new ones (one
    // sweep per stripe per second, so the first new client in a stripe gets in).
    clock.advance(Duration::from_secs(2));
    assert_eq!(verdict(&gate, "10.99.0.1"), "allow");
    assert!(gate.tracked_clients().0 <= 16);
}

#[test]
fn connection_limit_and_guard_release() {
    let gate =
        gate("per_ip: {max_connections: 2}\ntrusted_proxies: [10.0.0.1]\ndeny: [203.0.113.9]");
    let peer = "192.0.2.1".parse().unwrap();
    let first = gate.connect(peer).unwrap();
    let second = gate.connect(peer).unwrap();
    let r = gate.connect(peer).unwrap_err();
    assert_eq!(
        (r.reason.as_str(), r.status.as_u16()),
        ("too_many_connections", 429)
    );
    assert!(
        gate.connect("192.0.2.2".parse().unwrap()).is_ok(),
        "other client"
    );
    assert_eq!(gate.tracked_clients().1, 1);
    drop(first);
    let third = gate.connect(peer).unwrap();
    drop((second, third));
    assert_eq!(gate.tracked_clients().1, 0, "entries are removed at zero");
    // Trusted proxies are not counted; denied peers are refused at connect.
    let proxies: Vec<_> = (0..5)
        .map(|_| gate.connect("10.0.0.1".parse().unwrap()).unwrap())
        .collect();
    assert_eq!(proxies.len(), 5);
    let r = gate.connect("203.0.113.9".parse().unwrap()).unwrap_err();
    assert_eq!(r.reason.as_str(), "ip_denied");
}

#[test]
fn no_limits_configured() {
    let gate = gate("{}");
    for _ in 0..1000 {
        assert_eq!(verdict(&gate, "192.0.2.1"), "allow");
    }
    let guards: Vec<_> = (0..100)
        .map(|_| gate.connect("192.0.2.1".parse().unwrap()).unwrap())
        .collect();
    assert_eq!(guards.len(), 100);
    assert_eq!(gate.tracked_clients(), (0, 0));
}
