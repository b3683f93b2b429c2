//! Authentication (each method) and authorization (RBAC only, and with 100 Cedar
//! policies) per exchange, with a warm JWKS cache:
//! `cargo bench -p sallyport-bench --bench authn_authz`. The fixture is
//! `sallyport_bench::authn_authz`; p50/p99 come from the `authn-authz-latency` binary,
//! since criterion reports means.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sallyport_bench::authn_authz::{Case, Fixture, Method, Policy};

/// The gateway binary's allocator (`crates/sallyport/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn authn(c: &mut Criterion, fixture: &Fixture) {
    let mut group = c.benchmark_group("authn");
    for method in Method::ALL {
        group.bench_function(method.name(), |b| {
            b.iter(|| fixture.authenticate(black_box(method)).unwrap())
        });
    }
    group.finish();
}

fn authz(c: &mut Criterion, fixture: &Fixture) {
    let mut group = c.benchmark_group("authz");
    for policy in [Policy::Rbac, Policy::Cedar100] {
        group.bench_function(policy.name(), |b| {
            b.iter(|| fixture.authorize(black_box(policy), fixture.subject()))
        });
    }
    group.finish();
}

fn exchange(c: &mut Criterion, fixture: &Fixture) {
    let mut group = c.benchmark_group("authn_authz");
    for case in Case::ALL {
        let Case::Exchange(method, policy) = case else {
            continue;
        };
        group.bench_function(case.name(), |b| {
            b.iter(|| {
                fixture
                    .exchange(black_box(method), black_box(policy))
                    .unwrap()
            })
        });
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let fixture = Fixture::new().unwrap();
    authn(c, &fixture);
    authz(c, &fixture);
    exchange(c, &fixture);
    // Every decision above was an allow and no key was fetched: the cache stayed warm.
    fixture.check().unwrap();
    assert_eq!(fixture.jwks_fetches(), 0);
}

criterion_group!(benches, bench);
criterion_main!(benches);
