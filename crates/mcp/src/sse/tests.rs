#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a panic is a test failure"
)]

use proptest::prelude::*;

use super::*;

fn ev(event: Option<&str>, data: &str, id: Option<&str>, retry: Option<u64>) -> SseEvent {
    SseEvent {
        event: event.map(str::to_owned),
        data: data.to_owned(),
        id: id.map(str::to_owned),
        retry,
    }
}

fn data(d: &str) -> SseEvent {
    ev(None, d, None, None)
}

/// Feeds `chunks` in order, collecting every event (also those delivered after an error).
fn decode_chunks<'a>(
    limit: usize,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<SseEvent>, usize) {
    let mut decoder = SseDecoder::new(limit);
    let (mut events, mut errors) = (Vec::new(), 0);
    for chunk in chunks.into_iter().chain([&[][..]]) {
        match decoder.feed(chunk) {
            Ok(batch) => events.extend(batch),
            Err(_) => errors += 1,
        }
    }
    (events, errors)
}

fn decode(input: &[u8]) -> Vec<SseEvent> {
    decode_chunks(1 << 20, [input]).0
}

#[test]
fn decodes_wire_cases() {
    let cases: Vec<(&str, &[u8], Vec<SseEvent>)> = vec![
        ("simple", b"data: hello\n\n", vec![data("hello")]),
        (
            "multi-line data",
            b"data: a\ndata: b\n\n",
            vec![data("a\nb")],
        ),
        (
            "CRLF, CR and LF",
            b"data: a\r\ndata: b\rdata: c\n\r\n",
            vec![data("a\nb\nc")],
        ),
        ("CR-only stream", b"data: x\r\r", vec![data("x")]),
        (
            "two events",
            b"data: 1\n\ndata: 2\n\n",
            vec![data("1"), data("2")],
        ),
        ("comment ignored", b": keep-alive\n\n", vec![]),
        (
            "comment inside event",
            b"data: a\n: note\ndata: b\n\n",
            vec![data("a\nb")],
        ),
        ("field without colon", b"data\n\n", vec![data("")]),
        ("two bare data fields", b"data\ndata\n\n", vec![data("\n")]),
        (
            "only one space stripped",
            b"data:  two\n\n",
            vec![data(" two")],
        ),
        ("no space after colon", b"data:none\n\n", vec![data("none")]),
        (
            "colon in value",
            b"data: {\"a\":1}\n\n",
            vec![data("{\"a\":1}")],
        ),
        (
            "event type",
            b"event: add\ndata: x\n\n",
            vec![ev(Some("add"), "x", None, None)],
        ),
        ("empty event type", b"event:\ndata: x\n\n", vec![data("x")]),
        ("no data, no id", b"event: x\n\n", vec![]),
        ("blank lines only", b"\n\n\r\n\r", vec![]),
        (
            "priming: id, no data",
            b"id: 42\n\n",
            vec![ev(None, "", Some("42"), None)],
        ),
        (
            "priming: id, empty data",
            b"id: 1\ndata:\n\n",
            vec![ev(None, "", Some("1"), None)],
        ),
        (
            "empty id",
            b"id\ndata: x\n\n",
            vec![ev(None, "x", Some(""), None)],
        ),
        (
            "id with NUL ignored",
            b"id: a\0b\ndata: x\n\n",
            vec![data("x")],
        ),
        (
            "id not carried over",
            b"id: 1\ndata: a\n\ndata: b\n\n",
            vec![ev(None, "a", Some("1"), None), data("b")],
        ),
        (
            "retry only",
            b"retry: 3000\n\n",
            vec![ev(None, "", None, Some(3000))],
        ),
        (
            "retry not digits",
            b"retry: 3a\ndata: x\n\n",
            vec![data("x")],
        ),
        ("retry empty", b"retry:\ndata: x\n\n", vec![data("x")]),
        (
            "retry overflow",
            b"retry: 99999999999999999999999\ndata: x\n\n",
            vec![data("x")],
        ),
        ("unknown field", b"foo: bar\ndata: x\n\n", vec![data("x")]),
        ("BOM stripped", b"\xEF\xBB\xBFdata: a\n\n", vec![data("a")]),
        (
            "second BOM kept",
            b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n",
            vec![],
        ),
        ("unterminated event dropped", b"data: x\n", vec![]),
        (
            "UTF-8 data",
            "data: héllo ✓\n\n".as_bytes(),
            vec![data("héllo ✓")],
        ),
    ];
    for (name, input, want) in cases {
        assert_eq!(decode(input), want, "{name}: whole");
        let bytes = input.iter().map(std::slice::from_ref);
        assert_eq!(
            decode_chunks(1 << 20, bytes).0,
            want,
            "{name}: byte by byte"
        );
    }
}

#[test]
fn crlf_split_across_chunks_is_one_line_break() {
    let (events, errors) = decode_chunks(64, [&b"data: a\r"[..], b"\ndata: b\r", b"\n\r", b"\n"]);
    assert_eq!((events, errors), (vec![data("a\nb")], 0));
    // A CR at the end of a chunk followed by another CR is two line breaks.
    let (events, _) = decode_chunks(64, [&b"data: a\r"[..], b"\r"]);
    assert_eq!(events, vec![data("a")]);
}

#[test]
fn bom_split_across_chunks() {
    let (events, _) = decode_chunks(64, [&b"\xEF"[..], b"\xBB", b"\xBFdata: a\n\n"]);
    assert_eq!(events, vec![data("a")]);
}

#[test]
fn oversized_event_is_an_error_and_skipped() {
    let mut decoder = SseDecoder::new(16);
    let input = b"data: ok\n\ndata: 0123456789abcdef\ndata: more\n\ndata: after\n\n";
    assert_eq!(
        decoder.feed(input),
        Err(SseError::EventTooLarge { limit: 16 })
    );
    // Events completed in the failing chunk are delivered by the next call.
    assert_eq!(decoder.feed(&[]), Ok(vec![data("ok"), data("after")]));
}

#[test]
fn event_limit_counts_all_lines() {
    // Each line fits, but the event as a whole does not.
    let (events, errors) = decode_chunks(12, [&b"data: 1234\ndata: 5678\n\ndata: z\n\n"[..]]);
    assert_eq!((events, errors), (vec![data("z")], 1));
}

#[test]
fn invalid_utf8_is_an_error_and_skips_the_event() {
    let mut decoder = SseDecoder::new(1024);
    let input = b"data: a\ndata: \xFF\ndata: b\n\ndata: c\n\n";
    assert_eq!(decoder.feed(input), Err(SseError::InvalidUtf8));
    assert_eq!(decoder.feed(&[]), Ok(vec![data("c")]));
}

#[test]
fn attack_flood_of_data_lines_without_blank_line_stays_bounded() {
    let limit = 1024;
    let mut decoder = SseDecoder::new(limit);
    let chunk = b"data: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n".repeat(64);
    let mut errors = 0;
    for _ in 0..1000 {
        match decoder.feed(&chunk) {
            Ok(events) => assert!(events.is_empty()),
            Err(e) => {
                assert_eq!(e, SseError::EventTooLarge { limit });
                errors += 1;
            }
        }
        assert!(decoder.pending.bytes() + decoder.line.len() <= limit);
        assert!(decoder.line.capacity() <= 2 * limit);
    }
    // One error for the one (endless) oversized event.
    assert_eq!(errors, 1);
    // The stream recovers at the next blank line.
    assert_eq!(decoder.feed(b"\ndata: ok\n\n"), Ok(vec![data("ok")]));
}

#[test]
fn attack_endless_line_without_terminator_stays_bounded() {
    let mut decoder = SseDecoder::new(4096);
    let chunk = vec![b'a'; 64 * 1024];
    assert!(decoder.feed(&chunk).is_err());
    for _ in 0..100 {
        assert_eq!(decoder.feed(&chunk), Ok(vec![]));
        assert!(decoder.line.capacity() <= 2 * 4096);
    }
}

#[test]
fn attack_comment_flood_is_not_buffered() {
    let mut decoder = SseDecoder::new(64);
    for _ in 0..10_000 {
        assert_eq!(decoder.feed(b": ping\n"), Ok(vec![]));
    }
    assert_eq!(decoder.feed(b"data: x\n\n"), Ok(vec![data("x")]));
}

#[test]
fn encodes_events() {
    let cases: Vec<(Option<&str>, Option<&str>, &str, &str)> = vec![
        (None, None, "{}", "data: {}\n\n"),
        (
            Some("message"),
            Some("7"),
            "x",
            "event: message\nid: 7\ndata: x\n\n",
        ),
        (None, Some("p1"), "", "id: p1\ndata:\n\n"),
        (
            None,
            None,
            "a\nb\r\nc\rd",
            "data: a\ndata: b\ndata: c\ndata: d\n\n",
        ),
        (None, None, "a\n", "data: a\ndata:\n\n"),
        (
            Some("bad\nevent"),
            Some("i\r\nd\0"),
            "x",
            "event: badevent\nid: id\ndata: x\n\n",
        ),
        (Some(""), None, "x", "data: x\n\n"),
    ];
    for (event, id, d, want) in cases {
        assert_eq!(
            encode_event(event, id, d),
            Bytes::from(want),
            "{event:?} {id:?} {d:?}"
        );
    }
    assert_eq!(
        encode_comment("keep-alive"),
        Bytes::from(": keep-alive\n\n")
    );
    assert_eq!(encode_comment(""), Bytes::from(":\n\n"));
    assert_eq!(encode_comment("a\nb"), Bytes::from(": a\n: b\n\n"));
    assert_eq!(encode_retry(1500), Bytes::from("retry: 1500\n\n"));
}

#[test]
fn encoded_keep_alive_and_retry_decode_as_expected() {
    let mut wire = encode_comment("ping\ndata: injected").to_vec();
    wire.extend_from_slice(&encode_retry(250));
    wire.extend_from_slice(&encode_event(None, Some("5"), ""));
    assert_eq!(
        decode(&wire),
        vec![ev(None, "", None, Some(250)), ev(None, "", Some("5"), None)]
    );
}

/// Fragments that exercise every branch of the line and field parser.
fn wire_fragment() -> impl Strategy<Value = &'static [u8]> {
    prop::sample::select(vec![
        &b"data: "[..],
        b"data:",
        b"data",
        b"event: e",
        b"id: 7",
        b"id",
        b"retry: 10",
        b"retry: x",
        b": comment",
        b"\n",
        b"\r",
        b"\r\n",
        b"\n\n",
        b"abc",
        b" ",
        b":",
        "é✓".as_bytes(),
        b"\xEF\xBB\xBF",
        b"\xFF",
        b"\0",
    ])
}

fn split_at_points(input: &[u8], mut points: Vec<usize>) -> Vec<&[u8]> {
    points.iter_mut().for_each(|p| *p %= input.len() + 1);
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for p in points {
        chunks.push(&input[start..p]);
        start = p;
    }
    chunks.push(&input[start..]);
    chunks
}

fn normalize_line_breaks(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

proptest! {
    #[test]
    fn same_events_under_any_split(
        fragments in prop::collection::vec(wire_fragment(), 0..60),
        points in prop::collection::vec(any::<usize>(), 0..12),
        limit in prop::sample::select(vec![4usize, 12, 40, 1 << 20]),
    ) {
        let input: Vec<u8> = fragments.concat();
        let whole = decode_chunks(limit, [&input[..]]).0;
        let split = decode_chunks(limit, split_at_points(&input, points)).0;
        let bytes = decode_chunks(limit, input.iter().map(std::slice::from_ref)).0;
        prop_assert_eq!(&whole, &split);
        prop_assert_eq!(&whole, &bytes);
    }

    #[test]
    fn encode_then_decode_roundtrips(
        event in prop::option::of(any::<String>()),
        id in prop::option::of(any::<String>()),
        d in prop_oneof![any::<String>(), "[a\r\n: ]{0,24}"],
        points in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let wire = encode_event(event.as_deref(), id.as_deref(), &d);
        let events = decode_chunks(1 << 20, split_at_points(&wire, points)).0;
        let want_event = event.map(|e| e.replace(['\r', '\n'], "")).filter(|e| !e.is_empty());
        let want_id = id.map(|i| i.replace(['\r', '\n', '\0'], ""));
        prop_assert_eq!(events, vec![SseEvent {
            event: want_event,
            data: normalize_line_breaks(&d),
            id: want_id,
            retry: None,
        }]);
    }
}
