//! Fuzz bodies shared by the libFuzzer targets in `fuzz/` and the stable smoke test in
//! `tests/fuzz_smoke.rs`. Not part of the API.
//!
//! Each function takes arbitrary bytes, must never panic on them, and asserts the
//! invariants of one decoder; an assertion failure is a bug.

use serde_json::json;

use crate::framing::{LineDecoder, encode_line};
use crate::headers::{decode_header_value, encode_header_value, validate_modern_headers};
use crate::sse::{SseDecoder, SseEvent, encode_event};
use crate::{Body, Limits, Message, RequestId, parse_body, parse_message, version};

/// Small limits so the fuzzer reaches the limit checks quickly.
const SMALL: Limits = Limits {
    max_bytes: 4096,
    max_depth: 16,
    max_batch: 8,
};
/// Room for re-serialised messages, which may be longer than the input (`1e2` → `100.0`).
const ROOMY: Limits = Limits {
    max_bytes: 1 << 20,
    max_depth: 16,
    max_batch: 8,
};

/// `parse_body` under small limits; every accepted message re-serialises to one line that
/// parses back to an equal message, and every rejection becomes a valid error response.
pub fn envelope(data: &[u8]) {
    match parse_body(data, &SMALL) {
        Ok(Body::Single(msg)) => assert_roundtrip(&msg),
        Ok(Body::Batch(msgs)) => {
            assert!(!msgs.is_empty() && msgs.len() <= SMALL.max_batch);
            msgs.iter().for_each(assert_roundtrip);
        }
        Err(error) => {
            let reply = error.to_message();
            assert_roundtrip(&reply);
            assert_eq!(reply.error_code(), Some(i64::from(error.jsonrpc_code())));
        }
    }
}

fn assert_roundtrip(msg: &Message) {
    let line = encode_line(msg);
    assert_eq!(
        line.iter().position(|&b| b == b'\n'),
        Some(line.len() - 1),
        "one line"
    );
    match parse_message(&line[..line.len() - 1], &ROOMY) {
        Ok(again) => assert_eq!(&again, msg, "re-parse differs"),
        Err(error) => panic!("re-serialised message rejected: {error}"),
    }
}

/// Splits `data` at a point taken from its first byte.
fn split(data: &[u8]) -> (&[u8], &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return (&[], &[]);
    };
    let at = usize::from(first) * rest.len() / 255;
    rest.split_at(at.min(rest.len()))
}

/// `SseDecoder` gives the same events whole and split; memory stays bounded; every event
/// re-encodes to itself.
pub fn sse(data: &[u8]) {
    const LIMIT: usize = 256;
    let (a, b) = split(data);
    let whole = sse_events(LIMIT, &[&[a, b].concat()]);
    let parts = sse_events(LIMIT, &[a, b]);
    assert_eq!(whole, parts, "split changed the events");
    for event in whole {
        let wire = encode_event(event.event.as_deref(), event.id.as_deref(), &event.data);
        let again = sse_events(usize::MAX, &[&wire]);
        assert_eq!(
            again,
            vec![SseEvent {
                retry: None,
                ..event
            }],
            "re-encoding changed it"
        );
    }
}

fn sse_events(limit: usize, chunks: &[&[u8]]) -> Vec<SseEvent> {
    let mut decoder = SseDecoder::new(limit);
    let mut events = Vec::new();
    for chunk in chunks.iter().copied().chain([&[][..]]) {
        if let Ok(batch) = decoder.feed(chunk) {
            events.extend(batch);
        }
        assert!(
            decoder.buffered_bytes() <= limit.max(2),
            "decoder grew past its limit"
        );
    }
    events
}

/// `LineDecoder` gives the same lines whole and split; no line is blank, over the limit or
/// contains `\n`; an accepted line re-encodes to one line.
pub fn framing(data: &[u8]) {
    const LIMIT: usize = 64;
    let (a, b) = split(data);
    let whole = frame(LIMIT, &[&[a, b].concat()]);
    assert_eq!(whole, frame(LIMIT, &[a, b]), "split changed the lines");
    for line in whole.0.iter().flatten().chain(whole.1.iter()) {
        assert!(line.len() <= LIMIT && !line.contains(&b'\n'));
        assert!(!line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')));
        if let Ok(Body::Single(msg)) = parse_body(line, &SMALL) {
            assert_roundtrip(&msg);
        }
    }
}

type Framed = (
    Vec<Result<Vec<u8>, crate::framing::FrameError>>,
    Option<Vec<u8>>,
);

fn frame(limit: usize, chunks: &[&[u8]]) -> Framed {
    let mut decoder = LineDecoder::new(limit);
    let lines = chunks
        .iter()
        .flat_map(|chunk| decoder.feed(chunk))
        .collect();
    (lines, decoder.finish())
}

/// Header values: decoding never panics, encoding always gives a header-safe value that
/// decodes back; `validate_modern_headers` accepts exactly the matching triple.
pub fn headers(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(decoded) = decode_header_value(text) {
        assert_eq!(
            decode_header_value(&encode_header_value(&decoded)),
            Ok(decoded.clone())
        );
    }
    let encoded = encode_header_value(text);
    assert!(
        encoded.bytes().all(|b| (b' '..=b'~').contains(&b)),
        "unsafe header value"
    );
    assert_eq!(decode_header_value(&encoded).as_deref(), Ok(text));

    let mut parts = text.splitn(3, '\n');
    let (method, name, version) = (parts.next(), parts.next(), parts.next());
    let meta = json!({ version::META_PROTOCOL_VERSION: version::MODERN });
    let msg = Message::request(
        RequestId::Number(1),
        "tools/call",
        Some(json!({ "name": "add", "_meta": meta })),
    );
    let accepted = validate_modern_headers(method, name, version, &msg).is_ok();
    let expected = method == Some("tools/call")
        && name.map(decode_header_value) == Some(Ok("add".to_owned()))
        && version.is_none_or(|v| v == version::MODERN);
    assert_eq!(accepted, expected, "{method:?} {name:?} {version:?}");
}
