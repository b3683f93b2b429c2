//! Sink URLs: parsed, and `https` unless the host is loopback.

use url::{Host, Url};

use crate::config::ConfigProblem;

/// Parses a sink URL and refuses one that would send alerts in clear over a network.
/// Error texts never repeat the URL (it may embed a token), only its scheme or host.
pub(super) fn parse_endpoint(text: &str) -> Result<Url, ConfigProblem> {
    let url = Url::parse(text.trim()).map_err(|error| ConfigProblem::InvalidUrl {
        reason: error.to_string(),
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(ConfigProblem::InsecureHttp {
            host: url.host_str().unwrap_or_default().to_owned(),
        }),
        other => Err(ConfigProblem::UnsupportedScheme {
            scheme: other.to_owned(),
        }),
    }
}

/// `localhost`, `127.0.0.0/8`, `::1` and `::ffff:127.0.0.0/104`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_and_http_only_to_loopback() {
        for ok in [
            "https://hooks.example.com/x",
            "http://127.0.0.1:8080/hook",
            "http://127.1.2.3/hook",
            "http://localhost/hook",
            "http://[::1]:9000/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            assert!(parse_endpoint(ok).is_ok(), "{ok}");
        }
        for (bad, host) in [
            ("http://example.com/x", "example.com"),
            ("http://10.0.0.1/x", "10.0.0.1"),
            ("http://localhost.evil.com/x", "localhost.evil.com"),
            ("http://[::2]/x", "[::2]"),
        ] {
            assert_eq!(
                parse_endpoint(bad),
                Err(ConfigProblem::InsecureHttp {
                    host: host.to_owned()
                }),
                "{bad}"
            );
        }
    }

    #[test]
    fn other_schemes_and_garbage_are_refused() {
        assert_eq!(
            parse_endpoint("ftp://example.com/"),
            Err(ConfigProblem::UnsupportedScheme {
                scheme: "ftp".to_owned()
            })
        );
        assert!(matches!(
            parse_endpoint("not a url"),
            Err(ConfigProblem::InvalidUrl { .. })
        ));
    }
}
