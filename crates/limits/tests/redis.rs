//! The Redis limiter against the real Redis at 127.0.0.1:6379: separate limiter instances
//! (each with its own connection, as separate gateway processes would have) share one
//! budget; outages apply the failure mode and recovery is picked up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sallyport_limits::{
    Clock, LimitDecision, LimitScope, RateLimitConfig, RedisLimiter, Subject, SubjectKind,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const REDIS: &str = "127.0.0.1:6379";

/// A key prefix no other test (or test run) uses.
fn unique_prefix(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("sallyport-test:{test}:{}:{nanos}", std::process::id())
}

fn limiter(url: &str, prefix: &str, limits: &str) -> RedisLimiter {
    let yaml = format!("{limits}\nredis:\n  url: {url}\n  key_prefix: \"{prefix}\"\n");
    redis_limiter(&yaml)
}

fn redis_limiter(yaml: &str) -> RedisLimiter {
    let config: RateLimitConfig = serde_saphyr::from_str(yaml).unwrap();
    RedisLimiter::new(&config, Clock::system()).unwrap()
}

fn user(id: &str) -> Subject<'_> {
    Subject {
        principal_id: id,
        kind: SubjectKind::User,
        tenant: None,
        tool: None,
    }
}

/// Delete the keys a test wrote.
async fn clean_up(prefix: &str) {
    let client = redis::Client::open(format!("redis://{REDIS}")).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut connection)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn two_instances_enforce_one_combined_limit() {
    let prefix = unique_prefix("combined");
    // Ten calls an hour, all at once: no refill during the test.
    let limits = "per_principal: { requests_per_hour: 10 }";
    let first = limiter(&format!("redis://{REDIS}"), &prefix, limits);
    let second = limiter(&format!("redis://{REDIS}"), &prefix, limits);
    let alice = user("alice");
    let mut allowed = 0;
    for call in 0..20 {
        let instance = if call % 2 == 0 { &first } else { &second };
        if instance.check(&alice).await.is_allowed() {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 10, "one budget for both instances");
    let LimitDecision::Refuse {
        rule,
        retry_after,
        scope,
    } = second.check(&alice).await
    else {
        panic!("budget exhausted");
    };
    assert_eq!(
        (rule.as_str(), scope),
        ("per_principal:per_hour", LimitScope::Principal)
    );
    assert!(retry_after > Duration::from_secs(350) && retry_after <= Duration::from_secs(360));
    // Another principal has its own budget.
    assert!(first.check(&user("bob")).await.is_allowed());
    assert!(first.is_healthy() && second.is_healthy());
    clean_up(&prefix).await;
}

#[tokio::test]
async fn refusal_names_the_strictest_limit_and_charges_nothing() {
    let prefix = unique_prefix("strictest");
    let limits = "per_principal: { requests_per_hour: 3 }
per_tool:
  execute_command: { requests_per_hour: 1 }";
    let limiter = limiter(&format!("redis://{REDIS}"), &prefix, limits);
    let exec = Subject {
        tool: Some("execute_command"),
        ..user("alice")
    };
    assert!(limiter.check(&exec).await.is_allowed());
    for _ in 0..5 {
        let LimitDecision::Refuse {
            rule, retry_after, ..
        } = limiter.check(&exec).await
        else {
            panic!("tool budget exhausted");
        };
        assert_eq!(rule, "per_tool:execute_command:per_hour");
        assert!(retry_after > Duration::from_secs(3590));
    }
    // The refused calls were not charged to alice's own budget: two calls are left.
    assert!(limiter.check(&user("alice")).await.is_allowed());
    assert!(limiter.check(&user("alice")).await.is_allowed());
    let LimitDecision::Refuse { rule, .. } = limiter.check(&user("alice")).await else {
        panic!("own budget exhausted");
    };
    assert_eq!(rule, "per_principal:per_hour");
    clean_up(&prefix).await;
}

#[tokio::test]
async fn tenant_quota_is_shared_by_instances() {
    let prefix = unique_prefix("quota");
    let limits = "quotas: { per_tenant_daily: 5 }";
    let first = limiter(&format!("redis://{REDIS}"), &prefix, limits);
    let second = limiter(&format!("redis://{REDIS}"), &prefix, limits);
    let member = |id| Subject {
        tenant: Some("acme"),
        ..user(id)
    };
    let mut allowed = 0;
    for call in 0..9 {
        let instance = if call % 2 == 0 { &first } else { &second };
        if instance
            .check(&member(if call % 3 == 0 { "a" } else { "b" }))
            .await
            .is_allowed()
        {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 5);
    let LimitDecision::Refuse {
        rule,
        retry_after,
        scope,
    } = first.check(&member("c")).await
    else {
        panic!("quota exhausted");
    };
    assert_eq!(
        (rule.as_str(), scope),
        ("quota:tenant_daily", LimitScope::Tenant)
    );
    assert!(retry_after <= Duration::from_secs(86_400));
    assert!(
        second
            .check(&Subject {
                tenant: Some("other"),
                ..user("a")
            })
            .await
            .is_allowed()
    );
    clean_up(&prefix).await;
}

#[tokio::test]
async fn local_allowances_still_enforce_the_combined_limit() {
    let prefix = unique_prefix("allowance");
    let yaml = format!(
        "per_principal: {{ requests_per_hour: 10 }}
redis:
  url: redis://{REDIS}
  key_prefix: \"{prefix}\"
  local_allowance: 4
  local_allowance_ttl_ms: 60000"
    );
    let first = redis_limiter(&yaml);
    let second = redis_limiter(&yaml);
    let alice = user("alice");
    let mut allowed = 0;
    for call in 0..30 {
        let instance = if call % 2 == 0 { &first } else { &second };
        if instance.check(&alice).await.is_allowed() {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 10);
    clean_up(&prefix).await;
}

#[tokio::test]
async fn unreachable_redis_fails_closed_by_default_and_open_when_configured() {
    let prefix = unique_prefix("unreachable");
    let limits = "per_principal: { requests_per_minute: 1000 }";
    let closed = limiter("redis://127.0.0.1:1", &prefix, limits);
    let LimitDecision::Refuse {
        rule,
        scope,
        retry_after,
    } = closed.check(&user("a")).await
    else {
        panic!("fail closed refuses");
    };
    assert_eq!(
        (rule.as_str(), scope),
        ("redis_unavailable", LimitScope::Backend)
    );
    assert_eq!(retry_after, Duration::from_secs(1));
    assert!(!closed.is_healthy());
    assert!(!closed.probe().await);

    let open = redis_limiter(&format!(
        "{limits}\nredis: {{ url: \"redis://127.0.0.1:1\", on_redis_failure: open }}"
    ));
    assert!(open.check(&user("a")).await.is_allowed());
    assert!(!open.is_healthy());
    // Config without Redis rules at all never asks Redis.
    let idle = redis_limiter("redis: { url: \"redis://127.0.0.1:1\" }");
    assert!(idle.check(&user("a")).await.is_allowed());
}

/// A TCP proxy to Redis that can cut every connection and refuse new ones, then recover.
struct SwitchableProxy {
    address: String,
    enabled: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl SwitchableProxy {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let enabled = Arc::new(AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = tokio::spawn({
            let (enabled, connections) = (enabled.clone(), connections.clone());
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if !enabled.load(Ordering::SeqCst) {
                        continue; // dropped: the client sees the connection close
                    }
                    connections.lock().unwrap().push(tokio::spawn(async move {
                        if let Ok(mut redis) = TcpStream::connect(REDIS).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut redis).await;
                        }
                    }));
                }
            }
        });
        Self {
            address,
            enabled,
            connections,
            accept,
        }
    }

    fn cut(&self) {
        self.enabled.store(false, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.enabled.store(true, Ordering::SeqCst);
    }
}

impl Drop for SwitchableProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

#[tokio::test]
async fn outage_refuses_and_recovery_is_picked_up() {
    let prefix = unique_prefix("recovery");
    let proxy = SwitchableProxy::start().await;
    let limiter = limiter(
        &format!("redis://{}", proxy.address),
        &prefix,
        "per_principal: { requests_per_minute: 10000 }",
    );
    assert!(!limiter.is_healthy(), "unknown until Redis first answers");
    assert!(limiter.check(&user("a")).await.is_allowed());
    assert!(limiter.is_healthy());

    proxy.cut();
    let decision = limiter.check(&user("a")).await;
    assert!(
        matches!(&decision, LimitDecision::Refuse { rule, .. } if rule == "redis_unavailable"),
        "{decision:?}"
    );
    assert!(!limiter.is_healthy());
    // Still down after the cool-down: every check keeps failing closed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!limiter.check(&user("a")).await.is_allowed());

    proxy.restore();
    let mut recovered = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if limiter.check(&user("a")).await.is_allowed() {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "Redis is used again once reachable");
    assert!(limiter.is_healthy());
    clean_up(&prefix).await;
}

#[tokio::test]
async fn local_allowance_serves_claimed_calls_without_redis() {
    let prefix = unique_prefix("allowance-offline");
    let proxy = SwitchableProxy::start().await;
    let limiter = redis_limiter(&format!(
        "per_principal: {{ requests_per_minute: 10000 }}
redis:
  url: redis://{}
  key_prefix: \"{prefix}\"
  local_allowance: 4
  local_allowance_ttl_ms: 60000",
        proxy.address
    ));
    assert!(limiter.check(&user("a")).await.is_allowed()); // claims 4, serves 1
    proxy.cut();
    for _ in 0..3 {
        assert!(
            limiter.check(&user("a")).await.is_allowed(),
            "served from the allowance"
        );
    }
    assert!(
        !limiter.check(&user("a")).await.is_allowed(),
        "allowance spent, Redis down"
    );
    // Another principal has no allowance of its own.
    assert!(!limiter.check(&user("b")).await.is_allowed());
    drop(proxy);
    clean_up(&prefix).await;
}
