//! Checks for URLs, origins, hosts and HTTP headers.

use std::net::Ipv6Addr;

use url::Url;

/// Headers the gateway sets itself on upstream requests; configuring them would
/// break the transport.
const MANAGED_HEADERS: &[&str] = &[
    "accept",
    "connection",
    "content-length",
    "content-type",
    "host",
    "keep-alive",
    "last-event-id",
    "mcp-protocol-version",
    "mcp-session-id",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// An upstream endpoint: absolute `http`/`https` URL with a host and no userinfo.
/// The URL itself is never echoed: it may carry an interpolated token.
pub(super) fn check_url(url: &str) -> Result<(), String> {
    let parsed = Url::parse(url).map_err(|error| format!("invalid URL: {error}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "URL scheme must be http or https, not `{}`",
            parsed.scheme()
        ));
    }
    if parsed.host().is_none() {
        return Err("URL has no host".to_owned());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "URL contains credentials; put them in `headers` instead (URLs get logged)".to_owned(),
        );
    }
    Ok(())
}

/// A browser origin, written exactly as browsers send it (`https://app.example.com`).
pub(super) fn check_origin(origin: &str) -> Result<(), String> {
    let parsed = Url::parse(origin).map_err(|error| format!("invalid origin: {error}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err("an origin is `http://` or `https://` followed by a host".to_owned());
    }
    let serialized = parsed.origin().ascii_serialization();
    if serialized != origin {
        return Err(format!(
            "write this origin as `{serialized}`: scheme://host[:port], no path, no \
             default port, as browsers send it"
        ));
    }
    Ok(())
}

/// A `Host` header value without port: a name, an IPv4 address or a bracketed IPv6
/// address.
pub(super) fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("host is empty".to_owned());
    }
    if host.contains('/') {
        return Err("expected a host name such as `gateway.example.com`, not a URL".to_owned());
    }
    if let Some(inner) = host.strip_prefix('[') {
        return match inner.strip_suffix(']').map(str::parse::<Ipv6Addr>) {
            Some(Ok(_)) => Ok(()),
            _ => Err("invalid bracketed IPv6 address".to_owned()),
        };
    }
    if host.parse::<Ipv6Addr>().is_ok() {
        return Err(format!("write IPv6 addresses in brackets: `[{host}]`"));
    }
    if let Some((name, _port)) = host.split_once(':') {
        return Err(format!(
            "ports are ignored when matching hosts: write `{name}`"
        ));
    }
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
    {
        return Err(format!("invalid host \"{}\"", host.escape_debug()));
    }
    Ok(())
}

/// A header name (an RFC 9110 token the gateway does not manage) and a value
/// without control characters. The value is never echoed.
pub(super) fn check_header(name: &str, value: &str) -> Result<(), String> {
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(is_tchar) {
        return Err(format!("invalid header name \"{}\"", name.escape_debug()));
    }
    if MANAGED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "header `{name}` is set by the gateway and cannot be configured"
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err("header value contains a control character (such as a line break)".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(check_url("http://127.0.0.1:9000/mcp").is_ok());
        assert!(check_url("https://mcp.example.com/sse?x=1").is_ok());
        assert_eq!(
            check_url("ftp://example.com"),
            Err("URL scheme must be http or https, not `ftp`".into())
        );
        assert_eq!(
            check_url("localhost:9000"),
            Err("URL scheme must be http or https, not `localhost`".into())
        );
        assert_eq!(
            check_url("not a url"),
            Err("invalid URL: relative URL without a base".into())
        );
        assert!(check_url("https://user:pw@example.com").is_err());
    }

    #[test]
    fn origins() {
        assert!(check_origin("https://app.example.com").is_ok());
        assert!(check_origin("http://localhost:3000").is_ok());
        assert!(check_origin("https://app.example.com/").is_err());
        assert!(check_origin("https://app.example.com:443").is_err());
        assert!(check_origin("*").is_err());
    }

    #[test]
    fn hosts() {
        for ok in ["localhost", "127.0.0.1", "[::1]", "gateway.example.com"] {
            assert_eq!(check_host(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            check_host("::1"),
            Err("write IPv6 addresses in brackets: `[::1]`".into())
        );
        assert_eq!(
            check_host("localhost:8787"),
            Err("ports are ignored when matching hosts: write `localhost`".into())
        );
        assert!(check_host("http://x").is_err());
        assert!(check_host("[::1").is_err());
    }

    #[test]
    fn headers() {
        assert!(check_header("Authorization", "Bearer x").is_ok());
        assert!(check_header("Host", "x").is_err());
        assert!(check_header("Bad Name", "x").is_err());
        assert!(check_header("X-Token", "a\r\nInjected: yes").is_err());
    }
}
