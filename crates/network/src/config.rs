//! Serde configuration of the network layer (`network:` in `sallyport.yaml`).
//!
//! Durations are whole seconds in fields named `*_secs`, as everywhere else in the
//! Sallyport config (`crates/config`). Addresses are strings: a single address
//! (`192.0.2.7`, `2001:db8::1`), a CIDR block (`10.0.0.0/8`, `2001:db8::/32`) or an
//! inclusive range (`192.0.2.10-192.0.2.20`). They are checked when the gate is built
//! ([`crate::NetworkGate::build`]), which reports every bad entry with its field path.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Seed 001's `suspicious_patterns` rule: bodies over 10 MiB are refused.
pub const DEFAULT_MAX_CONTENT_LENGTH: u64 = 10 * 1024 * 1024;

/// Network policy applied at the HTTP edge before authentication.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct NetworkConfig {
    /// Client addresses allowed to connect (addresses, CIDR blocks or ranges). Empty: every
    /// address is allowed unless denied.
    pub allow: Vec<String>,
    /// Client addresses always refused (`ip_denied`). Deny wins over `allow`.
    pub deny: Vec<String>,
    /// Blocklist files (Spamhaus DROP, FireHOL netsets, plain lists) refused as
    /// `ip_reputation`. Absent: no reputation check.
    pub reputation: Option<ReputationConfig>,
    /// Peers (addresses or CIDR blocks) whose forwarding header is believed. Empty: the
    /// TCP peer is always the client and forwarding headers are ignored.
    pub trusted_proxies: Vec<String>,
    /// Which forwarding header a trusted proxy sets.
    pub forwarded_header: ForwardedHeader,
    /// Per-client request rate and connection limits. Absent: no per-IP limits.
    pub per_ip: Option<PerIpConfig>,
    /// Timeouts against slow clients (slowloris); applied by the HTTP listener.
    pub slow_client: SlowClientConfig,
    /// Checks on the request line and headers (path traversal, declared body size).
    pub request_line: RequestLineConfig,
}

/// The forwarding header a trusted proxy appends the client address to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;proto=https, for="[2001:db8::1]:443"`.
    Forwarded,
}

/// IP reputation (blocklist) files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ReputationConfig {
    /// Files with one address, CIDR block or range per line; `#` and `;` start comments.
    /// Spamhaus DROP, FireHOL netsets, DShield block lists and hosts-style lines are read.
    pub files: Vec<PathBuf>,
    /// Seconds between reloads of the files; the gateway reloads only files that changed.
    /// Absent: loaded once at start and on config reload.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub refresh_secs: Option<u64>,
    /// Largest file accepted, in bytes; a larger file fails the load (the previous list is kept).
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
    /// Shortest IPv4 prefix accepted from a list; broader entries (`0.0.0.0/0`) are
    /// rejected as invalid lines so a broken list cannot block the whole Internet.
    #[serde(default = "default_min_prefix_v4")]
    #[schemars(range(max = 32))]
    pub min_prefix_v4: u8,
    /// Shortest IPv6 prefix accepted from a list.
    #[serde(default = "default_min_prefix_v6")]
    #[schemars(range(max = 128))]
    pub min_prefix_v6: u8,
}

fn default_max_file_bytes() -> u64 {
    64 * 1024 * 1024
}

fn default_min_prefix_v4() -> u8 {
    8
}

fn default_min_prefix_v6() -> u8 {
    16
}

impl ReputationConfig {
    /// A configuration reading `files` with every other field at its default.
    pub fn with_files(files: Vec<PathBuf>) -> Self {
        Self {
            files,
            refresh_secs: None,
            max_file_bytes: default_max_file_bytes(),
            min_prefix_v4: default_min_prefix_v4(),
            min_prefix_v6: default_min_prefix_v6(),
        }
    }
}

/// Per-client limits. Clients are keyed by address; IPv6 clients by their prefix
/// (`ipv6_prefix_len`, default /64) since one host usually owns a whole /64.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct PerIpConfig {
    /// Sustained requests per second per client. Set at most one of this and
    /// `requests_per_minute`; neither: no request rate limit.
    #[schemars(range(min = 1))]
    pub requests_per_second: Option<u32>,
    /// Sustained requests per minute per client.
    #[schemars(range(min = 1))]
    pub requests_per_minute: Option<u32>,
    /// Requests a client may send at once after being idle. Absent: one period's worth
    /// (the per-second or per-minute figure).
    #[schemars(range(min = 1))]
    pub burst: Option<u32>,
    /// Concurrent TCP connections per client. Absent: unlimited. Trusted proxies are exempt.
    #[schemars(range(min = 1))]
    pub max_connections: Option<u32>,
    /// Most clients whose request rate is tracked at once; bounds memory (at most about
    /// 100 bytes each: 100k clients ≈ 10 MB). When full, clients whose allowance is full
    /// again are evicted; if none is, new clients are refused (`per_ip_rate`) until one is.
    #[schemars(range(min = 16))]
    pub max_tracked_ips: usize,
    /// Prefix length that identifies one IPv6 client.
    #[schemars(range(min = 1, max = 128))]
    pub ipv6_prefix_len: u8,
}

impl Default for PerIpConfig {
    fn default() -> Self {
        Self {
            requests_per_second: None,
            requests_per_minute: None,
            burst: None,
            max_connections: None,
            max_tracked_ips: 100_000,
            ipv6_prefix_len: 64,
        }
    }
}

/// Slow-client (slowloris) timeouts for the HTTP listener.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct SlowClientConfig {
    /// Seconds a client has to send the complete request head (line and headers).
    #[schemars(range(min = 1))]
    pub header_read_timeout_secs: u64,
    /// Seconds a client has to send the complete request body.
    #[schemars(range(min = 1))]
    pub body_read_timeout_secs: u64,
}

impl Default for SlowClientConfig {
    fn default() -> Self {
        Self {
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 30,
        }
    }
}

/// Request-line and header checks (seed 001 `suspicious_patterns`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct RequestLineConfig {
    /// Largest `Content-Length` accepted, in bytes; larger is refused with 413.
    pub max_content_length: u64,
    /// Refuse paths and queries containing `../`, `..\` or encoded forms (`%2e%2e`,
    /// double-encoded `%252e`, overlong UTF-8) with 400.
    pub reject_traversal: bool,
}

impl Default for RequestLineConfig {
    fn default() -> Self {
        Self {
            max_content_length: DEFAULT_MAX_CONTENT_LENGTH,
            reject_traversal: true,
        }
    }
}
