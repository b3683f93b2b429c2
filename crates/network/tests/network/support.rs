//! Helpers shared by the integration tests.

use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue};
use sallyport_network::{Admission, ManualClock, NetworkConfig, NetworkGate, Refusal, RequestMeta};

pub fn config(yaml: &str) -> NetworkConfig {
    serde_saphyr::from_str(yaml).unwrap()
}

pub fn gate(yaml: &str) -> NetworkGate {
    NetworkGate::build(&config(yaml)).unwrap()
}

pub fn gate_with_clock(yaml: &str) -> (NetworkGate, ManualClock) {
    let clock = ManualClock::default();
    let gate = NetworkGate::build_with_clock(&config(yaml), Arc::new(clock.clone())).unwrap();
    (gate, clock)
}

pub fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

pub fn admit(gate: &NetworkGate, peer: &str, target: &str, headers: &HeaderMap) -> Admission {
    gate.admit(&RequestMeta {
        peer: peer.parse().unwrap(),
        target,
        headers,
    })
}

/// The stable reason name, or "allow".
pub fn verdict(gate: &NetworkGate, peer: &str) -> &'static str {
    match admit(gate, peer, "/mcp", &HeaderMap::new()) {
        Admission::Allow { .. } => "allow",
        Admission::Refuse(r) => r.reason.as_str(),
    }
}

pub fn refusal(admission: Admission) -> Refusal {
    match admission {
        Admission::Refuse(r) => r,
        Admission::Allow { client } => panic!("allowed {client:?}"),
    }
}
