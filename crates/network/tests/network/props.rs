//! Property tests: parsers never panic on arbitrary input.

use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use sallyport_network::request_line::is_traversal;
use sallyport_network::{AddrSource, ClientResolver, ForwardedHeader, IpRange, IpSet};

fn resolver(header: ForwardedHeader) -> ClientResolver {
    let trusted = IpSet::from_ranges(["10.0.0.0/8".parse::<IpRange>().unwrap()]);
    ClientResolver::new(trusted, header)
}

fn header_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".*",
        r#"[ \t,;="\[\]:\\a-z0-9_.]{0,60}"#,
        r#"(for=("?\[?[0-9a-f:.]{0,20}\]?(:[0-9]{0,6})?"?|unknown|_x)[;, ]{0,2}){0,5}"#,
    ]
}

proptest! {
    #[test]
    fn header_parsers_never_panic(text in header_text(), forwarded in any::<bool>()) {
        let header = if forwarded { ForwardedHeader::Forwarded } else { ForwardedHeader::XForwardedFor };
        let name = if forwarded { "forwarded" } else { "x-forwarded-for" };
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&text) {
            headers.insert(name, value);
        }
        let got = resolver(header).resolve("10.0.0.1".parse().unwrap(), &headers);
        if !matches!(got.source, AddrSource::Forwarded { .. }) {
            prop_assert_eq!(got.ip, "10.0.0.1".parse::<std::net::IpAddr>().unwrap());
        }
    }

    #[test]
    fn forwarded_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            headers.insert("forwarded", value.clone());
            headers.insert("x-forwarded-for", value);
        }
        for header in [ForwardedHeader::Forwarded, ForwardedHeader::XForwardedFor] {
            let _ = resolver(header).resolve("10.0.0.1".parse().unwrap(), &headers);
        }
    }

    #[test]
    fn xff_with_valid_client_resolves(a in any::<u32>(), b in any::<u128>()) {
        let v4 = std::net::Ipv4Addr::from(a);
        let v6 = std::net::Ipv6Addr::from(b);
        prop_assume!(!IpSet::from_ranges(["10.0.0.0/8".parse::<IpRange>().unwrap()]).contains(v4.into()));
        prop_assume!(v6.to_ipv4_mapped().is_none());
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(&format!("[{v6}]:1, {v4}:80")).unwrap());
        let got = resolver(ForwardedHeader::XForwardedFor).resolve("10.0.0.1".parse().unwrap(), &headers);
        prop_assert_eq!(got.ip, std::net::IpAddr::V4(v4));
    }

    #[test]
    fn traversal_check_never_panics(text in ".*") {
        let _ = is_traversal(&text);
    }

    #[test]
    fn ip_set_agrees_with_linear_scan(
        entries in proptest::collection::vec((any::<u32>(), 16u32..=32), 0..40),
        probes in proptest::collection::vec(any::<u32>(), 0..40),
    ) {
        let ranges: Vec<IpRange> = entries
            .iter()
            .map(|&(ip, prefix)| IpRange::cidr(std::net::Ipv4Addr::from(ip).into(), prefix).unwrap())
            .collect();
        let set = IpSet::from_ranges(ranges.clone());
        let probes = probes.into_iter().chain(ranges.iter().flat_map(|r| match *r {
            IpRange::V4(a, b) => [a, b, a.wrapping_sub(1), b.wrapping_add(1)],
            IpRange::V6(..) => unreachable!(),
        }));
        for probe in probes {
            let linear = ranges.iter().any(|r| matches!(*r, IpRange::V4(a, b) if a <= probe && probe <= b));
            prop_assert_eq!(set.contains(std::net::Ipv4Addr::from(probe).into()), linear);
        }
    }
}
