//! GeoIP country lookups: MaxMind DB files (written here by a minimal writer, then checked
//! by the `maxminddb` reader's own verifier), CSV files, and the country reaching Cedar and
//! the trust score through [`GeoSubjects`].
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/helpers.rs"]
mod helpers;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use helpers::{NOW_SECS, now, policy_with};
use sallyport_mcp::{Message, RequestId, version::Era};
use sallyport_pipeline::{
    Chain, Decision as ChainDecision, Direction, Exchange, Principal, PrincipalDetails,
    PrincipalKind,
};
use sallyport_policy::{
    AuthzGuard, AuthzRequest, Engine, GeoIp, GeoIpError, GeoSubjects, ManualClock, Outcome, Stage,
    Subject, SubjectResolver, Timestamp,
};
use serde_json::json;

/// A file in this test binary's scratch directory.
fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("geoip-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// A minimal MaxMind DB writer (format 2.0, 32-bit records), written from the MaxMind DB
/// specification for these tests: a binary search tree over the address bits, a 16-byte
/// separator, a data section of typed values, and a metadata map after the marker.
mod mmdb {
    use std::net::IpAddr;

    /// The values the tests need.
    pub(super) enum V<'a> {
        Str(&'a str),
        U16(u16),
        U32(u32),
        U64(u64),
        Map(Vec<(&'a str, V<'a>)>),
        Array(Vec<V<'a>>),
    }

    #[derive(Clone, Copy)]
    enum Record {
        Empty,
        Node(u32),
        Data(u32),
    }

    pub(super) struct Writer {
        ip_version: u16,
        nodes: Vec<[Record; 2]>,
        data: Vec<u8>,
    }

    impl Writer {
        pub(super) fn new(ip_version: u16) -> Self {
            Self {
                ip_version,
                nodes: vec![[Record::Empty; 2]],
                data: Vec::new(),
            }
        }

        /// Stores `value` in the data section; the offset can back several networks.
        pub(super) fn value(&mut self, value: &V<'_>) -> u32 {
            let offset = u32::try_from(self.data.len()).unwrap();
            encode(value, &mut self.data);
            offset
        }

        /// Maps `network` (`address/prefix`; IPv4 goes under `::/96` in an IPv6 tree) to
        /// the value at `offset`. Networks may not nest.
        pub(super) fn insert(&mut self, network: &str, offset: u32) {
            let (addr, prefix) = network.split_once('/').unwrap();
            let prefix: u32 = prefix.parse().unwrap();
            let (key, depth, width) = match (addr.parse::<IpAddr>().unwrap(), self.ip_version) {
                (IpAddr::V4(a), 4) => (u128::from(u32::from(a)), prefix, 32),
                (IpAddr::V4(a), _) => (u128::from(u32::from(a)), 96 + prefix, 128),
                (IpAddr::V6(a), _) => (u128::from(a), prefix, 128),
            };
            let bit = |i: u32| usize::from((key >> (width - 1 - i)) & 1 == 1);
            let mut node = 0;
            for i in 0..depth - 1 {
                node = match self.nodes[node][bit(i)] {
                    Record::Node(next) => next as usize,
                    Record::Empty => {
                        let next = self.nodes.len();
                        self.nodes.push([Record::Empty; 2]);
                        self.nodes[node][bit(i)] = Record::Node(u32::try_from(next).unwrap());
                        next
                    }
                    Record::Data(_) => panic!("{network} nests in another network"),
                };
            }
            self.nodes[node][bit(depth - 1)] = Record::Data(offset);
        }

        pub(super) fn finish(self, database_type: &str) -> Vec<u8> {
            let count = u32::try_from(self.nodes.len()).unwrap();
            let mut out = Vec::new();
            for node in &self.nodes {
                for record in node {
                    let value = match *record {
                        Record::Empty => count,
                        Record::Node(n) => n,
                        Record::Data(offset) => count + 16 + offset,
                    };
                    out.extend_from_slice(&value.to_be_bytes());
                }
            }
            out.extend_from_slice(&[0; 16]);
            out.extend_from_slice(&self.data);
            out.extend_from_slice(b"\xab\xcd\xefMaxMind.com");
            let metadata = V::Map(vec![
                ("binary_format_major_version", V::U16(2)),
                ("binary_format_minor_version", V::U16(0)),
                ("build_epoch", V::U64(1_793_872_800)),
                ("database_type", V::Str(database_type)),
                (
                    "description",
                    V::Map(vec![("en", V::Str("Sallyport test"))]),
                ),
                ("ip_version", V::U16(self.ip_version)),
                ("languages", V::Array(vec![V::Str("en")])),
                ("node_count", V::U32(count)),
                ("record_size", V::U16(32)),
            ]);
            encode(&metadata, &mut out);
            out
        }
    }

    /// Control byte (type in the top 3 bits, extended types in the next byte), then the
    /// size extension bytes.
    fn header(kind: u8, size: usize, out: &mut Vec<u8>) {
        let (low, extra) = match size {
            0..29 => (size, vec![]),
            29..285 => (29, vec![u8::try_from(size - 29).unwrap()]),
            285..65_821 => (
                30,
                u16::try_from(size - 285).unwrap().to_be_bytes().to_vec(),
            ),
            _ => (
                31,
                u32::try_from(size - 65_821).unwrap().to_be_bytes()[1..].to_vec(),
            ),
        };
        let low = u8::try_from(low).unwrap();
        if kind <= 7 {
            out.push(kind << 5 | low);
        } else {
            out.push(low);
            out.push(kind - 7);
        }
        out.extend_from_slice(&extra);
    }

    fn uint(kind: u8, n: u64, out: &mut Vec<u8>) {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        header(kind, 8 - skip, out);
        out.extend_from_slice(&bytes[skip..]);
    }

    fn encode(value: &V<'_>, out: &mut Vec<u8>) {
        match value {
            V::Str(s) => {
                header(2, s.len(), out);
                out.extend_from_slice(s.as_bytes());
            }
            V::U16(n) => uint(5, u64::from(*n), out),
            V::U32(n) => uint(6, u64::from(*n), out),
            V::U64(n) => uint(9, *n, out),
            V::Map(pairs) => {
                header(7, pairs.len(), out);
                for (k, v) in pairs {
                    encode(&V::Str(k), out);
                    encode(v, out);
                }
            }
            V::Array(items) => {
                header(11, items.len(), out);
                for v in items {
                    encode(v, out);
                }
            }
        }
    }
}

use mmdb::V;

fn iso(code: &str) -> V<'_> {
    V::Map(vec![
        ("iso_code", V::Str(code)),
        ("names", V::Map(vec![("en", V::Str("Somewhere"))])),
    ])
}

/// An IPv6 database with records in the shapes MaxMind, DB-IP and IPinfo ship.
fn country_db() -> Vec<u8> {
    let mut w = mmdb::Writer::new(6);
    let kp = w.value(&V::Map(vec![
        ("continent", V::Map(vec![("code", V::Str("AS"))])),
        ("country", iso("KP")),
        ("registered_country", iso("KP")),
    ]));
    let de = w.value(&V::Map(vec![("country", iso("de"))]));
    let registered = w.value(&V::Map(vec![("registered_country", iso("JP"))]));
    let ipinfo = w.value(&V::Map(vec![
        ("country", V::Str("FR")),
        ("country_name", V::Str("France")),
    ]));
    let ipinfo_lite = w.value(&V::Map(vec![("country_code", V::Str("se"))]));
    let malformed = w.value(&V::Map(vec![("country", iso("Germany"))]));
    let unknown = w.value(&V::Map(vec![("country", iso("ZZ"))]));
    let continent_only = w.value(&V::Map(vec![(
        "continent",
        V::Map(vec![("code", V::Str("EU"))]),
    )]));
    w.insert("203.0.113.0/24", kp);
    w.insert("192.0.2.128/25", kp);
    w.insert("2001:db8::/32", de);
    w.insert("198.51.100.0/25", registered);
    w.insert("2001:db9::/32", ipinfo);
    w.insert("192.0.2.0/26", ipinfo_lite);
    w.insert("100.64.0.0/10", malformed);
    w.insert("10.0.0.0/8", unknown);
    w.insert("172.16.0.0/12", continent_only);
    w.finish("GeoIP2-Country")
}

#[test]
fn mmdb_written_here_passes_the_readers_own_verification() {
    let reader = maxminddb::Reader::from_source(country_db()).unwrap();
    reader.verify().unwrap();
    assert_eq!(reader.metadata().database_type, "GeoIP2-Country");
}

#[test]
fn mmdb_countries_of_ipv4_and_ipv6_addresses() {
    let geo = GeoIp::open(&scratch("country.mmdb", &country_db())).unwrap();
    for (addr, want) in [
        ("203.0.112.255", None),
        ("203.0.113.0", Some("KP")),
        ("203.0.113.255", Some("KP")),
        ("::ffff:203.0.113.7", Some("KP")),
        ("203.0.114.0", None),
        ("192.0.2.63", Some("SE")),
        ("192.0.2.64", None),
        ("192.0.2.128", Some("KP")),
        ("2001:db8::1", Some("DE")),
        ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", Some("DE")),
        ("2001:db7:ffff::", None),
        ("198.51.100.1", Some("JP")),
        ("198.51.100.128", None),
        ("2001:db9:1::", Some("FR")),
        ("100.64.0.1", None),
        ("10.1.2.3", None),
        ("172.16.0.1", None),
        ("::1", None),
    ] {
        assert_eq!(geo.country(ip(addr)).as_deref(), want, "{addr}");
    }
}

#[test]
fn mmdb_ipv4_only_database_knows_no_ipv6() {
    let mut w = mmdb::Writer::new(4);
    let kp = w.value(&V::Map(vec![("country", iso("KP"))]));
    w.insert("175.45.176.0/22", kp);
    let bytes = w.finish("DBIP-Country-Lite");
    maxminddb::Reader::from_source(bytes.clone())
        .unwrap()
        .verify()
        .unwrap();
    let geo = GeoIp::open(&scratch("v4.MMDB", &bytes)).unwrap();
    assert_eq!(geo.country(ip("175.45.179.255")).as_deref(), Some("KP"));
    assert_eq!(geo.country(ip("175.45.180.0")), None);
    assert_eq!(geo.country(ip("2001:db8::1")), None);
}

#[test]
fn mmdb_files_that_are_not_databases_are_refused() {
    let mut truncated = country_db();
    truncated.truncate(truncated.len() - 40);
    for (name, bytes) in [
        ("empty.mmdb", Vec::new()),
        ("text.mmdb", b"1.2.3.4,1.2.3.5,US\n".to_vec()),
        ("truncated.mmdb", truncated),
    ] {
        let path = scratch(name, &bytes);
        let e = GeoIp::open(&path).unwrap_err();
        assert!(matches!(e, GeoIpError::Invalid { .. }), "{name}: {e:?}");
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("{}: not a usable MaxMind DB file", path.display())),
            "{text}"
        );
    }
}

#[test]
fn csv_file_loads_and_reports_its_bad_line() {
    let geo = GeoIp::open(&scratch(
        "countries.csv",
        b"# dbip-country-lite style\n1.0.0.0,1.0.0.255,AU\n2001:200::,2001:200:ffff:ffff:ffff:ffff:ffff:ffff,JP\n",
    ))
    .unwrap();
    assert_eq!(geo.country(ip("1.0.0.128")).as_deref(), Some("AU"));
    assert_eq!(geo.country(ip("2001:200::5")).as_deref(), Some("JP"));
    let path = scratch(
        "bad.csv",
        b"1.0.0.0,1.0.0.255,AU\n1.0.1.0,1.0.1.255,Australia\n",
    );
    let e = GeoIp::open(&path).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}:2: country \"Australia\" is not a two-letter ISO 3166-1 code",
            path.display()
        )
    );
}

// === the country in decisions ===

const COUNTRIES_CSV: &[u8] = b"203.0.113.0,203.0.113.255,KP\n198.51.100.0/24,DE\n";

const FORBID_KP: &str = r#"
@id("no-kp")
forbid (principal, action, resource)
when { context has country && context.country == "KP" };
"#;

fn principal_at(source: Option<&str>) -> Principal {
    Principal {
        id: "alice".into(),
        kind: PrincipalKind::User,
        auth_method: "jwt",
        tenant: None,
        roles: vec!["operator".into()],
        details: Some(Arc::new(PrincipalDetails {
            source_ip: source.map(ip),
            auth_time: Some(NOW_SECS - 10),
            amr: vec!["pwd".into(), "mfa".into()],
            ..PrincipalDetails::default()
        })),
    }
}

fn resolver(name: &str) -> GeoSubjects {
    let path = scratch(name, COUNTRIES_CSV);
    GeoSubjects::new(Arc::new(GeoIp::open(&path).unwrap()))
}

fn call_exchange<'a>(msg: &'a Message, p: &'a Principal) -> Exchange<'a> {
    let mut ex = Exchange::new(Direction::ClientToServer, msg, p, Era::Legacy);
    ex.server = Some("docker");
    ex.tool = Some("docker_ps");
    ex
}

fn subject_at(r: &GeoSubjects, source: Option<&str>) -> Subject {
    let msg = Message::request(
        RequestId::Number(1),
        "tools/call",
        Some(json!({ "name": "docker_ps", "arguments": {} })),
    );
    let p = principal_at(source);
    r.resolve(&call_exchange(&msg, &p))
}

#[test]
fn resolver_sets_the_country_of_the_source_address() {
    let r = resolver("resolver.csv");
    let s = subject_at(&r, Some("203.0.113.9"));
    assert_eq!(s.attributes.country.as_deref(), Some("KP"));
    assert_eq!(s.attributes.source_ip, Some(ip("203.0.113.9")));
    assert_eq!(s.roles, ["operator"]);
    assert_eq!(s.attributes.auth_method.as_deref(), Some("jwt"));
    let s = subject_at(&r, Some("::ffff:198.51.100.200"));
    assert_eq!(s.attributes.country.as_deref(), Some("DE"));
    assert_eq!(subject_at(&r, Some("192.0.2.1")).attributes.country, None);
    assert_eq!(subject_at(&r, None).attributes.country, None);
}

/// An inner resolver that already knows the country (say, from a trusted header).
#[derive(Debug)]
struct Swiss;
impl SubjectResolver for Swiss {
    fn resolve(&self, exchange: &Exchange<'_>) -> Subject {
        let mut s = Subject::from_principal(exchange.principal);
        s.attributes.country = Some("CH".into());
        s
    }
}

#[test]
fn a_country_the_inner_resolver_set_is_kept() {
    let r = resolver("inner.csv");
    let r = GeoSubjects::over(Arc::new(Swiss), r.geoip().clone());
    let s = subject_at(&r, Some("203.0.113.9"));
    assert_eq!(s.attributes.country.as_deref(), Some("CH"));
}

#[test]
fn cedar_forbids_a_country_through_the_guard() {
    let engine = Arc::new(Engine::new(policy_with("", FORBID_KP)));
    let guard = AuthzGuard::new(engine)
        .with_clock(Arc::new(ManualClock::new(now())))
        .with_resolver(Arc::new(resolver("cedar.csv")));
    let chain = Chain::new(vec![Box::new(guard)]);
    let msg = Message::request(
        RequestId::Number(7),
        "tools/call",
        Some(json!({ "name": "docker_ps", "arguments": {} })),
    );
    for source in [Some("198.51.100.7"), Some("192.0.2.1"), None] {
        let p = principal_at(source);
        let decision = chain.run(&call_exchange(&msg, &p)).decision;
        assert_eq!(decision, ChainDecision::Allow, "{source:?}");
    }
    let p = principal_at(Some("203.0.113.9"));
    let ChainDecision::Deny(d) = chain.run(&call_exchange(&msg, &p)).decision else {
        panic!("a call from KP must be refused")
    };
    assert_eq!(d.public_message, "Unknown tool: docker_ps");
    let detail = d.detail.unwrap();
    assert!(detail.contains("no-kp"), "{detail}");
}

#[test]
fn cedar_decision_names_the_country_policy() {
    let policy = policy_with("", FORBID_KP);
    let r = resolver("decision.csv");
    let from_kp = subject_at(&r, Some("203.0.113.9"));
    let d = policy.decide(
        &AuthzRequest::call(&from_kp, "docker", "docker_ps", None, now()),
        sallyport_policy::TrustInput::Fixed(1.0),
    );
    assert_eq!(d.outcome, Outcome::Deny, "{}", d.summary());
    assert_eq!(d.decided_by, Stage::Cedar);
    assert_eq!(d.policy_ids, ["no-kp"]);
    let from_de = subject_at(&r, Some("198.51.100.7"));
    let d = policy.decide(
        &AuthzRequest::call(&from_de, "docker", "docker_ps", None, now()),
        sallyport_policy::TrustInput::Fixed(1.0),
    );
    assert_eq!(d.outcome, Outcome::Allow, "{}", d.summary());
}

#[test]
fn trust_location_drops_on_a_new_country_from_the_database() {
    let trust = "trust:\n  principals:\n    alice:\n      countries: [DE]\n";
    let engine = Engine::new(policy_with(trust, ""));
    let r = resolver("trust.csv");
    let at = |source: &str, secs: i64| {
        let s = subject_at(&r, Some(source));
        let d = engine.decide(&AuthzRequest::call(
            &s,
            "docker",
            "docker_ps",
            None,
            Timestamp::from_secs(NOW_SECS + secs),
        ));
        d.trust.unwrap()
    };
    let home = at("198.51.100.7", 0);
    assert_eq!(home.location, 0.7, "listed country: {:?}", home.notes);
    let away = at("203.0.113.9", 1);
    assert_eq!(away.location, 0.1, "{:?}", away.notes);
    assert!(away.notes.contains(&"new country KP".to_owned()));
    assert!(away.score < home.score);
}
