//! What the gate decides about a request or connection. A refusal is a value, recorded
//! by the caller as a decision record, never an error.

use std::time::Duration;

use http::StatusCode;

use crate::client::ClientAddr;

/// The gate's answer for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Go on to authentication.
    Allow {
        /// The resolved client, to key later limits and audit records on.
        client: ClientAddr,
    },
    /// Answer with the refusal's status and stop.
    Refuse(Refusal),
}

impl Admission {
    /// Whether the request may go on.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow { .. })
    }

    /// The resolved client, either way.
    pub fn client(&self) -> ClientAddr {
        match self {
            Self::Allow { client } => *client,
            Self::Refuse(refusal) => refusal.client,
        }
    }
}

/// A refused request or connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Why, with a stable name.
    pub reason: RefusalReason,
    /// HTTP status to answer with (`reason.http_status()`).
    pub status: StatusCode,
    /// The client it was refused for.
    pub client: ClientAddr,
    /// For `per_ip_rate`: how long until a retry can succeed.
    pub retry_after: Option<Duration>,
}

impl Refusal {
    pub(crate) fn new(reason: RefusalReason, client: ClientAddr) -> Self {
        Self {
            reason,
            status: reason.http_status(),
            client,
            retry_after: None,
        }
    }

    /// `retry_after` rounded up to whole seconds for a `Retry-After` header (at least 1).
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after
            .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
            .map(|secs| secs.max(1))
    }
}

/// Why the network layer refused; the names are API (config, audit, metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefusalReason {
    /// The client is on the `deny` list.
    IpDenied,
    /// An `allow` list is set and the client is not on it.
    NotInAllowList,
    /// The client is on a reputation (blocklist) file.
    IpReputation,
    /// The client is over its request rate.
    PerIpRate,
    /// The client has too many connections open.
    TooManyConnections,
    /// The request target climbs directories (`../`, `%2e%2e`).
    PathTraversal,
    /// The declared body is larger than `max_content_length`.
    ContentLength,
    /// `Content-Length` is not a number or has conflicting values.
    MalformedContentLength,
}

impl RefusalReason {
    /// Every reason, for docs and metrics registration.
    pub const ALL: [Self; 8] = [
        Self::IpDenied,
        Self::NotInAllowList,
        Self::IpReputation,
        Self::PerIpRate,
        Self::TooManyConnections,
        Self::PathTraversal,
        Self::ContentLength,
        Self::MalformedContentLength,
    ];

    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IpDenied => "ip_denied",
            Self::NotInAllowList => "not_in_allow_list",
            Self::IpReputation => "ip_reputation",
            Self::PerIpRate => "per_ip_rate",
            Self::TooManyConnections => "too_many_connections",
            Self::PathTraversal => "path_traversal",
            Self::ContentLength => "content_length",
            Self::MalformedContentLength => "malformed_content_length",
        }
    }

    /// The HTTP status answered.
    pub fn http_status(self) -> StatusCode {
        match self {
            Self::IpDenied | Self::NotInAllowList | Self::IpReputation => StatusCode::FORBIDDEN,
            // Connection floods are a rate problem for the client: back off and retry.
            Self::PerIpRate | Self::TooManyConnections => StatusCode::TOO_MANY_REQUESTS,
            Self::PathTraversal | Self::MalformedContentLength => StatusCode::BAD_REQUEST,
            Self::ContentLength => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }
}

impl std::fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
