//! Country of a source address, from a GeoIP database file the operator configures.
//!
//! Two formats, chosen by the file's extension:
//!
//! * `.mmdb`: a MaxMind DB (GeoLite2-Country, GeoIP2-Country or -City, DB-IP's lite
//!   `.mmdb`, IPinfo's country files). The record's `country.iso_code` is used, else
//!   `registered_country.iso_code`, else a top-level `country_code` or `country` string.
//! * `.csv`: one range per line, `start_ip,end_ip,country` (DB-IP's free
//!   "dbip-country-lite" CSV and similar lists), or `network/prefix,country[,…]` (RFC 8805
//!   geofeed lines). IPv4 and IPv6; `#` comments, blank lines and one header line are
//!   skipped; lines may come in any order, but ranges may not overlap.
//!
//! Files are read whole at load and kept in memory, so a database is bounded by
//! [`MAX_DATABASE_BYTES`] (and a CSV by [`MAX_CSV_RANGES`]). The code `ZZ` ("unknown")
//! and empty codes count as no country: a missing country is unknown, never favourable.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufReader, Read};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use maxminddb::PathElement;
use sallyport_pipeline::Exchange;
use thiserror::Error;

use crate::guard::{PrincipalOnly, SubjectResolver};

mod csv;

use crate::subject::{Attributes, Subject};
use csv::Ranges;

/// The largest database file accepted, in bytes (GeoIP2-City is about 130 MB).
pub const MAX_DATABASE_BYTES: u64 = 256 * 1024 * 1024;

/// The most ranges a CSV database may hold (DB-IP's country list has well under 1 million).
pub const MAX_CSV_RANGES: usize = 4_000_000;

/// Why a GeoIP database could not be loaded. Every variant names the file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum GeoIpError {
    /// The file cannot be opened or read.
    #[error("{}: cannot read the GeoIP database: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// The file is larger than [`MAX_DATABASE_BYTES`].
    #[error(
        "{}: the GeoIP database is larger than {max} bytes; use a country database",
        path.display()
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        max: u64,
    },
    /// The extension is neither `.mmdb` nor `.csv`.
    #[error(
        "{}: unknown GeoIP database format; expected a MaxMind DB (`.mmdb`) or a \
         `start_ip,end_ip,country` CSV (`.csv`) file",
        path.display()
    )]
    Format {
        /// The file.
        path: PathBuf,
    },
    /// A CSV line cannot be used.
    #[error("{}:{line}: {message}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The file as a whole cannot be used (not a MaxMind DB, no ranges, too many ranges).
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// A loaded GeoIP database: IP address → ISO 3166-1 alpha-2 country code.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let path = std::env::temp_dir().join(format!("geoip-doc-{}.csv", std::process::id()));
/// std::fs::write(&path, "192.0.2.0,192.0.2.255,de\n2001:db8::/32,FR\n")?;
/// let geoip = sallyport_policy::GeoIp::open(&path)?;
/// # std::fs::remove_file(&path)?;
/// assert_eq!(geoip.country("192.0.2.7".parse()?), Some("DE".to_owned()));
/// assert_eq!(geoip.country("2001:db8::1".parse()?), Some("FR".to_owned()));
/// assert_eq!(geoip.country("198.51.100.1".parse()?), None);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct GeoIp {
    table: Table,
}

#[derive(Debug)]
enum Table {
    Mmdb(Box<maxminddb::Reader<Vec<u8>>>),
    Ranges(Ranges),
}

// === impl GeoIp ===

impl GeoIp {
    /// Loads `path`: a MaxMind DB if it ends in `.mmdb`, a range CSV if it ends in `.csv`.
    pub fn open(path: &Path) -> Result<Self, GeoIpError> {
        let ext = path
            .extension()
            .and_then(OsStr::to_str)
            .map(str::to_ascii_lowercase);
        let mmdb = match ext.as_deref() {
            Some("mmdb") => true,
            Some("csv") => false,
            _ => return Err(GeoIpError::Format { path: path.into() }),
        };
        let io = |error| GeoIpError::Io {
            path: path.into(),
            error,
        };
        let file = File::open(path).map_err(io)?;
        if file.metadata().map_err(io)?.len() > MAX_DATABASE_BYTES {
            return Err(GeoIpError::TooLarge {
                path: path.into(),
                max: MAX_DATABASE_BYTES,
            });
        }
        // The size check above can be raced (or the "file" is a device): read at most one
        // byte past the limit and refuse if it was reached.
        let bounded = file.take(MAX_DATABASE_BYTES + 1);
        let table = if mmdb {
            Table::Mmdb(Box::new(read_mmdb(bounded, path)?))
        } else {
            Table::Ranges(Ranges::parse(BufReader::new(bounded), path)?)
        };
        Ok(Self { table })
    }

    /// The upper-case ISO country code of `ip`, if the database knows one.
    /// IPv4-mapped IPv6 addresses are looked up as IPv4.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let ip = ip.to_canonical();
        let code = match &self.table {
            Table::Mmdb(reader) => mmdb_country(reader, ip),
            Table::Ranges(ranges) => ranges.find(ip),
        }?;
        Some(code.iter().map(|b| char::from(*b)).collect())
    }

    /// Sets `attributes.country` from `attributes.source_ip`, unless a country is already
    /// set or there is no address.
    pub fn locate(&self, attributes: &mut Attributes) {
        if attributes.country.is_none()
            && let Some(ip) = attributes.source_ip
        {
            attributes.country = self.country(ip);
        }
    }
}

fn read_mmdb(mut file: impl Read, path: &Path) -> Result<maxminddb::Reader<Vec<u8>>, GeoIpError> {
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).map_err(|error| GeoIpError::Io {
        path: path.into(),
        error,
    })?;
    if buf.len() as u64 > MAX_DATABASE_BYTES {
        return Err(GeoIpError::TooLarge {
            path: path.into(),
            max: MAX_DATABASE_BYTES,
        });
    }
    maxminddb::Reader::from_source(buf).map_err(|e| GeoIpError::Invalid {
        path: path.into(),
        message: format!("not a usable MaxMind DB file: {e}"),
    })
}

const COUNTRY_ISO: &[PathElement<'static>] =
    &[PathElement::Key("country"), PathElement::Key("iso_code")];
const REGISTERED_ISO: &[PathElement<'static>] = &[
    PathElement::Key("registered_country"),
    PathElement::Key("iso_code"),
];
const COUNTRY_CODE: &[PathElement<'static>] = &[PathElement::Key("country_code")];
const COUNTRY: &[PathElement<'static>] = &[PathElement::Key("country")];

/// The record's country: MaxMind and DB-IP nest it (`country.iso_code`), IPinfo's files
/// have a top-level string. A record that does not decode counts as no country.
fn mmdb_country(reader: &maxminddb::Reader<Vec<u8>>, ip: IpAddr) -> Option<[u8; 2]> {
    // An IPv6 address in an IPv4-only database is an error here, so also "unknown".
    let found = reader.lookup(ip).ok()?;
    if !found.has_data() {
        return None;
    }
    [COUNTRY_ISO, REGISTERED_ISO, COUNTRY_CODE, COUNTRY]
        .into_iter()
        .find_map(|path| match found.decode_path::<&str>(path) {
            Ok(Some(code)) => parse_country(code).ok().flatten(),
            _ => None,
        })
}

/// A two-letter code, upper-cased; `Ok(None)` for empty and `ZZ` (unknown).
fn parse_country(text: &str) -> Result<Option<[u8; 2]>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let letters = match *text.as_bytes() {
        [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => Some([a, b]),
        _ => None,
    };
    let Some([a, b]) = letters else {
        return Err(format!(
            "country {text:?} is not a two-letter ISO 3166-1 code"
        ));
    };
    let code = [a.to_ascii_uppercase(), b.to_ascii_uppercase()];
    Ok((code != *b"ZZ").then_some(code))
}

// === impl Ranges ===

// === impl GeoSubjects ===

/// A [`SubjectResolver`] that adds the country of the caller's source address: the inner
/// resolver (by default [`PrincipalOnly`]) builds the subject, then `attributes.country`
/// is looked up in the database, unless the inner resolver already set one.
#[derive(Debug, Clone)]
pub struct GeoSubjects {
    inner: Arc<dyn SubjectResolver>,
    geoip: Arc<GeoIp>,
}

impl GeoSubjects {
    /// Subjects from the pipeline principal ([`Subject::from_principal`]), located in
    /// `geoip`.
    pub fn new(geoip: Arc<GeoIp>) -> Self {
        Self::over(Arc::new(PrincipalOnly), geoip)
    }

    /// Subjects from `inner`, located in `geoip`.
    pub fn over(inner: Arc<dyn SubjectResolver>, geoip: Arc<GeoIp>) -> Self {
        Self { inner, geoip }
    }

    /// The database.
    pub fn geoip(&self) -> &Arc<GeoIp> {
        &self.geoip
    }
}

impl SubjectResolver for GeoSubjects {
    fn resolve(&self, exchange: &Exchange<'_>) -> Subject {
        let mut subject = self.inner.resolve(exchange);
        self.geoip.locate(&mut subject.attributes);
        subject
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Result<Ranges, GeoIpError> {
        Ranges::parse(text.as_bytes(), Path::new("countries.csv"))
    }

    fn at(r: &Ranges, ip: &str) -> Option<String> {
        r.find(ip.parse::<IpAddr>().unwrap().to_canonical())
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
    }

    fn error(text: &str) -> String {
        csv(text).unwrap_err().to_string()
    }

    #[test]
    fn ipv4_ranges_and_their_boundaries() {
        let r = csv("1.0.0.0,1.0.0.255,au\n1.0.1.0,1.0.3.255,CN\n8.8.8.8,8.8.8.8,US\n").unwrap();
        for (ip, want) in [
            ("0.255.255.255", None),
            ("1.0.0.0", Some("AU")),
            ("1.0.0.255", Some("AU")),
            ("1.0.1.0", Some("CN")),
            ("1.0.3.255", Some("CN")),
            ("1.0.4.0", None),
            ("8.8.8.7", None),
            ("8.8.8.8", Some("US")),
            ("8.8.8.9", None),
            ("::ffff:1.0.2.3", Some("CN")),
            ("255.255.255.255", None),
        ] {
            assert_eq!(at(&r, ip).as_deref(), want, "{ip}");
        }
    }

    #[test]
    fn ipv6_ranges_networks_and_extremes() {
        let text = "\
# geofeed style and range style mixed
2001:db8::/32,jp,JP-13,Tokyo,
::,::ffff,KR
2a00::,2a00::ffff,\"DE\"
ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00,ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff,NL
0.0.0.0,0.0.0.0,AQ
255.255.255.0/24,AQ
";
        let r = csv(text).unwrap();
        for (ip, want) in [
            ("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", None),
            ("2001:db8::", Some("JP")),
            ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", Some("JP")),
            ("2001:db9::", None),
            ("::", Some("KR")),
            ("::ffff", Some("KR")),
            ("::1:0", None),
            ("2a00::ffff", Some("DE")),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some("NL")),
            ("0.0.0.0", Some("AQ")),
            ("255.255.255.255", Some("AQ")),
            ("255.255.254.255", None),
        ] {
            assert_eq!(at(&r, ip).as_deref(), want, "{ip}");
        }
    }

    #[test]
    fn unsorted_input_is_sorted_and_unknown_codes_are_dropped() {
        let text = "\
start_ip,end_ip,country
10.0.2.0,10.0.2.255,FR

10.0.0.0,10.0.0.255,IT
10.0.1.0,10.0.1.255,ZZ
10.0.3.0,10.0.3.255,
::ffff:10.0.4.0,::ffff:10.0.4.255,es
";
        let r = csv(text).unwrap();
        assert_eq!(at(&r, "10.0.0.9").as_deref(), Some("IT"));
        assert_eq!(at(&r, "10.0.1.9"), None, "ZZ is unknown");
        assert_eq!(at(&r, "10.0.2.9").as_deref(), Some("FR"));
        assert_eq!(at(&r, "10.0.3.9"), None, "empty is unknown");
        assert_eq!(at(&r, "10.0.4.9").as_deref(), Some("ES"), "mapped range");
        assert_eq!(r.v4.len(), 3);
    }

    #[test]
    fn overlaps_are_refused_with_both_lines() {
        let e = error("10.0.0.0,10.0.0.255,IT\n9.0.0.0,9.255.255.255,US\n10.0.0.255,10.0.1.0,FR\n");
        assert_eq!(e, "countries.csv:3: the range overlaps the one on line 1");
        let e = error("2001:db8::/48,SE\n2001:db8::/32,NO\n");
        assert_eq!(e, "countries.csv:2: the range overlaps the one on line 1");
        // Adjacent is fine.
        csv("10.0.0.0,10.0.0.255,IT\n10.0.1.0,10.0.1.0,FR\n").unwrap();
    }

    #[test]
    fn bad_lines_name_file_line_and_problem() {
        for (text, want) in [
            (
                "1.2.3.4,1.2.3.5\n",
                "countries.csv:1: expected `start_ip,end_ip,country`",
            ),
            (
                "# c\n1.2.3.4,1.2.3.5,US,extra\n",
                "countries.csv:2: expected",
            ),
            (
                "1.0.0.0,1.0.0.9,US\nx,1.2.3.5,US\n",
                "countries.csv:2: the start address \"x\"",
            ),
            (
                "1.2.3.4,1.2.3.999,US\n",
                "the end address \"1.2.3.999\" is not",
            ),
            (
                "1.2.3.9,1.2.3.4,US\n",
                "the start address 1.2.3.9 is after the end 1.2.3.4",
            ),
            ("1.2.3.4,::1,US\n", "are not of the same address family"),
            (
                "1.2.3.4,1.2.3.5,USA\n",
                "country \"USA\" is not a two-letter ISO 3166-1 code",
            ),
            ("1.2.3.4,1.2.3.5,U1\n", "country \"U1\""),
            ("1.2.3.0/33,US\n", "\"1.2.3.0/33\" is not a network"),
            ("1.2.3.0/24\n", "countries.csv:1: expected"),
            ("1.2.3.0/24,US,a,b,c,d\n", "found 6 fields"),
            ("", "countries.csv: no address ranges with a country"),
            ("# only\n1.2.3.4,1.2.3.5,ZZ\n", "no address ranges"),
        ] {
            let e = error(text);
            assert!(e.contains(want), "{text:?}: {e}");
        }
        let e = Ranges::parse(
            &b"1.2.3.4,1.2.3.5,US\n\xff\xfe,x,y\n"[..],
            Path::new("c.csv"),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "c.csv:2: the line is not UTF-8 text");
    }

    #[test]
    fn format_comes_from_the_extension() {
        for name in ["countries.txt", "countries", "GeoLite2-Country.tar.gz"] {
            let e = GeoIp::open(Path::new(name)).unwrap_err();
            assert!(matches!(e, GeoIpError::Format { .. }), "{name}: {e}");
        }
        let e = GeoIp::open(Path::new("/nonexistent/geo.CSV")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/geo.CSV: cannot read the GeoIP database:"),
            "{e}"
        );
    }

    #[test]
    fn country_codes_are_validated_and_upper_cased() {
        assert_eq!(parse_country("de"), Ok(Some(*b"DE")));
        assert_eq!(parse_country("zz"), Ok(None));
        assert_eq!(parse_country(""), Ok(None));
        assert!(parse_country("D").is_err());
        assert!(parse_country("Ü").is_err(), "two bytes, not two letters");
    }
}
