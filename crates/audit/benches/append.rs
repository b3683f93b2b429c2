//! Append throughput: SQLite and PostgreSQL, sync and async durability.
//!
//! Run: `cargo bench -p sallyport-audit --bench append -- --warm-up-time 1 --measurement-time 3`
//! PostgreSQL cases run when 127.0.0.1:5432 (user postgres, database test) answers.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sallyport_audit::{
    AuditConfig, AuditEvent, AuditLog, CheckpointConfig, DurabilityConfig, DurabilityMode,
    SigningKey, StoreConfig, WhenFull,
};

/// Concurrent appenders in sync mode (requests in flight at the gateway).
const SYNC_CONCURRENCY: u64 = 256;

fn event() -> AuditEvent {
    let mut e = AuditEvent::new("mcp_request", "alice", "tools/call", "allow");
    e.resource = Some("mcp://fs/read_file".into());
    e.session = Some("0b5e2a1c-7d1f-4a3e-9c1b-2f3e4d5c6b7a".into());
    e.source_ip = Some("10.1.2.3".into());
    e.compliance_tags = vec!["sox".into()];
    e
}

fn config(store: StoreConfig, mode: DurabilityMode) -> AuditConfig {
    AuditConfig {
        store,
        signing_key: "unused".into(),
        public_key: None,
        durability: DurabilityConfig {
            mode,
            queue_capacity: 20_000,
            when_full: WhenFull::Block,
            max_batch: 1_000,
        },
        checkpoint: CheckpointConfig {
            every_events: 10_000,
            every_secs: 10,
        },
        retention: Default::default(),
        exporters: Vec::new(),
        compliance: Vec::new(),
    }
}

async fn run(log: &Arc<AuditLog>, mode: DurabilityMode, iters: u64) -> Duration {
    let start = Instant::now();
    match mode {
        DurabilityMode::Async => {
            for _ in 0..iters {
                log.append(event()).await.unwrap();
            }
        }
        DurabilityMode::Sync => {
            let mut tasks = tokio::task::JoinSet::new();
            for t in 0..SYNC_CONCURRENCY {
                let log = log.clone();
                let n = iters / SYNC_CONCURRENCY + u64::from(t < iters % SYNC_CONCURRENCY);
                tasks.spawn(async move {
                    for _ in 0..n {
                        log.append(event()).await.unwrap();
                    }
                });
            }
            while tasks.join_next().await.is_some() {}
        }
    }
    // Count only committed events: flush waits for everything queued before it.
    log.flush().await.unwrap();
    start.elapsed()
}

fn bench_store(c: &mut Criterion, name: &str, store: StoreConfig) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group(format!("audit_append/{name}"));
    group.throughput(Throughput::Elements(1));
    for (label, mode) in [
        ("sync", DurabilityMode::Sync),
        ("async", DurabilityMode::Async),
    ] {
        let log = rt.block_on(AuditLog::open_with_key(
            config(store.clone(), mode),
            SigningKey::generate().unwrap(),
        ));
        let log = match log {
            Ok(log) => Arc::new(log),
            Err(error) => {
                eprintln!("skipping audit_append/{name}/{label}: {error}");
                continue;
            }
        };
        group.bench_function(label, |b| {
            b.iter_custom(|iters| rt.block_on(run(&log, mode, iters)))
        });
    }
    group.finish();
}

fn append(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    bench_store(
        c,
        "sqlite",
        StoreConfig::Sqlite {
            path: dir.path().join("bench.db"),
        },
    );
    let schema = format!("audit_bench_{}", std::process::id());
    bench_store(
        c,
        "postgres",
        StoreConfig::Postgres {
            connection: "host=127.0.0.1 port=5432 user=postgres dbname=test".into(),
            password_env: None,
            schema: schema.clone(),
            chain: "bench".into(),
        },
    );
    let _ = std::thread::spawn(move || {
        let options = sallyport_audit::store::postgres::PgOptions {
            connection: "host=127.0.0.1 port=5432 user=postgres dbname=test".into(),
            password: None,
            schema: schema.clone(),
            chain: "bench".into(),
        };
        if let Ok(mut s) = sallyport_audit::store::postgres::PgStore::open(&options) {
            let _ = s.execute_raw(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"));
        }
    })
    .join();
}

criterion_group!(benches, append);
criterion_main!(benches);
