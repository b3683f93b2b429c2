//! Protocol revisions and the two eras they fall into.

/// The modern, stateless revision.
pub const MODERN: &str = "2026-07-28";
/// The newest revision of the handshake (legacy) era.
pub const LATEST_LEGACY: &str = "2025-11-25";
/// The only revision in which JSON-RPC batches are legal.
pub const BATCH_VERSION: &str = "2025-03-26";
/// The revision of the old HTTP+SSE transport.
pub const HTTP_SSE_VERSION: &str = "2024-11-05";
/// Every handshake-era revision Sallyport speaks, oldest first.
pub const LEGACY_VERSIONS: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
/// Every revision Sallyport speaks, oldest first.
pub const ALL_VERSIONS: [&str; 5] = [
    "2024-11-05",
    "2025-03-26",
    "2025-06-18",
    "2025-11-25",
    "2026-07-28",
];

/// `_meta` key carrying the protocol version on modern requests.
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key carrying the client capabilities on modern requests.
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key carrying the client info on modern requests.
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// `_meta` key carrying the server info on modern results.
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// The two eras of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Era {
    /// 2024-11-05 … 2025-11-25: `initialize` handshake and sessions.
    Legacy,
    /// 2026-07-28 and later: stateless, `_meta` on every request.
    Modern,
}

impl Era {
    /// Stable name used in config, logs and audit.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Legacy => "legacy",
            Self::Modern => "modern",
        }
    }
}

/// The era of a known revision; `None` for unknown strings.
pub fn era_of(version: &str) -> Option<Era> {
    if version == MODERN {
        Some(Era::Modern)
    } else if LEGACY_VERSIONS.contains(&version) {
        Some(Era::Legacy)
    } else {
        None
    }
}

/// True when the revision allows JSON-RPC batches.
pub fn allows_batch(version: &str) -> bool {
    version == BATCH_VERSION
}

/// The legacy revision to answer an `initialize` that asked for `requested`.
///
/// The spec says: the requested one if supported, else another the server supports (the newest).
pub fn negotiate_legacy(requested: &str) -> &'static str {
    LEGACY_VERSIONS
        .iter()
        .find(|v| **v == requested)
        .copied()
        .unwrap_or(LATEST_LEGACY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eras_and_negotiation() {
        assert_eq!(era_of("2026-07-28"), Some(Era::Modern));
        assert_eq!(era_of("2025-03-26"), Some(Era::Legacy));
        assert_eq!(era_of("1999-01-01"), None);
        assert_eq!(negotiate_legacy("2025-06-18"), "2025-06-18");
        assert_eq!(negotiate_legacy("2099-01-01"), LATEST_LEGACY);
        assert!(allows_batch("2025-03-26") && !allows_batch("2025-11-25"));
    }
}
