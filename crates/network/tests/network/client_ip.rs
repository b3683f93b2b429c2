//! Client address resolution behind proxies.

use std::net::IpAddr;

use crate::support::{admit, gate, headers, refusal};
use sallyport_network::{AddrSource, ClientAddr, NetworkGate};

fn resolve(gate: &NetworkGate, peer: &str, pairs: &[(&str, &str)]) -> ClientAddr {
    gate.resolve_client(peer.parse().unwrap(), &headers(pairs))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const XFF: &str = "trusted_proxies: [10.0.0.0/8, '2001:db8:ffff::/48']";

#[test]
fn spoofed_xff_from_untrusted_peer_is_ignored() {
    let gate = gate(XFF);
    let got = resolve(&gate, "198.51.100.9", &[("x-forwarded-for", "127.0.0.1")]);
    assert_eq!(
        got,
        ClientAddr {
            ip: ip("198.51.100.9"),
            source: AddrSource::PeerIgnoredHeader
        }
    );
    let got = resolve(&gate, "198.51.100.9", &[]);
    assert_eq!(got.source, AddrSource::Peer);
}

#[test]
fn spoofed_xff_cannot_dodge_deny_list() {
    let gate = gate(&format!("{XFF}\ndeny: [198.51.100.9]"));
    let h = headers(&[("x-forwarded-for", "192.0.2.1")]);
    let r = refusal(admit(&gate, "198.51.100.9", "/mcp", &h));
    assert_eq!(r.reason.as_str(), "ip_denied");
    assert_eq!(r.client.source, AddrSource::PeerIgnoredHeader);
}

#[test]
fn xff_through_trusted_chain() {
    let gate = gate(XFF);
    // client-supplied junk on the left, then the real client, then two trusted proxies.
    let h = [
        ("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.1.1.1"),
        ("x-forwarded-for", "10.2.2.2"),
    ];
    let got = resolve(&gate, "10.0.0.1", &h);
    assert_eq!(
        got,
        ClientAddr {
            ip: ip("203.0.113.7"),
            source: AddrSource::Forwarded { proxies: 3 }
        }
    );
    let got = resolve(&gate, "10.0.0.1", &[("x-forwarded-for", "203.0.113.7")]);
    assert_eq!(
        got,
        ClientAddr {
            ip: ip("203.0.113.7"),
            source: AddrSource::Forwarded { proxies: 1 }
        }
    );
    let got = resolve(
        &gate,
        "2001:db8:ffff::1",
        &[("x-forwarded-for", "[2001:db8::5]:443")],
    );
    assert_eq!(got.ip, ip("2001:db8::5"));
    let got = resolve(
        &gate,
        "::ffff:10.0.0.1",
        &[("x-forwarded-for", "::ffff:203.0.113.8")],
    );
    assert_eq!(
        got.ip,
        ip("203.0.113.8"),
        "v4-mapped peer and hop are canonicalised"
    );
}

#[test]
fn all_hops_trusted_gives_leftmost() {
    let gate = gate(XFF);
    let got = resolve(
        &gate,
        "10.0.0.1",
        &[("x-forwarded-for", "10.9.9.9, 10.8.8.8")],
    );
    assert_eq!(
        got,
        ClientAddr {
            ip: ip("10.9.9.9"),
            source: AddrSource::Forwarded { proxies: 2 }
        }
    );
}

#[test]
fn trusted_peer_without_header_is_the_client() {
    let gate = gate(XFF);
    assert_eq!(resolve(&gate, "10.0.0.1", &[]).source, AddrSource::Peer);
    // Only the configured header counts.
    let got = resolve(&gate, "10.0.0.1", &[("forwarded", "for=203.0.113.7")]);
    assert_eq!(
        got,
        ClientAddr {
            ip: ip("10.0.0.1"),
            source: AddrSource::Peer
        }
    );
}

#[test]
fn malformed_header_falls_back_to_peer() {
    let gate = gate(XFF);
    for value in [
        "not-an-ip",
        "203.0.113.7, bogus, 10.1.1.1",
        "unknown",
        "1.2.3.4:99999",
    ] {
        let got = resolve(&gate, "10.0.0.1", &[("x-forwarded-for", value)]);
        assert_eq!(
            got,
            ClientAddr {
                ip: ip("10.0.0.1"),
                source: AddrSource::PeerMalformedHeader
            },
            "{value:?}"
        );
    }
    // A malformed hop left of the client does not matter: the walk stops at the client.
    let got = resolve(
        &gate,
        "10.0.0.1",
        &[("x-forwarded-for", "bogus, 203.0.113.7")],
    );
    assert_eq!(
        got,
        ClientAddr {
            ip: ip("10.0.0.1"),
            source: AddrSource::PeerMalformedHeader
        }
    );
    let long = vec!["10.1.1.1"; 65].join(",");
    let got = resolve(&gate, "10.0.0.1", &[("x-forwarded-for", &long)]);
    assert_eq!(got.source, AddrSource::PeerMalformedHeader, "too many hops");
}

#[test]
fn forwarded_header_with_quoted_ipv6_and_ports() {
    let gate = gate(&format!("{XFF}\nforwarded_header: forwarded"));
    let h = [(
        "forwarded",
        r#"for="[2001:db8:cafe::17]:4711";proto=https, for="10.1.1.1:8080";by=10.0.0.1"#,
    )];
    let got = resolve(&gate, "10.0.0.1", &h);
    assert_eq!(
        got,
        ClientAddr {
            ip: ip("2001:db8:cafe::17"),
            source: AddrSource::Forwarded { proxies: 2 }
        }
    );
    let got = resolve(
        &gate,
        "10.0.0.1",
        &[("forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43")],
    );
    assert_eq!(got.ip, ip("192.0.2.60"));
    let got = resolve(
        &gate,
        "10.0.0.1",
        &[("Forwarded", "for=unknown, for=10.1.1.1")],
    );
    assert_eq!(
        got.source,
        AddrSource::PeerMalformedHeader,
        "unknown before an untrusted hop"
    );
    let got = resolve(&gate, "10.0.0.1", &[("forwarded", "for=[2001:db8::1]")]);
    assert_eq!(got.source, AddrSource::PeerMalformedHeader, "unquoted IPv6");
    // X-Forwarded-For is ignored when Forwarded is configured.
    let got = resolve(&gate, "10.0.0.1", &[("x-forwarded-for", "203.0.113.1")]);
    assert_eq!(got.source, AddrSource::Peer);
}

#[test]
fn resolved_client_is_checked_against_lists() {
    let gate = gate(&format!("{XFF}\ndeny: [203.0.113.0/24]"));
    let h = headers(&[("x-forwarded-for", "203.0.113.7")]);
    let r = refusal(admit(&gate, "10.0.0.1", "/mcp", &h));
    assert_eq!(r.reason.as_str(), "ip_denied");
    assert_eq!(r.client.ip, ip("203.0.113.7"));
    let h = headers(&[("x-forwarded-for", "192.0.2.7")]);
    assert!(admit(&gate, "10.0.0.1", "/mcp", &h).is_allowed());
}
