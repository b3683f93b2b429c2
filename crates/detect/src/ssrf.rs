//! SSRF classification of URLs and addresses. Hostnames are parsed the WHATWG way (the `url`
//! crate), so decimal, octal and hex IPv4 spellings (`http://2130706433/`, `http://0x7f.1/`)
//! become the address they mean. Callers that resolve DNS pass the resolved addresses to
//! [`classify_resolved`] and connect to exactly those (DNS pinning against rebinding).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;
use url::{Host, Url};

/// Where an address points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressClass {
    /// A routable public address.
    Public,
    /// Reserved, documentation, benchmarking, shared (CGNAT) or multicast space.
    Reserved,
    /// RFC 1918 / unique-local (fc00::/7).
    Private,
    /// 169.254.0.0/16, fe80::/10.
    LinkLocal,
    /// 127.0.0.0/8, ::1, `localhost`.
    Loopback,
    /// 0.0.0.0, ::.
    Unspecified,
    /// Cloud instance metadata (169.254.169.254, fd00:ec2::254, metadata.google.internal, …).
    Metadata,
}

impl AddressClass {
    /// True for anything but a public address.
    pub fn is_internal(self) -> bool {
        self != Self::Public
    }

    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Reserved => "reserved",
            Self::Private => "private",
            Self::LinkLocal => "link_local",
            Self::Loopback => "loopback",
            Self::Unspecified => "unspecified",
            Self::Metadata => "metadata",
        }
    }
}

/// The verdict on one URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UrlAssessment {
    /// The URL's scheme, lower-cased.
    pub scheme: String,
    /// The host as the URL parser understood it (IPv4 in dotted form).
    pub host: Option<String>,
    /// Class of the host, when the host is an address or a known internal name.
    pub class: Option<AddressClass>,
    /// The scheme is not http/https (file:, gopher:, dict:, ftp:, javascript:, data:, …).
    pub dangerous_scheme: bool,
    /// The hostname embeds an internal address (`127.0.0.1.nip.io`) — a rebinding helper.
    pub embeds_internal_ip: bool,
}

impl UrlAssessment {
    /// True when fetching this URL from the gateway's network would be SSRF-prone.
    pub fn is_suspicious(&self) -> bool {
        self.dangerous_scheme
            || self.embeds_internal_ip
            || self.class.is_some_and(AddressClass::is_internal)
    }
}

/// Classify one IP address (IPv4-mapped, NAT64 and 6to4 IPv6 addresses by the IPv4 inside).
pub fn classify_ip(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let o = ip.octets();
    if o == [169, 254, 169, 254] || o == [169, 254, 170, 2] || o == [100, 100, 100, 200] {
        AddressClass::Metadata
    } else if ip.is_unspecified() || o[0] == 0 {
        AddressClass::Unspecified
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_private() {
        AddressClass::Private
    } else if ip.is_link_local() {
        AddressClass::LinkLocal
    } else if ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] >= 240
        || (o[0] == 100 && (64..128).contains(&o[1]))
        || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
    {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return classify_v4(Ipv4Addr::from(u32::from(s[6]) << 16 | u32::from(s[7])));
    }
    if s[0] == 0x2002 {
        return classify_v4(Ipv4Addr::from(u32::from(s[1]) << 16 | u32::from(s[2])));
    }
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        AddressClass::Metadata
    } else if ip.is_unspecified() {
        AddressClass::Unspecified
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if (s[0] & 0xfe00) == 0xfc00 {
        AddressClass::Private
    } else if (s[0] & 0xffc0) == 0xfe80 {
        AddressClass::LinkLocal
    } else if ip.is_multicast() || s[0] == 0x2001 && s[1] == 0xdb8 {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

/// Class of a hostname that is internal by name alone.
fn classify_name(host: &str) -> Option<AddressClass> {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    if matches!(
        h.as_str(),
        "metadata.google.internal" | "metadata" | "instance-data" | "metadata.azure.internal"
    ) || h.ends_with(".metadata.google.internal")
    {
        Some(AddressClass::Metadata)
    } else if h == "localhost" || h.ends_with(".localhost") || h == "ip6-localhost" {
        Some(AddressClass::Loopback)
    } else if h.ends_with(".internal")
        || h.ends_with(".local")
        || h.ends_with(".lan")
        || h.ends_with(".intranet")
        || h.ends_with(".corp")
        || h.ends_with(".home.arpa")
        || !h.contains('.')
    {
        Some(AddressClass::Private)
    } else {
        None
    }
}

/// Does a hostname carry an internal IPv4 in dotted or dashed form (`10-0-0-1.nip.io`)?
fn embeds_internal_ip(host: &str) -> bool {
    let parts: Vec<&str> = host.split(['.', '-']).collect();
    parts.windows(4).any(|w| {
        let octets: Option<Vec<u8>> = w.iter().map(|p| p.parse::<u8>().ok()).collect();
        octets.is_some_and(|o| classify_v4(Ipv4Addr::new(o[0], o[1], o[2], o[3])).is_internal())
    }) && parts.len() > 4
}

/// Assess one URL string; `None` when it does not parse as an absolute URL.
pub fn classify_url(input: &str) -> Option<UrlAssessment> {
    let url = Url::parse(input.trim()).ok()?;
    let scheme = url.scheme().to_ascii_lowercase();
    let dangerous_scheme = !matches!(scheme.as_str(), "http" | "https" | "ws" | "wss" | "mailto");
    let (host, class, embeds) = match url.host() {
        Some(Host::Ipv4(v4)) => (Some(v4.to_string()), Some(classify_v4(v4)), false),
        Some(Host::Ipv6(v6)) => (Some(v6.to_string()), Some(classify_v6(v6)), false),
        Some(Host::Domain(d)) => (Some(d.to_owned()), classify_name(d), embeds_internal_ip(d)),
        None => (None, None, false),
    };
    let class = class.or(if scheme == "file" {
        Some(AddressClass::Loopback)
    } else {
        None
    });
    Some(UrlAssessment {
        scheme,
        host,
        class,
        dangerous_scheme,
        embeds_internal_ip: embeds,
    })
}

/// After the caller resolved `url`'s host, the worst class among the addresses it got.
/// Connect only to these addresses, and refuse when this is internal.
pub fn classify_resolved(resolved: &[IpAddr]) -> AddressClass {
    resolved
        .iter()
        .map(|ip| classify_ip(*ip))
        .max()
        .unwrap_or(AddressClass::Public)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(u: &str) -> Option<AddressClass> {
        classify_url(u).and_then(|a| a.class)
    }

    #[test]
    fn metadata_in_every_spelling() {
        for u in [
            "http://169.254.169.254/latest/meta-data/",
            "http://2852039166/",
            "http://0xA9FEA9FE/",
            "http://0251.0376.0251.0376/",
            "http://[fd00:ec2::254]/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://[::ffff:169.254.169.254]/",
        ] {
            assert_eq!(class(u), Some(AddressClass::Metadata), "{u}");
        }
    }

    #[test]
    fn loopback_private_link_local() {
        assert_eq!(class("http://2130706433/"), Some(AddressClass::Loopback));
        assert_eq!(class("http://0x7f.1/"), Some(AddressClass::Loopback));
        assert_eq!(
            class("http://localhost:8080/"),
            Some(AddressClass::Loopback)
        );
        assert_eq!(class("http://[::1]/"), Some(AddressClass::Loopback));
        assert_eq!(class("https://10.1.2.3/"), Some(AddressClass::Private));
        assert_eq!(class("http://[fc00::1]/"), Some(AddressClass::Private));
        assert_eq!(class("http://169.254.1.1/"), Some(AddressClass::LinkLocal));
        assert_eq!(class("http://0.0.0.0/"), Some(AddressClass::Unspecified));
    }

    #[test]
    fn public_urls_pass() {
        let a = classify_url("https://example.com/path?q=1").unwrap();
        assert!(!a.is_suspicious());
        assert!(!classify_url("https://8.8.8.8/").unwrap().is_suspicious());
    }

    #[test]
    fn schemes_and_rebinding_names() {
        assert!(classify_url("file:///etc/passwd").unwrap().is_suspicious());
        assert!(
            classify_url("gopher://x.example.com:70/")
                .unwrap()
                .dangerous_scheme
        );
        assert!(
            classify_url("http://127.0.0.1.nip.io/")
                .unwrap()
                .embeds_internal_ip
        );
        assert!(classify_url("not a url").is_none());
    }

    #[test]
    fn resolved_addresses_decide() {
        let ips = [
            "93.184.216.34".parse().unwrap(),
            "10.0.0.5".parse().unwrap(),
        ];
        assert_eq!(classify_resolved(&ips), AddressClass::Private);
        assert_eq!(
            classify_resolved(&["2002:7f00:1::".parse().unwrap()]),
            AddressClass::Loopback
        );
        assert_eq!(
            classify_resolved(&["64:ff9b::a9fe:a9fe".parse().unwrap()]),
            AddressClass::Metadata
        );
    }
}
