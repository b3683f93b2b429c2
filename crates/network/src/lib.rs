//! The network layer of the HTTP edge: who may talk to Sallyport at all, checked per
//! connection and per request **before** authentication and before any body is read.
//!
//! - IP `allow` / `deny` lists and reputation (blocklist) files, as sorted-interval
//!   [`IpSet`]s with O(log n) lookup; reputation lists reload atomically.
//! - Client address resolution behind trusted proxies (`X-Forwarded-For`, RFC 7239
//!   `Forwarded`), ignoring headers from untrusted peers.
//! - Per-client request rate (GCRA) and concurrent connection limits with bounded memory.
//! - Request-line checks from seed 001: path traversal and oversized `Content-Length`.
//!
//! Pure and transport-agnostic: no sockets, no async. A refusal is data ([`Refusal`])
//! with a stable reason name, an HTTP status and, for rate limits, a retry delay.
//!
//! ```
//! use http::HeaderMap;
//! use sallyport_network::{Admission, NetworkConfig, NetworkGate, RequestMeta};
//!
//! let config: NetworkConfig = serde_saphyr::from_str("deny: [203.0.113.0/24]").unwrap();
//! let gate = NetworkGate::build(&config).unwrap();
//! let headers = HeaderMap::new();
//! let request = |peer: &str| RequestMeta { peer: peer.parse().unwrap(), target: "/mcp", headers: &headers };
//! assert!(gate.admit(&request("192.0.2.1")).is_allowed());
//! let Admission::Refuse(refusal) = gate.admit(&request("203.0.113.9")) else { panic!() };
//! assert_eq!((refusal.reason.as_str(), refusal.status.as_u16()), ("ip_denied", 403));
//! ```
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod admission;
mod build;
pub mod client;
pub mod clock;
pub mod config;
mod gate;
pub mod ipset;
mod limit;
pub mod reputation;
pub mod request_line;

pub use admission::{Admission, Refusal, RefusalReason};
pub use build::{BuildError, FieldError};
pub use client::{AddrSource, ClientAddr, ClientResolver};
pub use clock::{Clock, ManualClock, MonotonicClock};
pub use config::{
    ForwardedHeader, NetworkConfig, PerIpConfig, ReputationConfig, RequestLineConfig,
    SlowClientConfig,
};
pub use gate::{NetworkGate, RequestMeta, SlowClientTimeouts};
pub use ipset::{IpRange, IpSet};
pub use limit::ConnectionGuard;
pub use reputation::{ReloadReport, ReputationError, ReputationList};
