//! Server-Sent Events: an incremental decoder and an encoder.
//!
//! The decoder follows the WHATWG "event stream" parsing rules
//! (<https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation>)
//! with three deliberate differences for a gateway that relays events rather than displaying
//! them:
//!
//! - A block with no `data` line is still dispatched when it sets an `id` (the MCP "priming"
//!   event) or a `retry`, so the relay can forward them; a block with none of the three is not.
//! - [`SseEvent::id`] is the `id` set in that event's own block, not the "last event ID" that
//!   a browser carries over, so re-encoding reproduces the stream.
//! - Invalid UTF-8 is an error instead of being replaced with U+FFFD, and memory is bounded:
//!   an event larger than the configured limit is an error and is skipped.
//!
//! ```
//! use sallyport_mcp::sse::{SseDecoder, encode_event};
//! let wire = encode_event(Some("message"), Some("7"), "{\"jsonrpc\":\"2.0\"}");
//! let mut decoder = SseDecoder::new(1024);
//! let events = decoder.feed(&wire).unwrap();
//! assert_eq!(events[0].data, "{\"jsonrpc\":\"2.0\"}");
//! assert_eq!(events[0].id.as_deref(), Some("7"));
//! ```

use bytes::Bytes;
use thiserror::Error;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One dispatched event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event` field; `None` when absent or empty (the default type, `message`).
    pub event: Option<String>,
    /// The `data` lines joined with `\n`; empty for a priming or retry-only event.
    pub data: String,
    /// The `id` field set in this event's block, if any (not carried over from earlier events).
    pub id: Option<String>,
    /// The `retry` field in milliseconds, if this block set a valid one.
    pub retry: Option<u64>,
}

/// Why a stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SseError {
    /// An event (or one line of it) is larger than the configured limit; it was skipped.
    #[error("server-sent event exceeds the limit of {limit} bytes")]
    EventTooLarge {
        /// The limit configured.
        limit: usize,
    },
    /// A line is not valid UTF-8; the event containing it was skipped.
    #[error("server-sent event stream is not valid UTF-8")]
    InvalidUtf8,
}

/// An incremental event-stream decoder with bounded memory.
///
/// Feed it chunks split anywhere (also between `\r` and `\n`); it returns each event once its
/// terminating blank line has arrived. An event still pending at end of stream is discarded,
/// as the WHATWG rules say.
///
/// When a chunk contains an event that is too large or not UTF-8, [`SseDecoder::feed`] returns
/// the error, skips that event up to its blank line, and keeps decoding. Events completed in
/// the same chunk are kept and returned by the next call (`feed(&[])` drains them).
#[derive(Debug)]
pub struct SseDecoder {
    max_event_bytes: usize,
    /// The current, unterminated line (not kept while discarding).
    line: Vec<u8>,
    /// The previous chunk ended with `\r`: a leading `\n` in the next chunk belongs to it.
    skip_lf: bool,
    /// The start of the stream has been checked for a byte order mark.
    bom_checked: bool,
    /// Skipping the rest of an event that failed; ends at the next blank line.
    discarding: bool,
    /// While discarding: the current line has at least one byte.
    discard_line_has_bytes: bool,
    pending: Pending,
    /// Events completed in a chunk that also produced an error.
    ready: Vec<SseEvent>,
}

/// The fields of the event being assembled.
#[derive(Debug, Default)]
struct Pending {
    event: String,
    data: String,
    has_data: bool,
    id: Option<String>,
    retry: Option<u64>,
}

impl Pending {
    fn bytes(&self) -> usize {
        self.event.len() + self.data.len() + self.id.as_ref().map_or(0, String::len)
    }

    /// Applies one field line (not empty, not a comment).
    fn apply(&mut self, line: &str) {
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => value.clone_into(&mut self.event),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                // Too many digits for a u64 is ignored like any other invalid value.
                if let Ok(ms) = value.parse() {
                    self.retry = Some(ms);
                }
            }
            _ => {}
        }
    }

    /// The finished event, if the block is worth dispatching; resets the buffers either way.
    fn take(&mut self) -> Option<SseEvent> {
        let done = std::mem::take(self);
        if !done.has_data && done.id.is_none() && done.retry.is_none() {
            return None;
        }
        let mut data = done.data;
        if data.ends_with('\n') {
            data.pop();
        }
        let event = (!done.event.is_empty()).then_some(done.event);
        Some(SseEvent {
            event,
            data,
            id: done.id,
            retry: done.retry,
        })
    }
}

// === impl SseDecoder ===

impl SseDecoder {
    /// A decoder that rejects events whose fields (or any single line) exceed `max_event_bytes`.
    pub fn new(max_event_bytes: usize) -> Self {
        Self {
            max_event_bytes,
            line: Vec::new(),
            skip_lf: false,
            bom_checked: false,
            discarding: false,
            discard_line_has_bytes: false,
            pending: Pending::default(),
            ready: Vec::new(),
        }
    }

    /// Feed a chunk of bytes (arbitrary split points, including inside "\r\n"), get the complete events.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut out = std::mem::take(&mut self.ready);
        let mut first_error = None;
        let mut rest = chunk;
        if self.skip_lf && !rest.is_empty() {
            self.skip_lf = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        while !rest.is_empty() {
            let Some(at) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                self.absorb(rest, &mut first_error);
                break;
            };
            self.absorb(&rest[..at], &mut first_error);
            let was_cr = rest[at] == b'\r';
            rest = &rest[at + 1..];
            if was_cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
            self.end_line(&mut out, &mut first_error);
        }
        match first_error {
            Some(error) => {
                self.ready = out;
                Err(error)
            }
            None => Ok(out),
        }
    }

    /// Bytes currently buffered for the pending event and line (for memory-bound checks).
    #[doc(hidden)]
    pub fn buffered_bytes(&self) -> usize {
        self.pending.bytes() + self.line.len()
    }

    /// Appends bytes of the current line, enforcing the size limit before buffering them.
    fn absorb(&mut self, mut part: &[u8], first_error: &mut Option<SseError>) {
        if part.is_empty() {
            return;
        }
        if self.discarding {
            self.discard_line_has_bytes = true;
            return;
        }
        if !self.bom_checked {
            // The first line's first three bytes decide whether the stream starts with a BOM.
            let take = (BOM.len() - self.line.len()).min(part.len());
            self.line.extend_from_slice(&part[..take]);
            part = &part[take..];
            if self.line.len() < BOM.len() {
                return;
            }
            self.bom_checked = true;
            if self.line.starts_with(BOM) {
                self.line.clear();
            }
        }
        if self.pending.bytes() + self.line.len() + part.len() > self.max_event_bytes {
            self.fail(
                SseError::EventTooLarge {
                    limit: self.max_event_bytes,
                },
                first_error,
            );
            self.discard_line_has_bytes = true;
            return;
        }
        self.line.extend_from_slice(part);
    }

    /// Handles a line terminator.
    fn end_line(&mut self, out: &mut Vec<SseEvent>, first_error: &mut Option<SseError>) {
        if !self.bom_checked {
            // A first line of under three bytes skipped the size check in `absorb`.
            self.bom_checked = true;
            if self.line.len() > self.max_event_bytes {
                self.fail(
                    SseError::EventTooLarge {
                        limit: self.max_event_bytes,
                    },
                    first_error,
                );
                self.discard_line_has_bytes = false;
                return;
            }
        }
        if self.discarding {
            if !self.discard_line_has_bytes {
                self.discarding = false;
            }
            self.discard_line_has_bytes = false;
            return;
        }
        if self.line.is_empty() {
            out.extend(self.pending.take());
            return;
        }
        match std::str::from_utf8(&self.line) {
            Ok(line) if line.starts_with(':') => {}
            Ok(line) => self.pending.apply(line),
            Err(_) => {
                self.fail(SseError::InvalidUtf8, first_error);
                self.discard_line_has_bytes = false;
            }
        }
        self.line.clear();
    }

    /// Drops the current event and skips to its end.
    fn fail(&mut self, error: SseError, first_error: &mut Option<SseError>) {
        first_error.get_or_insert(error);
        self.pending = Pending::default();
        self.line.clear();
        self.discarding = true;
    }
}

// === encoding ===

/// Encodes one event; multi-line data becomes several `data:` lines, and a blank line ends it.
///
/// Line breaks in `data` may be `\n`, `\r\n` or `\r`; the decoder gives them back as `\n`.
/// Characters that would break the framing (`\r`, `\n`, and NUL in an id) are removed from
/// `event` and `id`; an empty `event` is omitted.
pub fn encode_event(event: Option<&str>, id: Option<&str>, data: &str) -> Bytes {
    let mut out = String::with_capacity(data.len() + 32);
    if let Some(event) = event
        .map(|e| strip(e, &['\r', '\n']))
        .filter(|e| !e.is_empty())
    {
        push_field(&mut out, "event", &event);
    }
    if let Some(id) = id {
        push_field(&mut out, "id", &strip(id, &['\r', '\n', '\0']));
    }
    for line in split_lines(data) {
        push_field(&mut out, "data", line);
    }
    out.push('\n');
    Bytes::from(out)
}

/// Encodes a comment, used as a keep-alive: `": text\n\n"` (one `:` line per line of `text`).
pub fn encode_comment(text: &str) -> Bytes {
    let mut out = String::with_capacity(text.len() + 4);
    for line in split_lines(text) {
        out.push(':');
        if !line.is_empty() {
            out.push(' ');
            out.push_str(line);
        }
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

/// Encodes a `retry` field telling the client how long to wait before reconnecting.
pub fn encode_retry(millis: u64) -> Bytes {
    Bytes::from(format!("retry: {millis}\n\n"))
}

fn push_field(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push(':');
    if !value.is_empty() {
        out.push(' ');
        out.push_str(value);
    }
    out.push('\n');
}

fn strip(value: &str, bad: &[char]) -> String {
    value.chars().filter(|c| !bad.contains(c)).collect()
}

/// Splits on `\r\n`, `\n` and `\r`; always yields at least one (possibly empty) line.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.find(['\r', '\n']) {
            Some(at) => {
                let skip = if current[at..].starts_with("\r\n") {
                    2
                } else {
                    1
                };
                rest = Some(&current[at + skip..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

#[cfg(test)]
mod tests;
