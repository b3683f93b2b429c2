//! Request-line checks from seed 001's `suspicious_patterns` rule: path traversal in the
//! target and an oversized declared body.

use http::HeaderMap;
use http::header::CONTENT_LENGTH;

/// Percent-decoding rounds tried; catches double (`%252e`) and triple encoding.
const DECODE_ROUNDS: usize = 3;

/// Whether a request target (path and query, as sent) tries to climb directories:
/// a `..` segment (`../`, `..\`, trailing `/..`) after up to three rounds of
/// percent-decoding, `%2e%2e` and its mixed forms in any case, overlong UTF-8 dots
/// (`%c0%ae`) and `%u002e`.
pub fn is_traversal(target: &str) -> bool {
    // Every form needs a dot or a percent sign; most targets (`/mcp`) have neither.
    if !target.bytes().any(|b| b == b'.' || b == b'%') {
        return false;
    }
    let mut current = target.as_bytes().to_vec();
    for _ in 0..=DECODE_ROUNDS {
        if has_dot_dot_segment(&current) || has_encoded_dot_pair(&current) {
            return true;
        }
        match percent_decode(&current) {
            Some(next) => current = next,
            None => return false,
        }
    }
    has_dot_dot_segment(&current)
}

/// `..` between separators (`/`, `\`, or the start and end of the target or path).
fn has_dot_dot_segment(s: &[u8]) -> bool {
    let is_sep = |b: u8| matches!(b, b'/' | b'\\');
    let is_end = |b: u8| matches!(b, b'/' | b'\\' | b'?' | b'#' | b';');
    s.windows(2).enumerate().any(|(i, pair)| {
        pair == b".."
            && (i == 0 || s.get(i - 1).copied().is_some_and(is_sep))
            && s.get(i + 2).is_none_or(|&b| is_end(b))
    })
}

/// A dot written encoded next to another dot: `%2e%2e`, `.%2e`, `%2e.`, `%c0%ae`,
/// `%u002e`, in any case (seed 001 refuses `%2e%2e` anywhere in the target).
fn has_encoded_dot_pair(s: &[u8]) -> bool {
    let lower = s.to_ascii_lowercase();
    let mut normalized = Vec::with_capacity(lower.len());
    let mut i = 0;
    while i < lower.len() {
        let rest = &lower[i..];
        let encoded = [&b"%2e"[..], b"%c0%ae", b"%e0%80%ae", b"%u002e"]
            .into_iter()
            .find(|form| rest.starts_with(form));
        match encoded {
            Some(form) => {
                normalized.push(b'E'); // an encoded dot
                i += form.len();
            }
            None => {
                normalized.push(lower[i]);
                i += 1;
            }
        }
    }
    normalized
        .windows(2)
        .any(|w| matches!(w, b"EE" | b".E" | b"E."))
}

/// One round of percent-decoding; `None` when there was nothing to decode.
fn percent_decode(s: &[u8]) -> Option<Vec<u8>> {
    if !s.contains(&b'%') {
        return None;
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let decoded = match s.get(i..i + 3) {
            Some([b'%', hi, lo]) => hex(*hi).zip(hex(*lo)).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(s[i]);
                i += 1;
            }
        }
    }
    (out != s).then_some(out)
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// A `Content-Length` problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentLengthError {
    /// Over the configured maximum.
    TooLarge(u64),
    /// Not a number, or several different values (a request-smuggling sign).
    Malformed,
}

/// Checks the declared body size against `max`. No header (chunked bodies) passes: the
/// listener's body limit caps those while reading.
pub fn check_content_length(headers: &HeaderMap, max: u64) -> Result<(), ContentLengthError> {
    let mut declared: Option<u64> = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        let text = value.to_str().map_err(|_| ContentLengthError::Malformed)?;
        for part in text.split(',') {
            let part = part.trim();
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ContentLengthError::Malformed);
            }
            // All digits but too long for u64: certainly too large.
            let length = part.parse::<u64>().unwrap_or(u64::MAX);
            if declared.is_some_and(|d| d != length) {
                return Err(ContentLengthError::Malformed);
            }
            declared = Some(length);
        }
    }
    match declared {
        Some(length) if length > max => Err(ContentLengthError::TooLarge(length)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn traversal_variants_refused() {
        for target in [
            "/mcp/../etc/passwd",
            "/..",
            "..",
            "../x",
            "/a/..\\b",
            "/a\\..\\b",
            "/a/..?x=1",
            "/files?path=../../etc/passwd",
            "/%2e%2e/etc",
            "/%2E%2E/etc",
            "/%2e%2E%2fetc",
            "/.%2e/etc",
            "/%2e./etc",
            "/x%2e%2ey",
            "/%252e%252e/etc",
            "/%252E%252E%252F",
            "/%25252e%25252e/",
            "/..%2fetc",
            "/..%5cetc",
            "/..%252fetc",
            "/%c0%ae%c0%ae/etc",
            "/%C0%AE./",
            "/%u002e%u002e/",
        ] {
            assert!(is_traversal(target), "{target:?}");
        }
    }

    #[test]
    fn ordinary_targets_pass() {
        for target in [
            "/mcp",
            "/mcp?session=abc",
            "/a/b.c/d",
            "/a/...",
            "/a/..b",
            "/a/b..",
            "/v1.2/x",
            "/x?q=wait..",
            "/%2e/x",
            "/%2fa%2f",
            "/%zz%2",
            "",
            "%",
        ] {
            assert!(!is_traversal(target), "{target:?}");
        }
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(CONTENT_LENGTH, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn content_length() {
        let max = 10 * 1024 * 1024;
        assert_eq!(check_content_length(&headers(&[]), max), Ok(()));
        assert_eq!(check_content_length(&headers(&["10485760"]), max), Ok(()));
        assert_eq!(
            check_content_length(&headers(&["10485761"]), max),
            Err(ContentLengthError::TooLarge(10_485_761))
        );
        assert_eq!(
            check_content_length(&headers(&["99999999999999999999999"]), max),
            Err(ContentLengthError::TooLarge(u64::MAX))
        );
        assert_eq!(check_content_length(&headers(&["5, 5"]), max), Ok(()));
        assert_eq!(check_content_length(&headers(&["5", "5"]), max), Ok(()));
        for bad in [
            &["5, 6"][..],
            &["5", "6"],
            &["-1"],
            &["0x10"],
            &[""],
            &["1 2"],
        ] {
            assert_eq!(
                check_content_length(&headers(bad), max),
                Err(ContentLengthError::Malformed),
                "{bad:?}"
            );
        }
    }
}
