//! One line of a blocklist file, in the common formats:
//!
//! | format | example line |
//! |---|---|
//! | plain | `192.0.2.7`, `2001:db8::/32` |
//! | comments | `# header`, `; header`, `192.0.2.0/24 # trailing` |
//! | Spamhaus DROP/EDROP | `192.0.2.0/24 ; SBL123456` |
//! | FireHOL netset | `192.0.2.0/24` (with `#` headers) |
//! | ipsum / counts | `192.0.2.7\t5` (extra columns ignored) |
//! | ranges | `192.0.2.10-192.0.2.20`, `192.0.2.10 - 192.0.2.20` |
//! | DShield block list | `192.0.2.0\t192.0.2.255\t24\t…` (start and end columns) |
//! | hosts | `0.0.0.0 192.0.2.7` (address taken); `0.0.0.0 bad.example` (skipped: a name) |

use std::net::IpAddr;

use crate::ipset::{EntryError, IpRange};

/// What one line held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    /// An address, block or range.
    Entry(IpRange),
    /// Blank or comment only.
    Empty,
    /// A hosts-style line naming a host rather than an address; not an error.
    Skipped,
}

/// Parses one line (without its line ending).
pub(crate) fn parse_line(line: &str) -> Result<Line, EntryError> {
    let data = line.find(['#', ';']).map_or(line, |cut| &line[..cut]);
    let tokens: Vec<&str> = data.split_whitespace().take(3).collect();
    match tokens.as_slice() {
        [] => Ok(Line::Empty),
        [a, "-", b, ..] => IpRange::between(ip(a)?, ip(b)?).map(Line::Entry),
        [first, second, ..] => two_columns(first, second),
        [only] => only.parse().map(Line::Entry),
    }
}

fn two_columns(first: &str, second: &str) -> Result<Line, EntryError> {
    let Ok(first_ip) = first.parse::<IpAddr>() else {
        // `cidr count` or `range comment`: the first column is the entry.
        return first.parse().map(Line::Entry);
    };
    if is_hosts_sink(first_ip) {
        return match second.parse::<IpRange>() {
            Ok(range) => Ok(Line::Entry(range)),
            Err(_) if looks_like_host_name(second) => Ok(Line::Skipped),
            Err(error) => Err(error),
        };
    }
    match second.parse::<IpAddr>() {
        // DShield: `start end netblock …`.
        Ok(end) => IpRange::between(first_ip, end).map(Line::Entry),
        Err(_) => Ok(Line::Entry(IpRange::single(first_ip))),
    }
}

/// The addresses hosts-file blocklists point names at.
fn is_hosts_sink(ip: IpAddr) -> bool {
    ip.is_unspecified() || ip.is_loopback()
}

fn looks_like_host_name(s: &str) -> bool {
    s.contains(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn ip(s: &str) -> Result<IpAddr, EntryError> {
    s.parse().map_err(|_| EntryError::Syntax)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(s: &str) -> Line {
        Line::Entry(s.parse().unwrap())
    }

    #[test]
    fn formats() {
        let cases = [
            ("192.0.2.7", entry("192.0.2.7")),
            ("  2001:db8::/32  ", entry("2001:db8::/32")),
            ("# FireHOL header", Line::Empty),
            ("; Spamhaus header", Line::Empty),
            ("", Line::Empty),
            ("\t", Line::Empty),
            ("192.0.2.0/24 ; SBL123456", entry("192.0.2.0/24")),
            ("192.0.2.0/24 # trailing", entry("192.0.2.0/24")),
            ("192.0.2.0/24;SBL1", entry("192.0.2.0/24")),
            ("192.0.2.7\t5", entry("192.0.2.7")),
            ("192.0.2.10-192.0.2.20", entry("192.0.2.10-192.0.2.20")),
            ("192.0.2.10 - 192.0.2.20", entry("192.0.2.10-192.0.2.20")),
            ("192.0.2.0\t192.0.2.255\t24\t1234", entry("192.0.2.0/24")),
            ("0.0.0.0 192.0.2.7", entry("192.0.2.7")),
            ("127.0.0.1 bad.example.com", Line::Skipped),
            (":: 2001:db8::1", entry("2001:db8::1")),
            ("0.0.0.0", entry("0.0.0.0")),
        ];
        for (line, want) in cases {
            assert_eq!(parse_line(line), Ok(want), "{line:?}");
        }
    }

    #[test]
    fn invalid() {
        for line in [
            "bad.example",
            "192.0.2.300",
            "10.0.0.0/40",
            "0.0.0.0 ???",
            "1.2.3.4-",
        ] {
            assert!(parse_line(line).is_err(), "{line:?}");
        }
    }
}
