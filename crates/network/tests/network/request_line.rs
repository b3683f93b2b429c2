//! Request-line checks through the gate.

use crate::support::{admit, gate, headers, refusal};

#[test]
fn traversal_refused_with_400() {
    let gate = gate("{}");
    let h = headers(&[]);
    for target in [
        "/mcp/../admin",
        "/%2e%2e/etc/passwd",
        "/%252e%252e%252fetc",
        "/a/..\\b",
        "/x?f=../../etc",
    ] {
        let r = refusal(admit(&gate, "192.0.2.1", target, &h));
        assert_eq!(
            (r.reason.as_str(), r.status.as_u16()),
            ("path_traversal", 400),
            "{target}"
        );
    }
    assert!(admit(&gate, "192.0.2.1", "/mcp?session=a.b", &h).is_allowed());
}

#[test]
fn traversal_check_can_be_disabled() {
    let gate = gate("request_line: {reject_traversal: false}");
    assert!(admit(&gate, "192.0.2.1", "/mcp/../x", &headers(&[])).is_allowed());
}

#[test]
fn content_length_default_10_mib() {
    let gate = gate("{}");
    let ok = headers(&[("content-length", "10485760")]);
    assert!(admit(&gate, "192.0.2.1", "/mcp", &ok).is_allowed());
    let big = headers(&[("content-length", "10485761")]);
    let r = refusal(admit(&gate, "192.0.2.1", "/mcp", &big));
    assert_eq!(
        (r.reason.as_str(), r.status.as_u16()),
        ("content_length", 413)
    );
    let bad = headers(&[("content-length", "12"), ("content-length", "13")]);
    let r = refusal(admit(&gate, "192.0.2.1", "/mcp", &bad));
    assert_eq!(
        (r.reason.as_str(), r.status.as_u16()),
        ("malformed_content_length", 400)
    );
}

#[test]
fn content_length_configured() {
    let gate = gate("request_line: {max_content_length: 100}");
    let big = headers(&[("content-length", "101")]);
    assert!(!admit(&gate, "192.0.2.1", "/mcp", &big).is_allowed());
}

#[test]
fn request_of_builds_meta() {
    let gate = gate("{}");
    let request = http::Request::post("http://gw.example/mcp/%2e%2e/x?y=1")
        .body(())
        .unwrap();
    let meta = sallyport_network::RequestMeta::of("192.0.2.1".parse().unwrap(), &request);
    assert_eq!(meta.target, "/mcp/%2e%2e/x?y=1");
    assert!(!gate.admit(&meta).is_allowed());
}
