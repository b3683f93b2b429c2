//! Parsers for `X-Forwarded-For` and RFC 7239 `Forwarded`. They never panic and reject
//! anything they do not understand; the caller then falls back to the TCP peer.

use std::borrow::Cow;
use std::net::IpAddr;

/// One hop of a forwarding chain, left (client side) to right (nearest proxy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hop {
    /// A usable address.
    Addr(IpAddr),
    /// `for=unknown`, an obfuscated node (`for=_hidden`) or an element without `for`.
    Unknown,
}

/// Parses an `X-Forwarded-For` value (`client, proxy1, proxy2`) into `hops`.
/// Entries may carry ports (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
pub(crate) fn parse_xff(value: &str, hops: &mut Vec<Hop>) -> Result<(), ()> {
    for item in value.split(',') {
        let item = item.trim_matches([' ', '\t']);
        if item.is_empty() {
            continue;
        }
        if item.eq_ignore_ascii_case("unknown") {
            hops.push(Hop::Unknown);
            continue;
        }
        hops.push(Hop::Addr(parse_addr(item, true)?));
    }
    Ok(())
}

/// Parses a `Forwarded` value (`for=192.0.2.60;proto=http, for="[2001:db8::1]:80"`) into
/// `hops`, one per element.
pub(crate) fn parse_forwarded(value: &str, hops: &mut Vec<Hop>) -> Result<(), ()> {
    let mut cursor = Cursor {
        s: value.as_bytes(),
        at: 0,
    };
    loop {
        let (pairs, node) = cursor.element()?;
        if pairs > 0 {
            hops.push(match node {
                Some(node) => parse_node(&node)?,
                None => Hop::Unknown,
            });
        }
        cursor.skip_ows();
        match cursor.next() {
            None => return Ok(()),
            Some(b',') => {}
            Some(_) => return Err(()),
        }
    }
}

/// A `for=` node: `unknown`, `_obfuscated`, an IPv4 address or bracketed IPv6, with an
/// optional port.
fn parse_node(node: &str) -> Result<Hop, ()> {
    if node.eq_ignore_ascii_case("unknown") || node.starts_with('_') {
        return Ok(Hop::Unknown);
    }
    parse_addr(node, false).map(Hop::Addr)
}

/// `ip`, `ipv4:port`, `[ipv6]` or `[ipv6]:port`; bare IPv6 only when `bare_v6`.
fn parse_addr(s: &str, bare_v6: bool) -> Result<IpAddr, ()> {
    if let Some(rest) = s.strip_prefix('[') {
        let (ip, after) = rest.split_once(']').ok_or(())?;
        let ip: IpAddr = ip.parse().map_err(|_| ())?;
        let valid_tail = after.is_empty() || after.strip_prefix(':').is_some_and(is_port);
        return if ip.is_ipv6() && valid_tail {
            Ok(ip)
        } else {
            Err(())
        };
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return if ip.is_ipv4() || bare_v6 {
            Ok(ip)
        } else {
            Err(())
        };
    }
    let (ip, port) = s.split_once(':').ok_or(())?;
    let ip: IpAddr = ip.parse().map_err(|_| ())?;
    if ip.is_ipv4() && is_port(port) {
        Ok(ip)
    } else {
        Err(())
    }
}

/// A decimal port or an RFC 7239 obfuscated port (`_abc`).
fn is_port(s: &str) -> bool {
    let obfuscated = s.strip_prefix('_').is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    });
    obfuscated || (!s.is_empty() && s.len() <= 5 && s.parse::<u16>().is_ok())
}

struct Cursor<'a> {
    s: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    /// One element: `pair *(";" pair)`. Returns how many pairs it had and its `for` value.
    fn element(&mut self) -> Result<(usize, Option<Cow<'a, str>>), ()> {
        let (mut pairs, mut node) = (0, None);
        loop {
            self.skip_ows();
            match self.peek() {
                None | Some(b',') => return Ok((pairs, node)),
                Some(b';') => {
                    self.at += 1;
                    continue;
                }
                Some(_) => {}
            }
            let name = self.token()?;
            if self.next() != Some(b'=') {
                return Err(());
            }
            let value = if self.peek() == Some(b'"') {
                self.quoted()?
            } else {
                self.token()?.into()
            };
            pairs += 1;
            if name.eq_ignore_ascii_case("for") && node.replace(value).is_some() {
                return Err(()); // `for` twice in one element
            }
            self.skip_ows();
            if !matches!(self.peek(), None | Some(b',' | b';')) {
                return Err(());
            }
        }
    }

    fn token(&mut self) -> Result<&'a str, ()> {
        let start = self.at;
        while self.peek().is_some_and(is_tchar) {
            self.at += 1;
        }
        let token = self.s.get(start..self.at).ok_or(())?;
        if token.is_empty() {
            return Err(());
        }
        std::str::from_utf8(token).map_err(|_| ())
    }

    /// A quoted string with `\` escapes, unescaped.
    fn quoted(&mut self) -> Result<Cow<'a, str>, ()> {
        self.at += 1; // opening quote
        let mut out = Vec::new();
        loop {
            match self.next().ok_or(())? {
                b'"' => break,
                b'\\' => out.push(self.next().ok_or(())?),
                b => out.push(b),
            }
        }
        String::from_utf8(out).map(Cow::Owned).map_err(|_| ())
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Hop {
        Hop::Addr(s.parse().unwrap())
    }

    fn xff(s: &str) -> Result<Vec<Hop>, ()> {
        let mut hops = Vec::new();
        parse_xff(s, &mut hops).map(|()| hops)
    }

    fn fwd(s: &str) -> Result<Vec<Hop>, ()> {
        let mut hops = Vec::new();
        parse_forwarded(s, &mut hops).map(|()| hops)
    }

    #[test]
    fn xff_forms() {
        assert_eq!(
            xff("203.0.113.9, 10.0.0.1:8080 ,[2001:db8::1]:443,2001:db8::2,unknown"),
            Ok(vec![
                ip("203.0.113.9"),
                ip("10.0.0.1"),
                ip("2001:db8::1"),
                ip("2001:db8::2"),
                Hop::Unknown
            ])
        );
        assert_eq!(xff(""), Ok(vec![]));
        for bad in [
            "evil",
            "1.2.3.4:99999",
            "[1.2.3.4]",
            "[::1",
            "1.2.3.4:",
            "[::1]x",
        ] {
            assert_eq!(xff(bad), Err(()), "{bad:?}");
        }
    }

    #[test]
    fn forwarded_rfc7239_examples() {
        assert_eq!(fwd(r#"for="_gazonk""#), Ok(vec![Hop::Unknown]));
        assert_eq!(
            fwd(r#"For="[2001:db8:cafe::17]:4711""#),
            Ok(vec![ip("2001:db8:cafe::17")])
        );
        assert_eq!(
            fwd("for=192.0.2.60;proto=http;by=203.0.113.43"),
            Ok(vec![ip("192.0.2.60")])
        );
        assert_eq!(
            fwd("for=192.0.2.43, for=198.51.100.17"),
            Ok(vec![ip("192.0.2.43"), ip("198.51.100.17")])
        );
        assert_eq!(
            fwd(r#"for="192.0.2.43:47011" ; proto=https,for=unknown, proto=http"#),
            Ok(vec![ip("192.0.2.43"), Hop::Unknown, Hop::Unknown])
        );
        assert_eq!(fwd(r#"for="[::1]:_port""#), Ok(vec![ip("::1")]));
        assert_eq!(fwd(r#"for="\[::1\]""#), Ok(vec![ip("::1")]));
    }

    #[test]
    fn forwarded_malformed() {
        for bad in [
            "for=[2001:db8::1]",
            r#"for="2001:db8::1""#,
            "for",
            "for=",
            r#"for="192.0.2.1"#,
            "for=1.2.3.4;for=5.6.7.8",
            "for=1.2.3.4 junk",
            "=1.2.3.4",
            "for=1.2.3.4:port",
        ] {
            assert_eq!(fwd(bad), Err(()), "{bad:?}");
        }
    }
}
