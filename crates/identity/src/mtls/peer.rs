//! Reading the name of a client certificate.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use crate::error::AuthError;

/// What a certificate calls its subject, in order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerName {
    /// A SPIFFE id from the (single) URI SAN: `spiffe://<trust_domain><path>`.
    Spiffe {
        /// The whole id.
        id: String,
        /// The trust domain.
        trust_domain: String,
    },
    /// The DNS SANs, lower-cased, in certificate order.
    Dns(Vec<String>),
    /// The subject common name; used only when the certificate has no SAN at all.
    CommonName(String),
}

/// The facts of a client certificate this crate uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCertificate {
    /// The subject name chosen per [`PeerName`]'s preference.
    pub name: PeerName,
    /// Serial number, hex.
    pub serial_hex: String,
    /// Issuer distinguished name (RFC 4514).
    pub issuer: String,
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
}

impl PeerCertificate {
    /// Parses a DER certificate and picks its name.
    pub fn from_der(der: &[u8]) -> Result<Self, AuthError> {
        let invalid = |_| AuthError::InvalidClientCertificate;
        let (rest, cert) = X509Certificate::from_der(der).map_err(invalid)?;
        if !rest.is_empty() {
            return Err(AuthError::InvalidClientCertificate);
        }
        let validity = cert.validity();
        Ok(Self {
            name: peer_name(&cert)?,
            serial_hex: cert.raw_serial_as_string().replace(':', ""),
            issuer: cert.issuer().to_string(),
            not_before: unix_time(validity.not_before.timestamp()),
            not_after: unix_time(validity.not_after.timestamp()),
        })
    }
}

fn peer_name(cert: &X509Certificate<'_>) -> Result<PeerName, AuthError> {
    let san = cert
        .subject_alternative_name()
        .map_err(|_| AuthError::InvalidClientCertificate)?;
    let names = san
        .map(|s| s.value.general_names.as_slice())
        .unwrap_or_default();
    let uris: Vec<&str> = names
        .iter()
        .filter_map(|n| match n {
            GeneralName::URI(uri) => Some(*uri),
            _ => None,
        })
        .collect();
    if uris.iter().any(|u| {
        u.get(..9)
            .is_some_and(|s| s.eq_ignore_ascii_case("spiffe://"))
    }) {
        // X509-SVID §2: an SVID carries exactly one URI SAN.
        let [only] = uris.as_slice() else {
            return Err(AuthError::InvalidClientCertificate);
        };
        let trust_domain = spiffe_trust_domain(only).ok_or(AuthError::InvalidClientCertificate)?;
        return Ok(PeerName::Spiffe {
            id: (*only).to_owned(),
            trust_domain: trust_domain.to_owned(),
        });
    }
    let dns: Vec<String> = names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(dns) => Some(dns.to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    if !dns.is_empty() {
        return Ok(PeerName::Dns(dns));
    }
    if !names.is_empty() {
        // RFC 6125 §6.4.4: with subjectAltNames present, the CN is not an identity.
        return Err(AuthError::InvalidClientCertificate);
    }
    let mut common_names = cert.subject().iter_common_name();
    match (common_names.next(), common_names.next()) {
        (Some(cn), None) => cn
            .as_str()
            .ok()
            .filter(|cn| !cn.is_empty())
            .map(|cn| PeerName::CommonName(cn.to_owned()))
            .ok_or(AuthError::InvalidClientCertificate),
        _ => Err(AuthError::InvalidClientCertificate),
    }
}

/// The trust domain of a well-formed SPIFFE id (SPIFFE-ID §2), else `None`.
fn spiffe_trust_domain(id: &str) -> Option<&str> {
    if id.len() > 2048 {
        return None;
    }
    let rest = id.strip_prefix("spiffe://")?;
    let (trust_domain, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    let td_ok = !trust_domain.is_empty()
        && trust_domain
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b));
    let path_ok = path.is_empty()
        || path[1..].split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        });
    (td_ok && path_ok).then_some(trust_domain)
}

/// Seconds since the epoch; times before 1970 become the epoch.
fn unix_time(seconds: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
}
