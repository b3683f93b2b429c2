#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a panic is a test failure"
)]

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::{Body, Limits, RequestId, parse_body};

type Lines = Vec<Result<Vec<u8>, FrameError>>;

fn ok(line: &str) -> Result<Vec<u8>, FrameError> {
    Ok(line.as_bytes().to_vec())
}

/// Feeds `chunks` in order, then `finish`.
fn decode_chunks<'a>(
    limit: usize,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (Lines, Option<Vec<u8>>) {
    let mut decoder = LineDecoder::new(limit);
    let mut lines = Vec::new();
    for chunk in chunks {
        lines.extend(decoder.feed(chunk));
    }
    (lines, decoder.finish())
}

#[test]
fn splits_lines() {
    let too_long = Err(FrameError::LineTooLong { limit: 8 });
    let cases: Vec<(&str, &[u8], Lines, Option<&str>)> = vec![
        ("LF", b"a\nb\n", vec![ok("a"), ok("b")], None),
        ("CRLF", b"a\r\nb\r\n", vec![ok("a"), ok("b")], None),
        ("only one CR stripped", b"a\r\r\n", vec![ok("a\r")], None),
        ("lone CR is content", b"a\rb\n", vec![ok("a\rb")], None),
        ("blank lines skipped", b"\n\n  \n\t\r\n\r\n", vec![], None),
        ("inner spaces kept", b" {} \n", vec![ok(" {} ")], None),
        ("unterminated", b"a\nb", vec![ok("a")], Some("b")),
        ("unterminated with CR", b"b\r", vec![], Some("b")),
        ("unterminated blank", b"a\n  ", vec![ok("a")], None),
        (
            "exactly the limit",
            b"12345678\n",
            vec![ok("12345678")],
            None,
        ),
        (
            "limit plus CRLF",
            b"12345678\r\n",
            vec![ok("12345678")],
            None,
        ),
        (
            "one over the limit",
            b"123456789\nok\n",
            vec![too_long.clone(), ok("ok")],
            None,
        ),
        (
            "CR counts when not last",
            b"1234567\r8\n",
            vec![too_long.clone()],
            None,
        ),
        (
            "too long at EOF",
            b"123456789",
            vec![too_long.clone()],
            None,
        ),
        (
            "too long blank line",
            b"         \n",
            vec![too_long.clone()],
            None,
        ),
    ];
    for (name, input, want, want_rest) in cases {
        let want_rest = want_rest.map(|s| s.as_bytes().to_vec());
        let whole = decode_chunks(8, [input]);
        assert_eq!(whole, (want.clone(), want_rest.clone()), "{name}: whole");
        let bytes = decode_chunks(8, input.iter().map(std::slice::from_ref));
        assert_eq!(bytes, (want, want_rest), "{name}: byte by byte");
    }
}

#[test]
fn finish_resets_the_decoder() {
    let mut decoder = LineDecoder::new(4);
    assert_eq!(
        decoder.feed(b"123456"),
        vec![Err(FrameError::LineTooLong { limit: 4 })]
    );
    assert_eq!(decoder.finish(), None);
    assert_eq!(decoder.feed(b"ab\n"), vec![ok("ab")]);
    assert_eq!(decoder.feed(b"cd"), vec![]);
    assert_eq!(decoder.finish(), Some(b"cd".to_vec()));
    assert_eq!(decoder.finish(), None);
}

#[test]
fn attack_oversized_line_is_reported_once_and_never_buffered() {
    let limit = 1024;
    let mut decoder = LineDecoder::new(limit);
    let chunk = vec![b'x'; 64 * 1024];
    let mut errors = 0;
    for _ in 0..100 {
        errors += decoder.feed(&chunk).len();
        assert!(decoder.line.capacity() <= 2 * (limit + 1));
        assert!(decoder.line.is_empty());
    }
    assert_eq!(errors, 1);
    let msg = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    let mut next = b"tail\n".to_vec();
    next.extend_from_slice(msg);
    next.push(b'\n');
    assert_eq!(decoder.feed(&next), vec![Ok(msg.to_vec())]);
}

#[test]
fn attack_raw_newline_inside_json_string_splits_into_two_invalid_lines() {
    let raw = b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"add\nrm -rf\"}}\n";
    let lines = LineDecoder::new(1024).feed(raw);
    assert_eq!(lines.len(), 2);
    for line in lines {
        let line = line.expect("both halves fit the limit");
        assert!(parse_body(&line, &Limits::default()).is_err(), "{line:?}");
    }
}

#[test]
fn encode_line_escapes_newlines_and_roundtrips() {
    let params = json!({ "name": "a\nb\r\nc\u{2028}", "arguments": { "x": "\n" } });
    let msg = Message::request(RequestId::Number(1), "tools/call", Some(params));
    let line = encode_line(&msg);
    assert_eq!(line.last(), Some(&b'\n'));
    assert_eq!(
        line.iter().filter(|&&b| b == b'\n' || b == b'\r').count(),
        1
    );
    let lines = LineDecoder::new(1024).feed(&line);
    let [Ok(decoded)] = &lines[..] else {
        panic!("one line expected: {lines:?}")
    };
    assert_eq!(
        parse_body(decoded, &Limits::default()),
        Ok(Body::Single(msg))
    );
}

fn line_fragment() -> impl Strategy<Value = &'static [u8]> {
    prop::sample::select(vec![
        &b"{}"[..],
        b"a",
        b"xxxxxxx",
        b" ",
        b"\t",
        b"\r",
        b"\n",
        b"\r\n",
        b"\xFF",
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

proptest! {
    #[test]
    fn same_lines_under_any_split(
        fragments in prop::collection::vec(line_fragment(), 0..60),
        points in prop::collection::vec(any::<usize>(), 0..12),
        limit in prop::sample::select(vec![0usize, 1, 4, 9, 1 << 20]),
    ) {
        let input: Vec<u8> = fragments.concat();
        let whole = decode_chunks(limit, [&input[..]]);
        prop_assert_eq!(&whole, &decode_chunks(limit, split_at_points(&input, points)));
        prop_assert_eq!(&whole, &decode_chunks(limit, input.iter().map(std::slice::from_ref)));
        for line in whole.0.iter().flatten() {
            prop_assert!(line.len() <= limit && !line.contains(&b'\n'));
        }
    }

    #[test]
    fn encoded_messages_survive_framing(
        texts in prop::collection::vec(any::<String>(), 1..4),
        points in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let msgs: Vec<Message> = texts
            .iter()
            .map(|t| Message::notification("notifications/message", Some(json!({ "data": t }))))
            .collect();
        let wire: Vec<u8> = msgs.iter().flat_map(encode_line).collect();
        let (lines, rest) = decode_chunks(1 << 20, split_at_points(&wire, points));
        prop_assert_eq!(rest, None);
        let decoded: Vec<Body> = lines
            .into_iter()
            .map(|l| parse_body(&l.unwrap(), &Limits::default()).unwrap())
            .collect();
        prop_assert_eq!(decoded, msgs.into_iter().map(Body::Single).collect::<Vec<_>>());
    }
}
