#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a panic is a test failure"
)]

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::RequestId;

fn modern(method: &str, params: Value) -> Message {
    let mut msg = Message::request(RequestId::Number(1), method, Some(params));
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    msg.params_mut().insert("_meta".into(), meta);
    msg
}

fn bad(header: &'static str) -> HeaderError {
    HeaderError::BadEncoding { header }
}

#[test]
fn decodes_header_values() {
    let cases: Vec<(&str, Result<&str, HeaderError>)> = vec![
        ("add", Ok("add")),
        ("a b", Ok("a b")),
        ("a\tb", Ok("a\tb")),
        ("", Ok("")),
        ("=?base64?SGVsbG8sIOS4lueVjA==?=", Ok("Hello, 世界")),
        ("=?base64?SGVsbG8sIOS4lueVjA?=", Ok("Hello, 世界")),
        (
            "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=",
            Ok("=?base64?literal?="),
        ),
        ("=?base64??=", Ok("")),
        ("=?BASE64?YQ==?=", Ok("=?BASE64?YQ==?=")),
        ("=?base64?***?=", Err(bad("Mcp-Name"))),
        ("=?base64?/w==?=", Err(bad("Mcp-Name"))),
        ("=?base64?=", Err(bad("Mcp-Name"))),
        ("a\nb", Err(bad("Mcp-Name"))),
        ("a\0b", Err(bad("Mcp-Name"))),
        ("é", Err(bad("Mcp-Name"))),
    ];
    for (raw, want) in cases {
        assert_eq!(decode_header_value(raw), want.map(str::to_owned), "{raw:?}");
    }
}

#[test]
fn encodes_header_values_as_the_spec_table_shows() {
    let cases = [
        ("us-west1", "us-west1"),
        ("a b", "a b"),
        ("", ""),
        ("Hello, 世界", "=?base64?SGVsbG8sIOS4lueVjA==?="),
        (" padded ", "=?base64?IHBhZGRlZCA=?="),
        ("line1\nline2", "=?base64?bGluZTEKbGluZTI=?="),
        ("=?base64?literal?=", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="),
        ("a\tb", "=?base64?YQli?="),
    ];
    for (value, want) in cases {
        assert_eq!(encode_header_value(value), want, "{value:?}");
    }
}

#[test]
fn expected_name_per_method() {
    let cases = [
        (modern("tools/call", json!({ "name": "add" })), Some("add")),
        (
            modern("prompts/get", json!({ "name": "greet" })),
            Some("greet"),
        ),
        (
            modern("resources/read", json!({ "uri": "file:///a" })),
            Some("file:///a"),
        ),
        (modern("resources/read", json!({ "name": "x" })), None),
        (modern("tools/call", json!({ "name": 7 })), None),
        (modern("tools/list", json!({ "name": "add" })), None),
        (Message::notification("tools/call", None), None),
        (Message::result(RequestId::Number(1), json!({})), None),
    ];
    for (msg, want) in &cases {
        assert_eq!(expected_name(msg), *want, "{msg:?}");
    }
}

#[test]
fn validates_modern_headers() {
    let call = modern("tools/call", json!({ "name": "add", "arguments": {} }));
    let read = modern("resources/read", json!({ "uri": "file:///é" }));
    let list = modern("tools/list", json!({}));
    let nameless = modern("tools/call", json!({}));
    let mismatch = |header, h: &str, b: &str| HeaderError::Mismatch {
        header,
        header_value: h.into(),
        body_value: b.into(),
    };
    let v = Some("2026-07-28");
    type Case<'a> = (
        &'a str,
        &'a Message,
        [Option<&'a str>; 3],
        Result<(), HeaderError>,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "all match",
            &call,
            [Some("tools/call"), Some("add"), v],
            Ok(()),
        ),
        (
            "no version header",
            &call,
            [Some("tools/call"), Some("add"), None],
            Ok(()),
        ),
        (
            "base64 name",
            &call,
            [Some("tools/call"), Some("=?base64?YWRk?="), v],
            Ok(()),
        ),
        (
            "missing method",
            &call,
            [None, Some("add"), v],
            Err(HeaderError::Missing {
                header: "Mcp-Method",
            }),
        ),
        (
            "method mismatch",
            &call,
            [Some("tools/list"), Some("add"), v],
            Err(mismatch("Mcp-Method", "tools/list", "tools/call")),
        ),
        (
            "method is case-sensitive",
            &call,
            [Some("Tools/Call"), Some("add"), v],
            Err(mismatch("Mcp-Method", "Tools/Call", "tools/call")),
        ),
        (
            "missing name",
            &call,
            [Some("tools/call"), None, v],
            Err(HeaderError::Missing { header: "Mcp-Name" }),
        ),
        (
            "name mismatch",
            &call,
            [Some("tools/call"), Some("evil"), v],
            Err(mismatch("Mcp-Name", "evil", "add")),
        ),
        (
            "base64 name mismatch",
            &call,
            [Some("tools/call"), Some("=?base64?ZXZpbA==?="), v],
            Err(mismatch("Mcp-Name", "evil", "add")),
        ),
        (
            "bad base64 name",
            &call,
            [Some("tools/call"), Some("=?base64?%?="), v],
            Err(bad("Mcp-Name")),
        ),
        (
            "version mismatch",
            &call,
            [Some("tools/call"), Some("add"), Some("2025-11-25")],
            Err(mismatch("MCP-Protocol-Version", "2025-11-25", "2026-07-28")),
        ),
        (
            "uri needs encoding",
            &read,
            [
                Some("resources/read"),
                Some("=?base64?ZmlsZTovLy/DqQ==?="),
                v,
            ],
            Ok(()),
        ),
        (
            "uri plain non-ASCII",
            &read,
            [Some("resources/read"), Some("file:///é"), v],
            Err(bad("Mcp-Name")),
        ),
        (
            "no name expected",
            &list,
            [Some("tools/list"), None, v],
            Ok(()),
        ),
        (
            "stray name ignored",
            &list,
            [Some("tools/list"), Some("x"), v],
            Ok(()),
        ),
        (
            "nameless body, no header",
            &nameless,
            [Some("tools/call"), None, v],
            Ok(()),
        ),
        (
            "header names what body lacks",
            &nameless,
            [Some("tools/call"), Some("add"), v],
            Err(mismatch("Mcp-Name", "add", "")),
        ),
    ];
    for (name, msg, [method, mcp_name, version], want) in cases {
        assert_eq!(
            validate_modern_headers(method, mcp_name, version, msg),
            want,
            "{name}"
        );
    }
}

#[test]
fn header_error_messages_say_what_to_fix() {
    let call = modern("tools/call", json!({ "name": "add" }));
    let err = validate_modern_headers(Some("tools/call"), Some("evil"), None, &call).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Mcp-Name header \"evil\" does not match the request body's name \"add\""
    );
    assert_eq!(err.jsonrpc_code(), error_code::HEADER_MISMATCH);
    let missing = HeaderError::Missing {
        header: "Mcp-Method",
    };
    assert_eq!(
        missing.to_string(),
        "the Mcp-Method header is required: it must repeat the request body's method"
    );
    assert_eq!(missing.jsonrpc_code(), -32020);
    assert_eq!(bad("Mcp-Name").jsonrpc_code(), -32020);
    assert!(bad("Mcp-Name").to_string().contains("=?base64?"));
}

#[test]
fn echoed_values_are_escaped_and_truncated() {
    let long = "x".repeat(300);
    let err = mismatch(NAME_HEADER, &long, "a\"b\nc");
    let text = err.to_string();
    assert!(
        text.contains(&format!("\"{}…\"", "x".repeat(128))),
        "{text}"
    );
    assert!(!text.contains(&"x".repeat(129)));
    assert!(text.ends_with(r#"name "a\"b\nc""#), "{text}");
}

#[test]
fn validates_modern_meta() {
    let good = modern("tools/list", json!({}));
    let mut no_caps = good.clone();
    no_caps.params_mut().insert(
        "_meta".into(),
        json!({ version::META_PROTOCOL_VERSION: "2026-07-28" }),
    );
    let mut caps_not_object = good.clone();
    caps_not_object.params_mut().insert(
        "_meta".into(),
        json!({ version::META_PROTOCOL_VERSION: "2026-07-28", version::META_CLIENT_CAPABILITIES: [] }),
    );
    let mut numeric_version = good.clone();
    numeric_version.params_mut().insert(
        "_meta".into(),
        json!({ version::META_PROTOCOL_VERSION: 20260728 }),
    );
    let mut legacy = good.clone();
    legacy.params_mut().insert(
        "_meta".into(),
        json!({ version::META_PROTOCOL_VERSION: "2025-11-25", version::META_CLIENT_CAPABILITIES: {} }),
    );
    let missing_version = MetaError::MissingField {
        field: version::META_PROTOCOL_VERSION,
    };
    let missing_caps = MetaError::MissingField {
        field: version::META_CLIENT_CAPABILITIES,
    };
    let cases = [
        ("good", good, Ok(())),
        (
            "no params",
            Message::request(RequestId::Number(1), "tools/list", None),
            Err(missing_version.clone()),
        ),
        (
            "no _meta",
            modern("x", json!({})).tap_remove_meta(),
            Err(missing_version.clone()),
        ),
        ("numeric version", numeric_version, Err(missing_version)),
        (
            "legacy version",
            legacy,
            Err(MetaError::UnsupportedVersion {
                requested: "2025-11-25".into(),
            }),
        ),
        ("no capabilities", no_caps, Err(missing_caps.clone())),
        (
            "capabilities not an object",
            caps_not_object,
            Err(missing_caps),
        ),
    ];
    for (name, msg, want) in cases {
        assert_eq!(validate_modern_meta(&msg), want, "{name}");
    }
}

trait TapRemoveMeta {
    fn tap_remove_meta(self) -> Self;
}

impl TapRemoveMeta for Message {
    fn tap_remove_meta(mut self) -> Self {
        self.params_mut().remove("_meta");
        self
    }
}

#[test]
fn meta_errors_map_to_codes_and_data() {
    let missing = MetaError::MissingField {
        field: version::META_CLIENT_CAPABILITIES,
    };
    assert_eq!(missing.jsonrpc_code(), error_code::INVALID_PARAMS);
    assert_eq!(missing.data(), None);
    assert_eq!(
        missing.to_string(),
        "params._meta[\"io.modelcontextprotocol/clientCapabilities\"] is required on 2026-07-28 requests and must be an object"
    );
    let mut msg = modern("tools/list", json!({}));
    let long = "9".repeat(500);
    msg.params_mut().insert(
        "_meta".into(),
        json!({ version::META_PROTOCOL_VERSION: long }),
    );
    let err = validate_modern_meta(&msg).unwrap_err();
    assert_eq!(err.jsonrpc_code(), error_code::UNSUPPORTED_PROTOCOL_VERSION);
    let requested = "9".repeat(128);
    assert_eq!(
        err.data(),
        Some(json!({ "supported": version::ALL_VERSIONS, "requested": requested }))
    );
    assert!(err.to_string().contains("supported versions: 2024-11-05,"));
}

proptest! {
    #[test]
    fn header_value_roundtrips(value in prop_oneof![any::<String>(), "[ a=?b64\t\r\n]{0,12}"]) {
        let encoded = encode_header_value(&value);
        prop_assert!(encoded.bytes().all(|b| (b' '..=b'~').contains(&b)), "{:?}", encoded);
        prop_assert!(!encoded.starts_with(' ') && !encoded.ends_with(' '));
        prop_assert_eq!(decode_header_value(&encoded), Ok(value));
    }

    #[test]
    fn decode_never_panics(raw in any::<String>()) {
        let _ = decode_header_value(&raw);
        let _ = decode_header_value(&format!("=?base64?{raw}?="));
    }
}
