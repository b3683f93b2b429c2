//! Allow and deny lists.

use crate::support::{config, gate, verdict};
use sallyport_network::{BuildError, NetworkGate};

#[test]
fn empty_lists_allow_everyone() {
    let gate = gate("{}");
    assert_eq!(verdict(&gate, "192.0.2.1"), "allow");
    assert_eq!(verdict(&gate, "2001:db8::1"), "allow");
}

#[test]
fn deny_v4_and_v6() {
    let gate =
        gate("deny: [203.0.113.0/24, '2001:db8:bad::/48', 198.51.100.7, 192.0.2.10-192.0.2.20]");
    assert_eq!(verdict(&gate, "203.0.113.77"), "ip_denied");
    assert_eq!(verdict(&gate, "203.0.114.1"), "allow");
    assert_eq!(verdict(&gate, "2001:db8:bad:1::9"), "ip_denied");
    assert_eq!(verdict(&gate, "2001:db8:bae::1"), "allow");
    assert_eq!(verdict(&gate, "198.51.100.7"), "ip_denied");
    assert_eq!(verdict(&gate, "198.51.100.8"), "allow");
    assert_eq!(verdict(&gate, "192.0.2.15"), "ip_denied");
    assert_eq!(verdict(&gate, "192.0.2.21"), "allow");
    assert_eq!(
        verdict(&gate, "::ffff:203.0.113.5"),
        "ip_denied",
        "v4-mapped peer"
    );
}

#[test]
fn allow_list_restricts_and_deny_overrides() {
    let gate = gate("allow: [10.0.0.0/8, 'fd00::/8']\ndeny: [10.6.6.0/24, 'fd00:bad::/32']");
    assert_eq!(verdict(&gate, "10.1.2.3"), "allow");
    assert_eq!(verdict(&gate, "fd00::1"), "allow");
    assert_eq!(verdict(&gate, "192.0.2.1"), "not_in_allow_list");
    assert_eq!(verdict(&gate, "2001:db8::1"), "not_in_allow_list");
    assert_eq!(verdict(&gate, "10.6.6.6"), "ip_denied");
    assert_eq!(verdict(&gate, "fd00:bad::1"), "ip_denied");
}

#[test]
fn status_codes() {
    let gate = gate("allow: [10.0.0.0/8]\ndeny: [10.6.6.6]");
    let headers = http::HeaderMap::new();
    for (peer, status) in [("10.6.6.6", 403), ("192.0.2.1", 403)] {
        let r = crate::support::refusal(crate::support::admit(&gate, peer, "/mcp", &headers));
        assert_eq!(r.status.as_u16(), status);
        assert_eq!(r.retry_after, None);
    }
}

#[test]
fn every_bad_field_is_reported() {
    let config = config(
        "allow: [10.0.0.0/33, ok]\ndeny: [1.2.3.4]\ntrusted_proxies: ['::1/200']\n\
         per_ip: {requests_per_second: 5, requests_per_minute: 100, max_connections: 0}\n\
         slow_client: {header_read_timeout_secs: 0}",
    );
    let Err(BuildError::Invalid { errors }) = NetworkGate::build(&config) else {
        panic!("expected invalid");
    };
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "slow_client.header_read_timeout_secs",
            "allow[0]",
            "allow[1]",
            "trusted_proxies[0]",
            "per_ip.max_connections",
            "per_ip"
        ]
    );
}

#[test]
fn unknown_fields_are_rejected() {
    let error = serde_saphyr::from_str::<sallyport_network::NetworkConfig>("alow: []");
    assert!(error.is_err());
    let error = serde_saphyr::from_str::<sallyport_network::NetworkConfig>("per_ip: {rps: 1}");
    assert!(error.is_err());
}

#[test]
fn schema_forbids_additional_properties() {
    let schema = schemars::schema_for!(sallyport_network::NetworkConfig);
    let json = serde_json::to_value(&schema).unwrap();
    assert_eq!(json["additionalProperties"], serde_json::json!(false));
}
