//! Which address a request comes from.
//!
//! The TCP peer is the client unless it is a trusted proxy. Only then is the configured
//! forwarding header read, from the right (nearest proxy) to the left, skipping hops that
//! are themselves trusted proxies; the first untrusted hop is the client. A header from
//! an untrusted peer is ignored (anyone can send one), and a header that cannot be read,
//! or reaches an `unknown` hop before an untrusted address, leaves the peer as the
//! client. [`AddrSource`] says which of these happened, for the decision record.

mod header;

use std::net::IpAddr;

use http::HeaderMap;
use http::header::{FORWARDED, HeaderName};

use crate::config::ForwardedHeader;
use crate::ipset::IpSet;
use header::{Hop, parse_forwarded, parse_xff};

/// Largest forwarding header read, summed over its lines; longer is malformed.
pub const MAX_FORWARDED_BYTES: usize = 8 * 1024;
/// Most hops read from a forwarding header; more is malformed.
pub const MAX_FORWARDED_HOPS: usize = 64;

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The resolved client address and how it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    /// The client's address (IPv4-mapped IPv6 addresses are turned into IPv4).
    pub ip: IpAddr,
    /// Where it came from.
    pub source: AddrSource,
}

/// How a [`ClientAddr`] was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrSource {
    /// The TCP peer; no forwarding header was involved.
    Peer,
    /// The TCP peer, which is not a trusted proxy but sent a forwarding header; the header
    /// was ignored (possible spoofing).
    PeerIgnoredHeader,
    /// The TCP peer, a trusted proxy, whose forwarding header could not be read or led
    /// only to `unknown` hops.
    PeerMalformedHeader,
    /// Read from the forwarding header of a trusted proxy.
    Forwarded {
        /// Trusted proxies passed through, the TCP peer included.
        proxies: u8,
    },
}

impl AddrSource {
    /// Stable name for records and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Peer => "peer",
            Self::PeerIgnoredHeader => "peer_ignored_header",
            Self::PeerMalformedHeader => "peer_malformed_header",
            Self::Forwarded { .. } => "forwarded",
        }
    }
}

/// Resolves client addresses; built from the trusted proxies and the header they set.
#[derive(Debug, Clone, Default)]
pub struct ClientResolver {
    trusted: IpSet,
    header: ForwardedHeader,
}

impl ClientResolver {
    /// A resolver believing `header` from peers in `trusted`.
    pub fn new(trusted: IpSet, header: ForwardedHeader) -> Self {
        Self { trusted, header }
    }

    /// Whether `ip` is a trusted proxy.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.contains(ip)
    }

    /// The client address of a request from TCP peer `peer` with `headers`.
    pub fn resolve(&self, peer: IpAddr, headers: &HeaderMap) -> ClientAddr {
        let peer = peer.to_canonical();
        let name = match self.header {
            ForwardedHeader::XForwardedFor => &X_FORWARDED_FOR,
            ForwardedHeader::Forwarded => &FORWARDED,
        };
        let present = headers.contains_key(name);
        let at_peer = |source| ClientAddr { ip: peer, source };
        if !self.trusted.contains(peer) {
            let source = if present {
                AddrSource::PeerIgnoredHeader
            } else {
                AddrSource::Peer
            };
            return at_peer(source);
        }
        if !present {
            return at_peer(AddrSource::Peer);
        }
        match self.read_hops(headers, name) {
            Ok(hops) => self
                .walk(&hops)
                .unwrap_or(at_peer(AddrSource::PeerMalformedHeader)),
            Err(()) => at_peer(AddrSource::PeerMalformedHeader),
        }
    }

    fn read_hops(&self, headers: &HeaderMap, name: &HeaderName) -> Result<Vec<Hop>, ()> {
        let mut hops = Vec::new();
        let mut total = 0;
        for value in headers.get_all(name) {
            total += value.len();
            if total > MAX_FORWARDED_BYTES {
                return Err(());
            }
            let value = value.to_str().map_err(|_| ())?;
            match self.header {
                ForwardedHeader::XForwardedFor => parse_xff(value, &mut hops)?,
                ForwardedHeader::Forwarded => parse_forwarded(value, &mut hops)?,
            }
            if hops.len() > MAX_FORWARDED_HOPS {
                return Err(());
            }
        }
        Ok(hops)
    }

    /// Walks from the right; `None` when an `unknown` hop or nothing comes first.
    fn walk(&self, hops: &[Hop]) -> Option<ClientAddr> {
        let mut proxies: u8 = 1; // the peer
        let mut leftmost = None;
        for hop in hops.iter().rev() {
            let Hop::Addr(ip) = *hop else { return None };
            let ip = ip.to_canonical();
            leftmost = Some(ip);
            if !self.trusted.contains(ip) {
                let source = AddrSource::Forwarded { proxies };
                return Some(ClientAddr { ip, source });
            }
            proxies = proxies.saturating_add(1);
        }
        // Every hop is a trusted proxy: the leftmost is the furthest we can see.
        let source = AddrSource::Forwarded {
            proxies: proxies.saturating_sub(1),
        };
        leftmost.map(|ip| ClientAddr { ip, source })
    }
}
