//! The top-level configuration document and its gateway-wide sections.
//!
//! Upstream server entries live in `server.rs`. Every `///` doc here becomes the
//! description of the field in `schema/sallyport.schema.json`.

use std::net::{Ipv4Addr, SocketAddr};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::secret::SecretString;
use crate::server::Server;

/// Sallyport gateway configuration (`sallyport.yaml`).
///
/// Values may reference environment variables as `${VAR}` or `${VAR:-default}`;
/// write `$${` for a literal `${`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Config {
    /// Where the gateway accepts MCP clients.
    #[serde(default)]
    pub listen: Listen,
    /// Upstream MCP servers the gateway fronts and federates; at least one.
    #[schemars(length(min = 1))]
    pub servers: Vec<Server>,
    /// How the tools, prompts and resources of several servers are merged into one.
    #[serde(default)]
    pub federation: Federation,
    /// Size and shape limits applied to every JSON-RPC message in both directions, and
    /// traffic protection: rate limits, quotas, concurrency, timeouts, circuit breakers
    /// (docs/traffic.md).
    #[serde(default)]
    pub limits: MessageLimits,
    /// Network policy at the HTTP edge, before authentication: IP allow and deny lists,
    /// reputation files, trusted proxies, per-IP limits, slow-client timeouts and
    /// request-line checks (docs/traffic.md). Absent: none of these checks run.
    #[serde(default)]
    pub network: Option<sallyport_network::NetworkConfig>,
    /// Message guards and how the gateway behaves when a guard cannot decide.
    #[serde(default)]
    pub guards: Guards,
    /// Authentication of clients (JWT, API keys, mTLS, anonymous). Absent: no credentials
    /// are asked for, every caller is the local operator — only sensible on loopback.
    #[serde(default)]
    pub auth: Option<sallyport_identity::AuthConfig>,
    /// Authorization of tools, prompts and resources by role, permission and Cedar policy.
    /// Absent: no authorization guard, every caller may use every tool not filtered out.
    #[serde(default)]
    pub authz: Option<Authz>,
    /// Tamper-evident audit trail: every decision becomes a hash-chained event in a SQLite or
    /// PostgreSQL store, with Ed25519-signed checkpoints (docs/audit.md). Absent: no audit
    /// store (decisions still reach the access log). Recommended: a SQLite store with
    /// `durability.mode: sync`, the signing key outside the store's directory, and
    /// `public_key` written for `sallyport audit verify`.
    #[serde(default)]
    pub audit: Option<sallyport_audit::AuditConfig>,
    /// Threat detection: poisoned tool definitions, definition pinning (rug pulls),
    /// arguments, results (injection, secrets, personal data) and flow rules, each with an
    /// action per tenant, server and tool (docs/SECURITY.md). Absent: none of these guards run.
    #[serde(default)]
    pub detect: Option<sallyport_guards::DetectionConfig>,
    /// Security events and automated response: decisions that are security events
    /// (failed authentication, policy refusals, limits, threats, privilege escalation, bad
    /// certificates) are counted per principal or address in sliding windows, and reaching
    /// a threshold logs, alerts, or blocks the principal or address at the HTTP edge
    /// (docs/security-events.md). Absent: nothing is counted or blocked. A reload applies
    /// changes (a changed section starts counting afresh).
    #[serde(default)]
    pub security_events: Option<sallyport_respond::EventRulesConfig>,
    /// Human approval of held calls (a detector's `require_approval`, a step-up with
    /// `on_unmet: hold`): the call waits up to `wait_secs` for an operator's decision in
    /// `sallyport approvals`; an approval admits that exact call once (docs/approvals.md).
    /// Absent: a held call is refused at once. Changes take effect at the next restart.
    #[serde(default)]
    pub approvals: Option<sallyport_approvals::ApprovalsConfig>,
    /// Correlation rules over the security event stream (threshold, sequence, distinct
    /// count, absence), with the shipped rules for brute force, credential stuffing, tool
    /// scanning, privilege escalation, exfiltration chains and repeated detector hits; a
    /// rule that fires performs its actions (alert, block, raise risk, require approval,
    /// end sessions) at once (docs/correlation.md). Absent: no correlation. A reload applies
    /// changes, to the section or its rules file (a changed rule set starts afresh).
    #[serde(default)]
    pub correlation: Option<sallyport_correlate::CorrelationConfig>,
    /// Where alerts go: signed generic webhooks, Slack, PagerDuty (docs/notifications.md).
    /// Only alerts of correlation rules with an `alert` action are sent. A reload applies
    /// changes.
    #[serde(default)]
    pub notifications: Option<sallyport_notify::NotifyConfig>,
    /// Incidents: alerts of correlation rules grouped per principal or address, moved from
    /// open to acknowledged to resolved with `sallyport incidents` (docs/correlation.md).
    /// Absent: alerts are logged, audited and notified, but not grouped. Changes take effect
    /// at the next restart.
    #[serde(default)]
    pub incidents: Option<sallyport_incidents::IncidentsConfig>,
    /// Where blocks, quarantines and approval holds are kept beyond the gateway's memory:
    /// a SQLite file (`path`: they survive restarts) or Redis shared by replicas (`redis`:
    /// every change reaches every replica at once) (docs/response.md). Absent: in memory
    /// only; a restart lifts them and replicas do not share them. Changes take effect at the
    /// next restart.
    #[serde(default)]
    pub security_state: Option<sallyport_security_store::SecurityStateConfig>,
    /// The admin API and web console, on their own listener (loopback by default), for
    /// operators with an admin token or an admin role (docs/admin.md). Absent: no admin
    /// listener; the `sallyport` CLI still works on the stores.
    #[serde(default)]
    pub admin: Option<crate::admin::AdminConfig>,
    /// OpenTelemetry trace export over OTLP (docs/operations.md). Absent: no spans are
    /// exported.
    #[serde(default)]
    pub tracing: Option<crate::telemetry::TracingConfig>,
}

/// Where the authorization policy comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Authz {
    /// Policy files (YAML roles and tool rules, which may name Cedar files), merged in order;
    /// relative paths are resolved against the gateway's working directory. Empty: the
    /// shipped default policy (seed 001's role matrix, `policies/default.yaml`).
    #[serde(default)]
    pub policy_files: Vec<std::path::PathBuf>,
    /// GeoIP database giving the country of each caller's source address, for Cedar's
    /// `context.country` and the trust score's location factor: a MaxMind DB file
    /// (`.mmdb`: GeoLite2-Country, GeoIP2-Country or -City, DB-IP lite) or a CSV file
    /// (`.csv`) of `start_ip,end_ip,country` or `network/prefix,country` lines. Read
    /// whole into memory at start and at every reload (at most 256 MiB); an unreadable or
    /// malformed file stops the start and fails a reload. Relative paths resolve against
    /// the gateway's working directory. Absent: no country is known.
    #[serde(default)]
    pub geoip_database: Option<std::path::PathBuf>,
}

/// The client-facing listener.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct Listen {
    /// Socket address of the Streamable HTTP listener (`host:port`); `null` disables
    /// the HTTP listener.
    pub http: Option<SocketAddr>,
    /// Browser origins (`scheme://host[:port]`, no path) allowed to call the gateway.
    /// When empty, only requests without an `Origin` header or with a loopback origin
    /// are accepted (DNS-rebinding protection).
    pub allowed_origins: Vec<String>,
    /// Values accepted in the `Host` header, without port (`localhost`, `127.0.0.1`,
    /// `[::1]`, `gateway.example.com`). The port is ignored when matching.
    pub allowed_hosts: Vec<String>,
    /// Also serve the deprecated HTTP+SSE transport (`/sse`) for 2024-11-05 clients.
    pub legacy_sse: bool,
    /// Seconds without any request after which a client session is closed.
    #[schemars(range(min = 1))]
    pub session_idle_timeout_secs: u64,
    /// Maximum number of concurrent client sessions.
    #[schemars(range(min = 1))]
    pub max_sessions: usize,
    /// Serve HTTPS (TLS 1.3 only) on `http`'s address. Needed for client certificates
    /// (`auth.mtls`), which name the CA and whether a certificate is required. The files
    /// are read at start; restart to change them.
    pub tls: Option<ListenTls>,
}

/// The listener's own certificate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ListenTls {
    /// PEM file with the server certificate chain (leaf first).
    pub cert_path: std::path::PathBuf,
    /// PEM file with the server's private key (PKCS#8, PKCS#1 or SEC1).
    pub key_path: std::path::PathBuf,
}

impl Default for Listen {
    fn default() -> Self {
        Self {
            http: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 8787))),
            allowed_origins: Vec::new(),
            allowed_hosts: ["localhost", "127.0.0.1", "[::1]"]
                .map(String::from)
                .to_vec(),
            legacy_sse: true,
            session_idle_timeout_secs: 3600,
            max_sessions: 10_000,
            tls: None,
        }
    }
}

/// How several upstream servers appear as one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct Federation {
    /// Text between a server's name and a tool or prompt name (`time__get_time`).
    /// Made of `A-Z a-z 0-9 _ . -`, and containing at least one character that a
    /// server name cannot (`_`, `.` or an upper-case letter), so it splits unambiguously.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.-]*[A-Z_.][A-Za-z0-9_.-]*$"))]
    pub separator: String,
    /// HMAC key (at least 32 bytes) that signs pagination cursors; set it to keep
    /// cursors valid across restarts and replicas. Default: a random key per process.
    pub cursor_key: Option<SecretString>,
}

impl Default for Federation {
    fn default() -> Self {
        Self {
            separator: "__".into(),
            cursor_key: None,
        }
    }
}

/// Limits on JSON-RPC messages, enforced before any guard runs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct MessageLimits {
    /// Largest HTTP request or response body, in bytes.
    #[schemars(range(min = 1))]
    pub max_body_bytes: usize,
    /// Deepest nesting of JSON arrays and objects in one message.
    #[schemars(range(min = 1))]
    pub max_depth: usize,
    /// Most messages in one JSON-RPC batch.
    #[schemars(range(min = 1))]
    pub max_batch: usize,
    /// Longest newline-delimited message on a stdio pipe, in bytes.
    #[schemars(range(min = 1))]
    pub max_line_bytes: usize,
    /// Largest server-sent event, in bytes.
    #[schemars(range(min = 1))]
    pub max_sse_event_bytes: usize,
    /// Request-rate budgets and daily tenant quotas (seed 001's `RATE_LIMIT_CONFIG`):
    /// global, per principal, per tool, service accounts. Set `limits.redis` to share the
    /// counters between gateway processes.
    pub rate_limits: sallyport_limits::RateLimitConfig,
    /// The shared counter store for `rate_limits`: every gateway process configured with
    /// the same URL and `key_prefix` enforces one combined limit. Absent: each process
    /// counts on its own.
    pub redis: Option<sallyport_limits::config::RedisConfig>,
    /// Upstream calls in flight at once, per upstream and per tool.
    pub concurrency: sallyport_limits::ConcurrencyConfig,
    /// Request timeouts per upstream and per tool, the upstream connect timeout, and the idle
    /// and lifetime limits of long-lived downstream SSE streams (`GET /mcp`, `GET /sse`).
    /// Absent: each server's `request_timeout_secs` applies, connects give up after 10 s and
    /// streams stay open while the client keeps them.
    pub timeouts: Option<sallyport_limits::TimeoutConfig>,
    /// Circuit breakers per upstream and per tool, with seed 001's profiles built in
    /// (`default`, `critical_tools`, `non_critical_tools`).
    pub circuit_breakers: sallyport_limits::CircuitBreakerConfig,
    /// Periodic upstream health checks (a cheap list call) feeding `/readyz` and the
    /// circuit breakers. Absent: no health checks.
    pub health_check: Option<HealthCheck>,
}

/// Periodic upstream health checks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct HealthCheck {
    /// Seconds between two checks of each upstream.
    #[schemars(range(min = 1))]
    pub interval_secs: u64,
    /// Seconds a check may take before it counts as failed.
    #[schemars(range(min = 1))]
    pub timeout_secs: u64,
}

impl Default for HealthCheck {
    fn default() -> Self {
        Self {
            interval_secs: 30,
            timeout_secs: 5,
        }
    }
}

/// 4 MiB.
const FOUR_MIB: usize = 4 * 1024 * 1024;

impl Default for MessageLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: FOUR_MIB,
            max_depth: 64,
            max_batch: 64,
            max_line_bytes: FOUR_MIB,
            max_sse_event_bytes: FOUR_MIB,
            rate_limits: sallyport_limits::RateLimitConfig::default(),
            redis: None,
            concurrency: sallyport_limits::ConcurrencyConfig::default(),
            timeouts: None,
            circuit_breakers: sallyport_limits::CircuitBreakerConfig::default(),
            health_check: None,
        }
    }
}

/// Message guards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct Guards {
    /// What happens to a message when a guard fails to reach a decision.
    pub fail_mode: FailureMode,
}

/// What to do with a message when a guard cannot decide (not when it denies).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum FailureMode {
    /// Treat the message as denied.
    #[default]
    FailClosed,
    /// Let the message through; the failure is still audited.
    FailOpen,
}
