//! Which token windows of a text tier 3 embeds.
//!
//! A window is at most [`WINDOW_TOKENS`] tokens including `[CLS]` and `[SEP]` (the sequence
//! length all-MiniLM-L6-v2 was trained with). Windows overlap by 62 tokens so that a sentence
//! cut by one window boundary is whole in the next. **Cap:** at most [`HEAD_WINDOWS`] windows
//! from the start and [`TAIL_WINDOWS`] from the end of a text are embedded — about 6 KB and
//! 2 KB of English prose — because each window costs a transformer pass; what lies between is
//! left to tiers 1 and 2, which read everything. The text itself is cut to
//! [`MAX_TEXT_BYTES`] (head and tail) before tokenising, which bounds tokenizer time.

use std::ops::Range;

/// Tokens per window including `[CLS]` and `[SEP]`.
pub const WINDOW_TOKENS: usize = 256;
const CONTENT_TOKENS: usize = WINDOW_TOKENS - 2;
const STRIDE: usize = 192;
/// Windows taken from the start of a long text.
pub const HEAD_WINDOWS: usize = 6;
/// Windows taken from the end of a long text.
pub const TAIL_WINDOWS: usize = 2;
/// Bytes of a text tokenised at most (three quarters from the head, a quarter from the tail).
pub const MAX_TEXT_BYTES: usize = 16 * 1024;

/// Ranges of content-token indices (special tokens not included) to embed for a text of `n`
/// tokens: none for an empty text, at most `HEAD_WINDOWS + TAIL_WINDOWS`.
pub fn windows(n: usize) -> Vec<Range<usize>> {
    let mut all = Vec::new();
    let mut start = 0;
    while start < n {
        let end = (start + CONTENT_TOKENS).min(n);
        all.push(start..end);
        if end == n {
            break;
        }
        start += STRIDE;
    }
    if all.len() <= HEAD_WINDOWS + TAIL_WINDOWS {
        return all;
    }
    let tail_from = all.len() - TAIL_WINDOWS;
    let mut kept: Vec<Range<usize>> = all[..HEAD_WINDOWS].to_vec();
    kept.extend_from_slice(&all[tail_from..]);
    kept
}

/// Head and tail of `text` within [`MAX_TEXT_BYTES`], cut at character boundaries (as tier 2
/// bounds what it reads).
pub fn bounded(text: &str) -> std::borrow::Cow<'_, str> {
    crate::result::bounded(text, MAX_TEXT_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_make_one_window_and_empty_none() {
        assert!(windows(0).is_empty());
        assert_eq!(windows(10), vec![0..10]);
        assert_eq!(windows(254), vec![0..254]);
        assert_eq!(windows(255), vec![0..254, 192..255]);
    }

    #[test]
    fn long_texts_keep_head_and_tail_windows_only() {
        let w = windows(100_000);
        assert_eq!(w.len(), HEAD_WINDOWS + TAIL_WINDOWS);
        assert_eq!(w[0], 0..254);
        assert_eq!(w.last().map(|r| r.end), Some(100_000));
        assert!(w.iter().all(|r| r.len() <= WINDOW_TOKENS - 2));
    }

    #[test]
    fn bounded_keeps_head_and_tail() {
        let text = format!(
            "{}{}{}",
            "a".repeat(20_000),
            "é".repeat(10),
            "z".repeat(9_000)
        );
        let b = bounded(&text);
        assert!(b.len() <= MAX_TEXT_BYTES + 1);
        assert!(b.starts_with('a') && b.ends_with('z'));
        assert_eq!(bounded("short"), "short");
    }
}
