//! Runs the fuzz bodies (`sallyport_mcp::fuzzing`) over generated inputs on stable Rust, so
//! CI exercises the same invariants as the libFuzzer targets in `fuzz/` without nightly.
//!
//! Raise the case count with `PROPTEST_CASES=100000 cargo test -p sallyport-mcp --test fuzz_smoke`.

use proptest::prelude::*;
use sallyport_mcp::fuzzing;

/// Arbitrary bytes, plus inputs stitched from fragments the decoders care about, so that
/// short runs still reach the interesting branches. `seeded` puts a random first byte in
/// front (the SSE and framing bodies take their split point from it).
fn input(fragments: &'static [&'static str], seeded: bool) -> impl Strategy<Value = Vec<u8>> {
    let stitched = (
        any::<u8>(),
        prop::collection::vec(prop::sample::select(fragments), 0..40),
    )
        .prop_map(move |(seed, parts)| {
            let mut bytes = if seeded { vec![seed] } else { Vec::new() };
            bytes.extend(parts.concat().into_bytes());
            bytes
        });
    prop_oneof![prop::collection::vec(any::<u8>(), 0..512), stitched]
}

const JSON: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"jsonrpc\"",
    "\"2.0\"",
    "\"id\"",
    "\"method\"",
    "\"params\"",
    "\"result\"",
    "\"error\"",
    "\"code\"",
    "\"tools/call\"",
    "\"name\"",
    "1",
    "-7",
    "1e2",
    "0.1",
    "null",
    "true",
    "\"\\u00e9\"",
    "\"a\\nb\"",
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
    "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":{}}",
    "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-1,\"message\":\"m\"}}",
];
const SSE: &[&str] = &[
    "data: ",
    "data:",
    "data",
    "event: m",
    "id: 1",
    "id",
    "retry: 5",
    "retry: x",
    ": c",
    "\n",
    "\r",
    "\r\n",
    "\n\n",
    "abc",
    " ",
    ":",
    "é",
    "\u{FEFF}",
    "\0",
    "{\"jsonrpc\":\"2.0\"}",
];
const LINES: &[&str] = &[
    "{\"jsonrpc\":\"2.0\",\"method\":\"x\"}",
    "{}",
    "a",
    " ",
    "\t",
    "\r",
    "\n",
    "\r\n",
    "xxxxxxxxxxxxxxxx",
];
const HEADERS: &[&str] = &[
    "=?base64?",
    "?=",
    "YWRk",
    "ZXZpbA==",
    "SGVsbG8sIOS4lueVjA",
    "=",
    "add",
    "tools/call",
    "\n",
    " ",
    "\t",
    "é",
    "2026-07-28",
    "2025-11-25",
];

/// 2,000 cases per body unless `PROPTEST_CASES` says otherwise.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn envelope(data in input(JSON, false)) {
        fuzzing::envelope(&data);
    }

    #[test]
    fn sse(data in input(SSE, true)) {
        fuzzing::sse(&data);
    }

    #[test]
    fn framing(data in input(LINES, true)) {
        fuzzing::framing(&data);
    }

    #[test]
    fn headers(data in input(HEADERS, false)) {
        fuzzing::headers(&data);
    }
}
