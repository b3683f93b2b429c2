//! The config shape: seed 001's tables parse and compile; mistakes are reported with paths.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sallyport_limits::config::{RedisFailureMode, ToolLimitKey, WindowLimitConfig};
use sallyport_limits::{
    CircuitBreakers, Clock, ConcurrencyLimits, LimitsConfig, LocalLimiter, RateLimitConfig,
    Timeouts,
};

fn parse(text: &str) -> LimitsConfig {
    serde_saphyr::from_str(text).unwrap()
}

#[test]
fn seed_001_example_parses_and_compiles() {
    let config = parse(include_str!("../examples/seed001.yaml"));
    let rate = &config.rate_limits;
    let window = |rpm, rph, burst| WindowLimitConfig {
        requests_per_minute: Some(rpm),
        requests_per_hour: Some(rph),
        burst_size: Some(burst),
    };
    assert_eq!(rate.global, Some(window(1000, 50_000, 100)));
    assert_eq!(rate.per_principal, Some(window(60, 1000, 10)));
    assert_eq!(rate.service_accounts, Some(window(200, 10_000, 50)));
    assert_eq!(rate.per_tool["execute_command"].windows(), window(5, 50, 2));
    assert_eq!(rate.per_tool["docker_build"].windows(), window(2, 20, 1));
    assert_eq!(rate.per_tool["kubectl_apply"].windows(), window(10, 100, 5));
    assert_eq!(rate.per_tool["kubectl_apply"].key, ToolLimitKey::Tool);
    assert!(rate.redis.is_none());
    assert_eq!(
        config.circuit_breakers.profiles["critical_tools"].failure_threshold,
        3
    );

    LocalLimiter::new(rate, Clock::system()).unwrap();
    CircuitBreakers::new(&config.circuit_breakers, Clock::system()).unwrap();
    Timeouts::new(&config.timeouts).unwrap();
    ConcurrencyLimits::new(&config.concurrency).unwrap();
}

#[test]
fn full_example_parses_and_compiles() {
    let config = parse(include_str!("../examples/full.yaml"));
    let redis = config.rate_limits.redis.as_ref().unwrap();
    assert_eq!(redis.on_redis_failure, RedisFailureMode::Closed);
    assert_eq!(redis.local_allowance, 5);
    assert_eq!(
        config.rate_limits.quotas.as_ref().unwrap().tenants["trial"],
        500
    );
    assert_eq!(
        config.rate_limits.per_tool["docker_*"].key,
        ToolLimitKey::PrincipalAndTool
    );
    LocalLimiter::new(&config.rate_limits, Clock::system()).unwrap();
    CircuitBreakers::new(&config.circuit_breakers, Clock::system()).unwrap();
    ConcurrencyLimits::new(&config.concurrency).unwrap();
    let timeouts = Timeouts::new(&config.timeouts).unwrap();
    assert_eq!(
        timeouts.timeout_for("slow_server", Some("docker_build")),
        Duration::from_secs(600)
    );
    assert_eq!(
        timeouts.timeout_for("slow_server", Some("ls")),
        Duration::from_secs(300)
    );
    assert_eq!(
        timeouts.timeout_for("slow_server", None),
        Duration::from_secs(300)
    );
    assert_eq!(
        timeouts.timeout_for("fast", Some("ls")),
        Duration::from_secs(60)
    );
    assert_eq!(timeouts.connect_timeout(), Duration::from_secs(10));
    assert_eq!(timeouts.idle_stream_timeout(), Duration::from_secs(300));
    assert_eq!(timeouts.max_stream_life(), Duration::from_secs(3600));
}

#[test]
fn defaults_are_fail_closed_and_shared_per_tool() {
    let config: RateLimitConfig = serde_json::from_str(
        r#"{"redis": {"url": "redis://127.0.0.1:6379"},
            "per_tool": {"x": {"requests_per_minute": 1}}}"#,
    )
    .unwrap();
    let redis = config.redis.unwrap();
    assert_eq!(redis.on_redis_failure, RedisFailureMode::Closed);
    assert_eq!(redis.timeout_ms, 100);
    assert_eq!(redis.local_allowance, 0);
    assert_eq!(config.per_tool["x"].key, ToolLimitKey::Tool);
    assert_eq!(format!("{:?}", redis.url), "RedisUrl(<redacted>)");
}

#[test]
fn unknown_fields_are_rejected() {
    let typo = "rate_limits:\n  per_user:\n    requests_per_minute: 60\n";
    assert!(serde_saphyr::from_str::<LimitsConfig>(typo).is_err());
    let typo = "rate_limits:\n  global:\n    requests_per_minut: 60\n";
    assert!(serde_saphyr::from_str::<LimitsConfig>(typo).is_err());
    let typo = "rate_limits:\n  redis:\n    url: redis://x\n    on_redis_failure: maybe\n";
    assert!(serde_saphyr::from_str::<LimitsConfig>(typo).is_err());
}

#[test]
fn compile_collects_every_error_with_its_path() {
    let config = parse(
        "rate_limits:
  global: { burst_size: 3 }
  per_principal: { requests_per_minute: 0, burst_size: 0 }
  per_tool:
    x: { requests_per_hour: 0 }
circuit_breakers:
  per_tool: { x: nonexistent }
  profiles:
    broken: { failure_threshold: 0, recovery_timeout_secs: 5 }
",
    );
    let errors = LocalLimiter::new(&config.rate_limits, Clock::system()).unwrap_err();
    let paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "per_principal.burst_size",
            "per_principal.requests_per_minute",
            "per_tool.x.requests_per_hour",
            "global",
        ]
    );
    let errors = CircuitBreakers::new(&config.circuit_breakers, Clock::system()).unwrap_err();
    let text: Vec<_> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "profiles.broken: failure_threshold must be at least 1",
            "per_tool.x: no profile named \"nonexistent\"",
        ]
    );
}

#[test]
fn json_schema_forbids_unknown_properties() {
    let schema = schemars::schema_for!(LimitsConfig);
    let text = serde_json::to_string(&schema).unwrap();
    assert!(text.contains("\"additionalProperties\":false"));
    assert!(text.contains("requests_per_minute"));
}
