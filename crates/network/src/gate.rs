//! [`NetworkGate`]: the one entry the HTTP edge calls, per connection and per request,
//! before authentication.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

use crate::admission::{Admission, Refusal, RefusalReason};
use crate::build::{BuildError, Checker};
use crate::client::{AddrSource, ClientAddr, ClientResolver};
use crate::clock::{Clock, MonotonicClock};
use crate::config::{NetworkConfig, RequestLineConfig, SlowClientConfig};
use crate::ipset::IpSet;
use crate::limit::{ConnectionGuard, ConnectionLimiter, RateLimiter, client_key};
use crate::reputation::{ReloadReport, ReputationList};
use crate::request_line::{ContentLengthError, check_content_length, is_traversal};

/// What the gate needs to know about one HTTP request.
#[derive(Debug, Clone, Copy)]
pub struct RequestMeta<'a> {
    /// The TCP peer's address.
    pub peer: IpAddr,
    /// The request target as sent: path and query, not decoded.
    pub target: &'a str,
    /// The request headers.
    pub headers: &'a HeaderMap,
}

impl<'a> RequestMeta<'a> {
    /// The meta of `request` received from `peer`.
    pub fn of<B>(peer: IpAddr, request: &'a http::Request<B>) -> Self {
        let uri = request.uri();
        let target = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
        Self {
            peer,
            target,
            headers: request.headers(),
        }
    }
}

/// Slow-client timeouts for the listener to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlowClientTimeouts {
    /// Time allowed for the request line and headers.
    pub header_read: Duration,
    /// Time allowed for the body.
    pub body_read: Duration,
}

/// The network layer, built once from [`NetworkConfig`] and shared (`Arc`) by the listener.
#[derive(Debug)]
pub struct NetworkGate {
    allow: IpSet,
    deny: IpSet,
    reputation: Option<Arc<ReputationList>>,
    load_report: Option<ReloadReport>,
    resolver: ClientResolver,
    rate: Option<RateLimiter>,
    connections: Option<Arc<ConnectionLimiter>>,
    ipv6_prefix_len: u8,
    request_line: RequestLineConfig,
    slow_client: SlowClientConfig,
}

impl NetworkGate {
    /// Builds the gate on the system clock, reading reputation files; every invalid
    /// field is reported at once.
    pub fn build(config: &NetworkConfig) -> Result<Self, BuildError> {
        Self::build_with_clock(config, Arc::new(MonotonicClock::default()))
    }

    /// Builds the gate with rate limits measured on `clock`.
    pub fn build_with_clock(
        config: &NetworkConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, BuildError> {
        let mut check = Checker::default();
        check.config(config);
        let allow = check.ip_set("allow", &config.allow);
        let deny = check.ip_set("deny", &config.deny);
        let trusted = check.ip_set("trusted_proxies", &config.trusted_proxies);
        let per_ip = config.per_ip.clone().unwrap_or_default();
        let rate = check.per_ip(&per_ip);
        check.finish()?;
        let (reputation, load_report) = match &config.reputation {
            Some(reputation) => {
                let (list, report) = ReputationList::load(reputation.clone())?;
                (Some(Arc::new(list)), Some(report))
            }
            None => (None, None),
        };
        let rate = rate
            .map(|r| RateLimiter::new(r.count, r.period, r.burst, per_ip.max_tracked_ips, clock));
        let connections = per_ip
            .max_connections
            .map(|max| Arc::new(ConnectionLimiter::new(max)));
        Ok(Self {
            allow,
            deny,
            reputation,
            load_report,
            resolver: ClientResolver::new(trusted, config.forwarded_header),
            rate,
            connections,
            ipv6_prefix_len: per_ip.ipv6_prefix_len,
            request_line: config.request_line.clone(),
            slow_client: config.slow_client.clone(),
        })
    }

    /// Decides on one request: client address, IP lists, rate, request line.
    pub fn admit(&self, request: &RequestMeta<'_>) -> Admission {
        let client = self.resolver.resolve(request.peer, request.headers);
        match self.refusal(request, client) {
            Some(refusal) => Admission::Refuse(refusal),
            None => Admission::Allow { client },
        }
    }

    fn refusal(&self, request: &RequestMeta<'_>, client: ClientAddr) -> Option<Refusal> {
        if let Some(reason) = self.check_ip(client.ip) {
            return Some(Refusal::new(reason, client));
        }
        if let Some(rate) = &self.rate
            && let Err(wait) = rate.check(client_key(client.ip, self.ipv6_prefix_len))
        {
            let mut refusal = Refusal::new(RefusalReason::PerIpRate, client);
            refusal.retry_after = Some(wait);
            return Some(refusal);
        }
        let reason = self.check_request_line(request)?;
        Some(Refusal::new(reason, client))
    }

    /// The IP-list verdict for `ip`: deny list, then allow list, then reputation.
    pub fn check_ip(&self, ip: IpAddr) -> Option<RefusalReason> {
        if self.deny.contains(ip) {
            return Some(RefusalReason::IpDenied);
        }
        if !self.allow.is_empty() && !self.allow.contains(ip) {
            return Some(RefusalReason::NotInAllowList);
        }
        if self
            .reputation
            .as_ref()
            .is_some_and(|list| list.contains(ip))
        {
            return Some(RefusalReason::IpReputation);
        }
        None
    }

    fn check_request_line(&self, request: &RequestMeta<'_>) -> Option<RefusalReason> {
        if self.request_line.reject_traversal && is_traversal(request.target) {
            return Some(RefusalReason::PathTraversal);
        }
        match check_content_length(request.headers, self.request_line.max_content_length) {
            Ok(()) => None,
            Err(ContentLengthError::TooLarge(_)) => Some(RefusalReason::ContentLength),
            Err(ContentLengthError::Malformed) => Some(RefusalReason::MalformedContentLength),
        }
    }

    /// Decides on a new TCP connection from `peer`, before TLS and HTTP. Keep the guard
    /// for the connection's life. Trusted proxies pass unchecked and uncounted (their
    /// requests are checked per client by [`Self::admit`]); others must pass the IP
    /// lists and stay under `per_ip.max_connections`.
    pub fn connect(&self, peer: IpAddr) -> Result<ConnectionGuard, Refusal> {
        let peer = peer.to_canonical();
        let client = ClientAddr {
            ip: peer,
            source: AddrSource::Peer,
        };
        if self.resolver.is_trusted(peer) {
            return Ok(ConnectionGuard::untracked());
        }
        if let Some(reason) = self.check_ip(peer) {
            return Err(Refusal::new(reason, client));
        }
        let Some(connections) = &self.connections else {
            return Ok(ConnectionGuard::untracked());
        };
        connections
            .open(client_key(peer, self.ipv6_prefix_len))
            .ok_or_else(|| Refusal::new(RefusalReason::TooManyConnections, client))
    }

    /// The client address of a request, without deciding anything.
    pub fn resolve_client(&self, peer: IpAddr, headers: &HeaderMap) -> ClientAddr {
        self.resolver.resolve(peer, headers)
    }

    /// The reputation list, for the caller's refresh task
    /// ([`ReputationList::reload_if_changed`] every [`ReputationList::refresh_interval`]).
    pub fn reputation(&self) -> Option<&Arc<ReputationList>> {
        self.reputation.as_ref()
    }

    /// What the initial reputation load found (invalid lines to log at start).
    pub fn load_report(&self) -> Option<&ReloadReport> {
        self.load_report.as_ref()
    }

    /// The slow-client timeouts for the listener.
    pub fn timeouts(&self) -> SlowClientTimeouts {
        SlowClientTimeouts {
            header_read: Duration::from_secs(self.slow_client.header_read_timeout_secs),
            body_read: Duration::from_secs(self.slow_client.body_read_timeout_secs),
        }
    }

    /// Clients tracked by the rate and connection tables, for a memory gauge.
    pub fn tracked_clients(&self) -> (usize, usize) {
        let rate = self.rate.as_ref().map_or(0, RateLimiter::tracked);
        let connections = self.connections.as_ref().map_or(0, |c| c.tracked());
        (rate, connections)
    }
}
