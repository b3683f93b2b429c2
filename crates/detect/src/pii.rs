//! Personal data: emails, phone numbers, payment cards (Luhn), IBANs (mod 97), US SSNs, UK
//! National Insurance numbers and Spanish DNIs (check letter). Spans are exact, for redaction.

use std::sync::LazyLock;

use regex::Regex;

use crate::decode::unreachable_regex;
use crate::finding::{Class, Finding, Severity};

fn re(p: &str) -> Regex {
    Regex::new(&crate::ruleset::ascii_boundaries(p)).unwrap_or_else(|e| unreachable_regex(&e))
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\b[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,24}\b")
});
/// Digit runs with the separators people write between groups.
static NUMBER: LazyLock<Regex> = LazyLock::new(|| re(r"(?:\+|\(|\b)\d[\d \-.()]{6,28}\d\b"));
static IBAN: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"));
static NINO: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"));
static DNI: LazyLock<Regex> = LazyLock::new(|| re(r"\b\d{8}-?[A-HJ-NP-TV-Z]\b"));

/// Where the digit-bearing patterns (`NUMBER`, `IBAN`, `NINO`, `DNI`) can match, from one pass
/// that only looks closely around digits: necessary conditions for each.
/// `NUMBER` needs a run of `[0-9 \-.()]` with 8+ bytes from a digit to a digit (its matches lie
/// in such runs, plus a leading `+`, so it is searched there only); `IBAN` two upper-case letters
/// right before two digits; `NINO` and `DNI` six digits in a run of `[0-9 ]`.
struct DigitGate {
    /// Runs of `[0-9 \-.()]` that may hold a `NUMBER` match.
    number_runs: Vec<std::ops::Range<usize>>,
    iban: bool,
    national: bool,
}

fn digit_gate(b: &[u8]) -> DigitGate {
    let is_num = |c: u8| c.is_ascii_digit() || matches!(c, b' ' | b'-' | b'.' | b'(' | b')');
    let mut gate = DigitGate {
        number_runs: Vec::new(),
        iban: false,
        national: false,
    };
    let mut i = 0;
    while i < b.len() {
        let Some(off) = b[i..].iter().position(u8::is_ascii_digit) else {
            break;
        };
        let first = i + off;
        if first >= 2
            && b[first - 1].is_ascii_uppercase()
            && b[first - 2].is_ascii_uppercase()
            && b.get(first + 1).is_some_and(u8::is_ascii_digit)
        {
            gate.iban = true;
        }
        let mut start = first;
        while start > i && is_num(b[start - 1]) {
            start -= 1;
        }
        let (mut end, mut last_digit, mut run_digits) = (first, first, 0usize);
        while end < b.len() && is_num(b[end]) {
            match b[end] {
                b'0'..=b'9' => {
                    last_digit = end;
                    run_digits += 1;
                    if run_digits >= 6 {
                        gate.national = true;
                    }
                }
                b' ' => {}
                _ => run_digits = 0,
            }
            end += 1;
        }
        if last_digit - first >= 7 {
            gate.number_runs.push(start..end);
        }
        i = end.max(first + 1);
    }
    gate
}

/// `NUMBER` matches inside the candidate runs, exactly as a search of the whole text finds
/// them: the search sees the byte before (a `+`, or a letter for `\b`) and the byte after.
fn number_matches(
    text: &str,
    runs: &[std::ops::Range<usize>],
    mut f: impl FnMut(regex::Match<'_>),
) {
    for run in runs {
        let mut lo = run.start.saturating_sub(1);
        while !text.is_char_boundary(lo) {
            lo -= 1;
        }
        let mut hi = (run.end + 1).min(text.len());
        while !text.is_char_boundary(hi) {
            hi += 1;
        }
        let hay = &text[..hi];
        let mut pos = lo;
        while pos <= hay.len() {
            let Some(m) = NUMBER.find_at(hay, pos) else {
                break;
            };
            pos = if m.is_empty() { m.end() + 1 } else { m.end() };
            f(m);
        }
    }
}

fn finding(id: &'static str, text: &str, r: std::ops::Range<usize>, path: &str) -> Finding {
    Finding::new(id, Class::Pii, Severity::Medium, 0.9)
        .with_excerpt(&text[r.clone()])
        .with_span(r)
        .at(path)
}

/// Every piece of personal data in `text`.
pub fn find_pii(text: &str, path: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    if bytes.contains(&b'@') {
        for m in EMAIL.find_iter(text) {
            out.push(finding("pii.email", text, m.range(), path));
        }
    }
    if bytes.iter().any(u8::is_ascii_digit) {
        let gate = digit_gate(bytes);
        number_matches(text, &gate.number_runs, |m| {
            if let Some(id) = classify_number(m.as_str()) {
                out.push(finding(id, text, m.range(), path));
            }
        });
        for (on, rx, id, check) in [
            (
                gate.iban,
                &*IBAN,
                "pii.iban",
                iban_valid as fn(&str) -> bool,
            ),
            (gate.national, &*NINO, "pii.uk_nino", |_: &str| true),
            (gate.national, &*DNI, "pii.es_dni", dni_valid),
        ] {
            if !on {
                continue;
            }
            for m in rx.find_iter(text) {
                if check(m.as_str())
                    && !out.iter().any(|f: &Finding| {
                        f.span
                            .as_ref()
                            .is_some_and(|s| s.start < m.end() && m.start() < s.end)
                    })
                {
                    out.push(finding(id, text, m.range(), path));
                }
            }
        }
    }
    out
}

/// Payment card, SSN or phone number, judged on shape and checksums.
fn classify_number(s: &str) -> Option<&'static str> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    let seps: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_digit()).collect();
    let uniform =
        seps.iter().all(|c| *c == b' ') || seps.iter().all(|c| *c == b'-') || seps.is_empty();
    if (13..=19).contains(&digits.len())
        && uniform
        && !s.contains(['(', '.', '+'])
        && card_prefix(&digits)
        && luhn(&digits)
    {
        return Some("pii.payment_card");
    }
    if digits.len() == 9 && is_ssn_shape(s) && ssn_valid(&digits) {
        return Some("pii.us_ssn");
    }
    if is_phone(s, digits.len()) {
        return Some("pii.phone");
    }
    None
}

fn card_prefix(d: &[u8]) -> bool {
    let p2 = d[0] * 10 + d[1];
    let p4 = u32::from(p2) * 100 + u32::from(d[2] * 10 + d[3]);
    d[0] == 4
        || (51..=55).contains(&p2)
        || (2221..=2720).contains(&p4)
        || p2 == 34
        || p2 == 37
        || p4 == 6011
        || p2 == 65
        || p2 == 35
        || p2 == 36
        || p2 == 38
}

/// The Luhn checksum used by payment cards.
pub fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn is_ssn_shape(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11 && b[3] == b'-' && b[6] == b'-'
}

fn ssn_valid(d: &[u8]) -> bool {
    let area = u32::from(d[0]) * 100 + u32::from(d[1]) * 10 + u32::from(d[2]);
    let group = d[3] * 10 + d[4];
    let serial = d[5..].iter().fold(0u32, |a, &x| a * 10 + u32::from(x));
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

fn is_phone(s: &str, n: usize) -> bool {
    let b = s.as_bytes();
    if b[0] == b'+' {
        // E.164: up to 15 digits, with some separator structure or a compact run.
        return (8..=15).contains(&n);
    }
    // North American shapes: (555) 123-4567, 555-123-4567, 555.123.4567.
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let nanp = regex_lite_nanp(&compact);
    n == 10 && nanp
}

fn regex_lite_nanp(s: &str) -> bool {
    let b = s.as_bytes();
    match b.len() {
        12 => {
            b[3] == b[7]
                && matches!(b[3], b'-' | b'.')
                && b.iter()
                    .enumerate()
                    .all(|(i, c)| i == 3 || i == 7 || c.is_ascii_digit())
        }
        13 => b[0] == b'(' && b[4] == b')' && b[8] == b'-',
        _ => false,
    }
}

/// ISO 13616 check: move the first four characters to the end, letters to numbers, mod 97 == 1.
pub fn iban_valid(s: &str) -> bool {
    let compact: Vec<u8> = s.bytes().filter(|b| *b != b' ').collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let rotated = compact[4..].iter().chain(&compact[..4]);
    let mut rem: u32 = 0;
    for &c in rotated {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// Spanish DNI: the letter is `TRWAGMYFPDXBNJZSQVHLCKE`[number mod 23].
pub fn dni_valid(s: &str) -> bool {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let Ok(n) = digits.parse::<u32>() else {
        return false;
    };
    let Some(letter) = s.chars().last() else {
        return false;
    };
    b"TRWAGMYFPDXBNJZSQVHLCKE"[(n % 23) as usize] == letter as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<&'static str> {
        find_pii(text, "").into_iter().map(|f| f.rule_id).collect()
    }

    #[test]
    fn email() {
        assert_eq!(ids("write to jane.doe@example.com today"), ["pii.email"]);
        assert!(ids("user@localhost and @mention").is_empty());
    }

    #[test]
    fn payment_card_needs_luhn_and_prefix() {
        assert_eq!(ids("card 4111 1111 1111 1111 exp"), ["pii.payment_card"]);
        assert_eq!(ids("card 5500-0000-0000-0004"), ["pii.payment_card"]);
        assert!(ids("card 4111 1111 1111 1112").is_empty());
        assert!(ids("order 1234567890123456").is_empty());
    }

    #[test]
    fn ssn_shape_and_ranges() {
        assert_eq!(ids("ssn 123-45-6789"), ["pii.us_ssn"]);
        assert!(ids("ssn 666-45-6789 or 123-00-6789").is_empty());
    }

    #[test]
    fn phone_numbers() {
        assert_eq!(ids("call +44 20 7946 0958"), ["pii.phone"]);
        assert_eq!(ids("call (555) 123-4567"), ["pii.phone"]);
        assert!(ids("version 2024-01-15 build 12").is_empty());
    }

    #[test]
    fn iban_mod97() {
        assert_eq!(ids("pay GB82 WEST 1234 5698 7654 32"), ["pii.iban"]);
        assert_eq!(ids("DE89370400440532013000"), ["pii.iban"]);
        assert!(ids("GB82 WEST 1234 5698 7654 33").is_empty());
    }

    #[test]
    fn national_ids() {
        assert_eq!(ids("NI number AB 12 34 56 C"), ["pii.uk_nino"]);
        assert_eq!(ids("DNI 12345678Z"), ["pii.es_dni"]);
        assert!(ids("DNI 12345678A").is_empty());
    }

    #[test]
    fn digit_gate_admits_every_shape() {
        for t in [
            "4111 1111 1111 1111",
            "(555) 123-4567",
            "+44 20 7946 0958",
            "GB82 WEST 1234",
            "AB 12 34 56 C",
            "12345678Z",
            "x 1.2.3.4.5 y",
            "é+1 555 123 4567é",
            "a1234567890 +1 555 123 4567b 9 9 9 9",
        ] {
            let g = digit_gate(t.as_bytes());
            let mut windowed = Vec::new();
            number_matches(t, &g.number_runs, |m| windowed.push(m.range()));
            assert_eq!(
                windowed,
                NUMBER.find_iter(t).map(|m| m.range()).collect::<Vec<_>>(),
                "{t}"
            );
            assert!(g.iban || !IBAN.is_match(t), "{t}");
            assert!(g.national || !(NINO.is_match(t) || DNI.is_match(t)), "{t}");
        }
        let g = digit_gate(b"grew 4% on Nov 21 10:00, id: 4211, v = (0..10)");
        assert!(g.number_runs.is_empty() && !g.iban && !g.national);
    }

    #[test]
    fn luhn_and_iban_helpers() {
        assert!(luhn(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 3]));
        assert!(!iban_valid("GB00"));
    }
}
