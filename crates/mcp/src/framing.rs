//! Newline-delimited JSON framing for stdio.
//!
//! Each message is one line of compact JSON ended by `\n` ("Messages are delimited by
//! newlines, and MUST NOT contain embedded newlines"). [`LineDecoder`] splits a byte stream
//! into lines with bounded memory; [`encode_line`] writes one message.
//!
//! ```
//! use sallyport_mcp::framing::LineDecoder;
//! let mut decoder = LineDecoder::new(1024);
//! let lines = decoder.feed(b"{\"a\":1}\r\n\n{\"b\"");
//! assert_eq!(lines, vec![Ok(b"{\"a\":1}".to_vec())]);
//! assert_eq!(decoder.feed(b":2}\n"), vec![Ok(b"{\"b\":2}".to_vec())]);
//! ```

use thiserror::Error;

use crate::Message;

/// Why a line could not be framed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// A line is longer than the configured limit; the line was discarded.
    #[error("line exceeds the limit of {limit} bytes")]
    LineTooLong {
        /// The limit configured.
        limit: usize,
    },
}

/// Splits a byte stream into lines, never buffering more than the limit (plus one chunk).
#[derive(Debug)]
pub struct LineDecoder {
    max_line_bytes: usize,
    /// The current, unterminated line.
    line: Vec<u8>,
    /// The current line was too long: skip it up to the next `\n`.
    discarding: bool,
}

impl LineDecoder {
    /// A decoder that rejects lines longer than `max_line_bytes` (not counting `\r\n` or `\n`).
    pub fn new(max_line_bytes: usize) -> Self {
        Self {
            max_line_bytes,
            line: Vec::new(),
            discarding: false,
        }
    }

    /// Split on '\n' (strip a trailing '\r'); skip empty/whitespace-only lines; a line longer than the limit yields one Err and the rest of that line is discarded up to the next '\n' without buffering it.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Result<Vec<u8>, FrameError>> {
        let mut out = Vec::new();
        let mut rest = chunk;
        while !rest.is_empty() {
            let (part, terminated) = match rest.iter().position(|&b| b == b'\n') {
                Some(at) => {
                    let part = &rest[..at];
                    rest = &rest[at + 1..];
                    (part, true)
                }
                None => (std::mem::take(&mut rest), false),
            };
            if !self.discarding {
                if self.too_long_with(part) {
                    self.line.clear();
                    self.discarding = true;
                    out.push(Err(FrameError::LineTooLong {
                        limit: self.max_line_bytes,
                    }));
                } else {
                    self.line.extend_from_slice(part);
                }
            }
            if terminated {
                if self.discarding {
                    self.discarding = false;
                } else if let Some(line) = self.take_line() {
                    out.push(Ok(line));
                }
            }
        }
        out
    }

    /// Bytes of an unterminated last line at EOF (if any, non-empty).
    ///
    /// Whitespace-only content gives `None`, as does a last line already reported too long.
    /// The decoder is reset and can be reused.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        let discarding = std::mem::replace(&mut self.discarding, false);
        let line = self.take_line();
        if discarding { None } else { line }
    }

    /// True when the buffered bytes plus `part` exceed the limit, allowing for a last `\r`
    /// that may turn out to be the one before `\n`. Checked before buffering `part`.
    fn too_long_with(&self, part: &[u8]) -> bool {
        let len = self.line.len() + part.len();
        let last = part.last().or(self.line.last());
        len > self.max_line_bytes && !(len - 1 == self.max_line_bytes && last == Some(&b'\r'))
    }

    /// The buffered line without its `\r`, or `None` when it is blank; clears the buffer.
    fn take_line(&mut self) -> Option<Vec<u8>> {
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        if self.line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
            self.line.clear();
            return None;
        }
        Some(std::mem::take(&mut self.line))
    }
}

/// Encodes one message as compact JSON followed by `\n`.
///
/// serde_json escapes control characters inside strings, so the output never contains a raw
/// newline before the final one.
pub fn encode_line(msg: &Message) -> Vec<u8> {
    let mut line = msg.to_bytes();
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests;
