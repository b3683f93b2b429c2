//! Error sanitising for messages that leave the gateway (seed 003's `sanitizeError`): drop
//! stack traces, replace file paths and internal addresses, redact secrets, bound the length.

use std::sync::LazyLock;

use regex::Regex;

use crate::decode::unreachable_regex;
use crate::secrets::find_secrets;
use crate::ssrf::classify_ip;

/// Longest sanitised message, in characters.
const MAX_CHARS: usize = 300;

fn re(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| unreachable_regex(&e))
}

static TRACE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?m)^\s*(?:at\s+\S+.*|File\s+\x22[^\x22]+\x22,\s+line\s+\d+.*|Traceback \(most recent call last\):.*|\d+:\s+0x[0-9a-f]+.*|\d+:\s+[\w:<>]+::.*|stack backtrace:.*|note: run with `RUST_BACKTRACE.*|thread '.*' panicked at.*|Caused by:.*|\.\.\. \d+ more)\s*$",
    )
});
static PATH: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?:[A-Za-z]:\\(?:[^\\\s"'<>|:]+\\)*[^\\\s"'<>|:,;)]*|(?:~|\.{1,2})?/(?:[\w.@+-]+/)+[\w.@+-]*|/(?:home|usr|var|etc|opt|srv|tmp|root|Users|app|proc)\b[^\s"',;)]*)"#,
    )
});
static IPV4: LazyLock<Regex> = LazyLock::new(|| re(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"));
static INTERNAL_HOST: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:localhost|[\w-]+(?:\.[\w-]+)*\.(?:internal|local|lan|corp|intranet|svc|cluster\.local))(?::\d+)?\b",
    )
});

/// The seed's categories: a stable code for the error family.
pub fn error_category(text: &str) -> &'static str {
    let t = text.to_ascii_lowercase();
    if t.contains("database") || t.contains("sql") {
        "DATABASE_ERROR"
    } else if t.contains("authentication") || t.contains("token") || t.contains("unauthorized") {
        "AUTH_ERROR"
    } else {
        "GENERAL_ERROR"
    }
}

/// A version of `text` safe to show a client: no stack frames, paths, internal addresses or
/// secrets, at most 300 characters.
pub fn sanitize_error(text: &str) -> String {
    let mut s = TRACE_LINE.replace_all(text, "").into_owned();
    let mut secrets = find_secrets(&s, "");
    secrets.sort_by_key(|f| std::cmp::Reverse(f.span.as_ref().map_or(0, |r| r.start)));
    for f in secrets {
        if let Some(r) = f.span.clone() {
            s.replace_range(r, &format!("[REDACTED:{}]", f.redaction_label()));
        }
    }
    let s = PATH.replace_all(&s, "<path>");
    let s = IPV4.replace_all(&s, |c: &regex::Captures<'_>| {
        let ip = c[0].split(':').next().and_then(|h| h.parse().ok());
        match ip {
            Some(ip) if !classify_ip(ip).is_internal() => c[0].to_owned(),
            _ => "<internal>".to_owned(),
        }
    });
    let s = INTERNAL_HOST.replace_all(&s, "<internal>");
    let collapsed: String = s
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if collapsed.chars().count() > MAX_CHARS {
        collapsed
            .chars()
            .take(MAX_CHARS)
            .chain(std::iter::once('…'))
            .collect()
    } else {
        collapsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_traces_paths_and_addresses() {
        let raw = "Error: ENOENT: no such file '/home/alice/app/config.yaml'\n    at Object.openSync (node:fs:573:3)\n    at main (/srv/app/index.js:10:5)\nconnect ECONNREFUSED 10.0.3.7:5432 via db.prod.internal:5432";
        let s = sanitize_error(raw);
        assert!(!s.contains("alice"), "{s}");
        assert!(!s.contains("openSync"), "{s}");
        assert!(!s.contains("10.0.3.7"), "{s}");
        assert!(!s.contains("db.prod.internal"), "{s}");
        assert!(s.contains("ENOENT"), "{s}");
    }

    #[test]
    fn python_and_rust_traces_and_secrets() {
        let raw = "Traceback (most recent call last):\n  File \"/usr/lib/x.py\", line 3, in f\nValueError: bad key ghp_abcdefghijklmnopqrstuvwxyz0123456789";
        let s = sanitize_error(raw);
        assert_eq!(s, "ValueError: bad key [REDACTED:github_token]");
        assert_eq!(error_category("SQL syntax error near"), "DATABASE_ERROR");
        assert_eq!(error_category("token expired"), "AUTH_ERROR");
        assert_eq!(error_category("disk full"), "GENERAL_ERROR");
    }

    #[test]
    fn public_addresses_stay_and_length_is_bounded() {
        assert!(sanitize_error("upstream 8.8.8.8 timed out").contains("8.8.8.8"));
        assert!(sanitize_error(&"x".repeat(1000)).chars().count() <= MAX_CHARS + 1);
    }
}
