//! The CSV range format: `start_ip,end_ip,country` or `network/prefix,country[,…]` lines,
//! sorted into one table per address family and searched by bisection.

use std::io::BufRead;
use std::net::IpAddr;
use std::path::Path;

use super::{GeoIpError, MAX_CSV_RANGES, MAX_DATABASE_BYTES, parse_country};

/// Sorted, non-overlapping address ranges per family, searched by bisection.
#[derive(Debug, Default)]
pub(super) struct Ranges {
    pub(super) v4: Vec<Range<u32>>,
    pub(super) v6: Vec<Range<u128>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Range<T> {
    start: T,
    end: T,
    country: [u8; 2],
}

/// One usable CSV line: a range of one family.
enum Entry {
    V4(Range<u32>),
    V6(Range<u128>),
}

impl Ranges {
    pub(super) fn parse(mut reader: impl BufRead, path: &Path) -> Result<Self, GeoIpError> {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        let mut line = String::new();
        let mut number = 0;
        let mut total: u64 = 0;
        let mut seen_data = false;
        while next_line(&mut reader, &mut line, &mut total, path, number + 1)? {
            number += 1;
            let text = line.trim_start_matches('\u{feff}').trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = text
                .split(',')
                .map(|f| f.trim().trim_matches('"').trim())
                .collect();
            let first_data = !std::mem::replace(&mut seen_data, true);
            if first_data && is_header(&fields) {
                continue;
            }
            match parse_fields(&fields).map_err(|m| bad_line(path, number, m))? {
                Some(Entry::V4(r)) => v4.push((r, number)),
                Some(Entry::V6(r)) => v6.push((r, number)),
                None => {}
            }
            if v4.len() + v6.len() > MAX_CSV_RANGES {
                return Err(GeoIpError::Invalid {
                    path: path.into(),
                    message: format!("more than {MAX_CSV_RANGES} address ranges"),
                });
            }
        }
        if v4.is_empty() && v6.is_empty() {
            return Err(GeoIpError::Invalid {
                path: path.into(),
                message: "no address ranges with a country".into(),
            });
        }
        Ok(Self {
            v4: sorted(v4, path)?,
            v6: sorted(v6, path)?,
        })
    }

    pub(super) fn find(&self, ip: IpAddr) -> Option<[u8; 2]> {
        match ip {
            IpAddr::V4(ip) => find(&self.v4, u32::from(ip)),
            IpAddr::V6(ip) => find(&self.v6, u128::from(ip)),
        }
    }
}

/// Reads the next line into `line`; false at the end. Counts bytes into `total` against
/// [`MAX_DATABASE_BYTES`]; `number` is the line's number, for the UTF-8 error.
fn next_line(
    reader: &mut impl BufRead,
    line: &mut String,
    total: &mut u64,
    path: &Path,
    number: usize,
) -> Result<bool, GeoIpError> {
    line.clear();
    let read = reader.read_line(line).map_err(|error| {
        if error.kind() == std::io::ErrorKind::InvalidData {
            bad_line(path, number, "the line is not UTF-8 text".into())
        } else {
            GeoIpError::Io {
                path: path.into(),
                error,
            }
        }
    })?;
    *total += read as u64;
    if *total > MAX_DATABASE_BYTES {
        return Err(GeoIpError::TooLarge {
            path: path.into(),
            max: MAX_DATABASE_BYTES,
        });
    }
    Ok(read > 0)
}

fn find<T: Ord + Copy>(table: &[Range<T>], ip: T) -> Option<[u8; 2]> {
    let after = table.partition_point(|r| r.start <= ip);
    let r = table.get(after.checked_sub(1)?)?;
    (ip <= r.end).then_some(r.country)
}

/// Sorts by start and refuses overlaps, naming both lines.
fn sorted<T: Ord + Copy>(
    mut entries: Vec<(Range<T>, usize)>,
    path: &Path,
) -> Result<Vec<Range<T>>, GeoIpError> {
    entries.sort_unstable_by_key(|(r, _)| r.start);
    for pair in entries.windows(2) {
        if let [(a, line_a), (b, line_b)] = pair
            && b.start <= a.end
        {
            let (first, second) = ((*line_a).min(*line_b), (*line_a).max(*line_b));
            return Err(bad_line(
                path,
                second,
                format!("the range overlaps the one on line {first}"),
            ));
        }
    }
    Ok(entries.into_iter().map(|(r, _)| r).collect())
}

fn bad_line(path: &Path, line: usize, message: String) -> GeoIpError {
    GeoIpError::Line {
        path: path.into(),
        line,
        message,
    }
}

/// A first line of names (`start_ip,end_ip,country`, `network,country_code`).
fn is_header(fields: &[&str]) -> bool {
    fields.first().is_some_and(|f| {
        !f.is_empty()
            && f.bytes()
                .all(|b| b.is_ascii_alphabetic() || b == b'_' || b == b' ' || b == b'-')
    })
}

/// `start,end,country` or `network/prefix,country[,region,city,postal]`; `Ok(None)` when
/// the country is empty or `ZZ`.
fn parse_fields(fields: &[&str]) -> Result<Option<Entry>, String> {
    let (start, end, country) = match fields {
        [network, rest @ ..] if network.contains('/') => {
            let [country, extra @ ..] = rest else {
                return Err("expected `network/prefix,country`".into());
            };
            if extra.len() > 3 {
                return Err(format!(
                    "expected `network/prefix,country` and at most region, city and postal \
                     code, found {} fields",
                    fields.len()
                ));
            }
            let (start, end) = network_bounds(network)?;
            (start, end, *country)
        }
        [start, end, country] => {
            let start = parse_ip(start, "start")?;
            let end = parse_ip(end, "end")?;
            (start, end, *country)
        }
        _ => {
            return Err(format!(
                "expected `start_ip,end_ip,country` or `network/prefix,country`, found {} \
                 field(s)",
                fields.len()
            ));
        }
    };
    let Some(country) = parse_country(country)? else {
        return Ok(None);
    };
    match (unmap(start, end), unmap(end, start)) {
        (IpAddr::V4(s), IpAddr::V4(e)) if s <= e => Ok(Some(Entry::V4(Range {
            start: u32::from(s),
            end: u32::from(e),
            country,
        }))),
        (IpAddr::V6(s), IpAddr::V6(e)) if s <= e => Ok(Some(Entry::V6(Range {
            start: u128::from(s),
            end: u128::from(e),
            country,
        }))),
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
            Err(format!("the start address {start} is after the end {end}"))
        }
        _ => Err(format!(
            "{start} and {end} are not of the same address family"
        )),
    }
}

/// IPv4-mapped IPv6 (`::ffff:192.0.2.1`) as IPv4, when both ends of the range are mapped
/// (lookups do the same).
fn unmap(ip: IpAddr, other: IpAddr) -> IpAddr {
    match (ip, other) {
        (IpAddr::V6(a), IpAddr::V6(b)) if b.to_ipv4_mapped().is_some() => {
            a.to_ipv4_mapped().map_or(ip, IpAddr::V4)
        }
        _ => ip,
    }
}

fn parse_ip(text: &str, which: &str) -> Result<IpAddr, String> {
    text.parse()
        .map_err(|_| format!("the {which} address {text:?} is not an IP address"))
}

/// First and last address of `addr/prefix` (host bits are ignored).
fn network_bounds(text: &str) -> Result<(IpAddr, IpAddr), String> {
    let bad = || format!("{text:?} is not a network (`address/prefix`)");
    let (addr, prefix) = text.split_once('/').ok_or_else(bad)?;
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    let prefix: u32 = prefix.parse().map_err(|_| bad())?;
    match addr {
        IpAddr::V4(a) if prefix <= 32 => {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            let start = u32::from(a) & mask;
            Ok((IpAddr::V4(start.into()), IpAddr::V4((start | !mask).into())))
        }
        IpAddr::V6(a) if prefix <= 128 => {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            let start = u128::from(a) & mask;
            Ok((IpAddr::V6(start.into()), IpAddr::V6((start | !mask).into())))
        }
        _ => Err(bad()),
    }
}
