//! `NetworkGate::admit` against a 100k-entry reputation list.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue};
use sallyport_network::{
    NetworkConfig, NetworkGate, PerIpConfig, ReputationConfig, ReputationList, RequestMeta,
};

const ENTRIES: usize = 100_000;

/// xorshift64: deterministic addresses without a rand dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// 100k lines: 60% /32, 30% /24, 10% IPv6 /48, DROP-style comments on some.
fn reputation_file(dir: &std::path::Path) -> PathBuf {
    let mut rng = Rng(0x5A11_9087);
    let mut text = String::from("; synthetic blocklist\n");
    for i in 0..ENTRIES {
        let v4 = Ipv4Addr::from(rng.next() as u32 | 0x0100_0000);
        match i % 10 {
            0 => {
                let v6 = Ipv6Addr::from(u128::from(rng.next()) << 64 | 0x2000 << 112);
                writeln!(text, "{v6}/48").unwrap();
            }
            1..=3 => writeln!(text, "{v4}/24 ; SBL{i}").unwrap(),
            _ => writeln!(text, "{v4}").unwrap(),
        }
    }
    let path = dir.join("reputation.txt");
    std::fs::write(&path, text).unwrap();
    path
}

fn gate(path: PathBuf, per_ip: Option<PerIpConfig>) -> NetworkGate {
    let config = NetworkConfig {
        deny: vec!["198.51.100.0/24".into(), "2001:db8:bad::/48".into()],
        trusted_proxies: vec!["10.0.0.0/8".into()],
        reputation: Some(ReputationConfig::with_files(vec![path])),
        per_ip,
        ..NetworkConfig::default()
    };
    NetworkGate::build(&config).unwrap()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = reputation_file(dir.path());
    let config = ReputationConfig::with_files(vec![path.clone()]);
    c.bench_function("reputation_load_100k", |b| {
        b.iter(|| ReputationList::load(config.clone()).unwrap())
    });

    let plain = gate(path.clone(), None);
    let per_ip = PerIpConfig {
        requests_per_second: Some(u32::MAX),
        burst: Some(u32::MAX),
        ..PerIpConfig::default()
    };
    let limited = gate(path, Some(per_ip));
    let snapshot = plain.reputation().unwrap().snapshot();
    let listed = snapshot.ranges().nth(ENTRIES / 3).map(|r| match r {
        sallyport_network::IpRange::V4(a, _) => IpAddr::V4(a.into()),
        sallyport_network::IpRange::V6(a, _) => IpAddr::V6(a.into()),
    });

    let mut headers = HeaderMap::new();
    headers.insert("content-length", HeaderValue::from_static("512"));
    let mut forwarded = headers.clone();
    forwarded.insert(
        "x-forwarded-for",
        HeaderValue::from_static("203.0.113.7, 10.0.0.2"),
    );

    let meta = |peer: IpAddr, headers| RequestMeta {
        peer,
        target: "/mcp?session=abc",
        headers,
    };
    let clean: IpAddr = "203.0.113.7".parse().unwrap();
    let proxy: IpAddr = "10.0.0.1".parse().unwrap();

    let mut group = c.benchmark_group("admit_100k");
    group.bench_function("allow_direct", |b| {
        b.iter(|| plain.admit(black_box(&meta(clean, &headers))))
    });
    group.bench_function("refuse_reputation", |b| {
        let peer = listed.unwrap();
        b.iter(|| plain.admit(black_box(&meta(peer, &headers))))
    });
    group.bench_function("allow_via_proxy_xff", |b| {
        b.iter(|| plain.admit(black_box(&meta(proxy, &forwarded))))
    });
    group.bench_function("allow_direct_rate_limited_1k_clients", |b| {
        let mut n = 0u32;
        b.iter(|| {
            n = (n + 1) % 1000;
            let peer = IpAddr::V4(Ipv4Addr::from(0xCB00_7100 + n));
            limited.admit(black_box(&meta(peer, &headers)))
        })
    });
    group.bench_function("traversal_refused", |b| {
        let m = RequestMeta {
            peer: clean,
            target: "/mcp/%252e%252e/etc",
            headers: &headers,
        };
        b.iter(|| plain.admit(black_box(&m)))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
