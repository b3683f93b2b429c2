//! Many upstreams behind one endpoint: exposed names, reversible resource URIs, and
//! integrity-protected pagination cursors.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::upstream::UpstreamSpec;

/// Why a federation cannot be built from the configured servers.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum FederationError {
    /// A server name contains the separator, which would make names ambiguous.
    #[error(
        "server name {server:?} contains the separator {separator:?}; names would be ambiguous"
    )]
    SeparatorInName {
        /// Server name.
        server: String,
        /// Separator.
        separator: String,
    },
    /// `prefix: false` is only possible when one server is configured.
    #[error("server {server:?} has prefix: false, which needs it to be the only server")]
    UnprefixedNotAlone {
        /// Server name.
        server: String,
    },
}

/// A pagination cursor could not be used.
#[derive(Debug, Clone, Copy, Error, PartialEq, Eq)]
#[error("invalid cursor: pass back the nextCursor of the previous page of the same list")]
pub struct CursorError;

/// How upstream names map to what clients see.
#[derive(Debug)]
pub struct Federation {
    servers: Vec<Arc<UpstreamSpec>>,
    separator: String,
    unprefixed: bool,
    cursor_key: hmac::Key,
}

#[derive(Serialize, Deserialize)]
struct CursorPayload {
    /// The list method, so a cursor of one list cannot page another.
    m: String,
    /// Upstream name → that upstream's cursor, for upstreams that have more pages.
    c: BTreeMap<String, String>,
}

impl Federation {
    /// Builds the mapping; `cursor_key` signs cursors (random per process unless configured).
    pub fn new(
        servers: Vec<Arc<UpstreamSpec>>,
        separator: &str,
        cursor_key: &[u8],
    ) -> Result<Self, FederationError> {
        for s in &servers {
            if !s.prefix && servers.len() > 1 {
                return Err(FederationError::UnprefixedNotAlone {
                    server: s.name.to_string(),
                });
            }
            if s.name.contains(separator) {
                return Err(FederationError::SeparatorInName {
                    server: s.name.to_string(),
                    separator: separator.into(),
                });
            }
        }
        let unprefixed = servers.len() == 1 && !servers[0].prefix;
        let cursor_key = hmac::Key::new(hmac::HMAC_SHA256, cursor_key);
        Ok(Self {
            servers,
            separator: separator.into(),
            unprefixed,
            cursor_key,
        })
    }

    /// The configured upstreams, in order.
    pub fn servers(&self) -> &[Arc<UpstreamSpec>] {
        &self.servers
    }

    /// Index of a server by name.
    pub fn index_of(&self, server: &str) -> Option<usize> {
        self.servers.iter().position(|s| &*s.name == server)
    }

    /// The name clients see for tool or prompt `name` of server `idx`.
    pub fn expose_name(&self, idx: usize, name: &str) -> String {
        if self.unprefixed {
            return name.to_owned();
        }
        format!("{}{}{}", self.servers[idx].name, self.separator, name)
    }

    /// The server index and upstream-local name for an exposed tool or prompt name.
    pub fn resolve_name<'a>(&self, exposed: &'a str) -> Option<(usize, &'a str)> {
        if self.unprefixed {
            return Some((0, exposed));
        }
        let (server, name) = exposed.split_once(self.separator.as_str())?;
        Some((self.index_of(server)?, name))
    }

    /// The URI clients see for resource `uri` of server `idx`: `<server>+<uri>`, reversible
    /// and valid as a URI (server names are `[a-z][a-z0-9-]*`, legal in a scheme).
    pub fn expose_uri(&self, idx: usize, uri: &str) -> String {
        if self.unprefixed {
            return uri.to_owned();
        }
        format!("{}+{}", self.servers[idx].name, uri)
    }

    /// The server index and upstream URI for an exposed URI.
    pub fn resolve_uri<'a>(&self, exposed: &'a str) -> Option<(usize, &'a str)> {
        if self.unprefixed {
            return Some((0, exposed));
        }
        let (server, uri) = exposed.split_once('+')?;
        Some((self.index_of(server)?, uri))
    }

    /// Mints a cursor carrying each upstream's next cursor for `method`.
    pub fn mint_cursor(&self, method: &str, next: &BTreeMap<String, String>) -> Option<String> {
        if next.is_empty() {
            return None;
        }
        let payload = serde_json::to_vec(&CursorPayload {
            m: method.into(),
            c: next.clone(),
        })
        .ok()?;
        let tag = hmac::sign(&self.cursor_key, &payload);
        Some(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        ))
    }

    /// Verifies and opens a cursor minted for `method` (constant-time tag check).
    pub fn open_cursor(
        &self,
        method: &str,
        cursor: &str,
    ) -> Result<BTreeMap<String, String>, CursorError> {
        let (payload, tag) = cursor.split_once('.').ok_or(CursorError)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| CursorError)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| CursorError)?;
        hmac::verify(&self.cursor_key, &payload, &tag).map_err(|_| CursorError)?;
        let parsed: CursorPayload = serde_json::from_slice(&payload).map_err(|_| CursorError)?;
        if parsed.m != method || parsed.c.keys().any(|k| self.index_of(k).is_none()) {
            return Err(CursorError);
        }
        Ok(parsed.c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::{EraChoice, HttpSpec, UpstreamKind};
    use std::time::Duration;

    fn spec(name: &str, prefix: bool) -> Arc<UpstreamSpec> {
        Arc::new(UpstreamSpec {
            name: name.into(),
            kind: UpstreamKind::Http(HttpSpec {
                url: "http://127.0.0.1:1/mcp".into(),
                headers: vec![],
                connect_timeout: Duration::from_secs(1),
            }),
            prefix,
            era: EraChoice::Auto,
            request_timeout: Duration::from_secs(1),
            limits: sallyport_mcp::Limits::default(),
        })
    }

    fn fed() -> Federation {
        Federation::new(vec![spec("fs", true), spec("time", true)], "__", b"k").unwrap()
    }

    #[test]
    fn names_and_uris_round_trip() {
        let f = fed();
        assert_eq!(f.expose_name(1, "get_time"), "time__get_time");
        assert_eq!(f.resolve_name("time__get_time"), Some((1, "get_time")));
        assert_eq!(f.resolve_name("time__a__b"), Some((1, "a__b")));
        assert_eq!(f.resolve_name("nosuch__x"), None);
        assert_eq!(f.resolve_name("plain"), None);
        let u = f.expose_uri(0, "file:///tmp/a+b");
        assert_eq!(u, "fs+file:///tmp/a+b");
        assert_eq!(f.resolve_uri(&u), Some((0, "file:///tmp/a+b")));
    }

    #[test]
    fn cursors_are_bound_to_key_and_method() {
        let f = fed();
        let next = BTreeMap::from([("fs".to_owned(), "page2".to_owned())]);
        let c = f.mint_cursor("tools/list", &next).unwrap();
        assert_eq!(f.open_cursor("tools/list", &c).unwrap(), next);
        assert_eq!(f.open_cursor("prompts/list", &c), Err(CursorError));
        let other = Federation::new(vec![spec("fs", true)], "__", b"other").unwrap();
        assert_eq!(other.open_cursor("tools/list", &c), Err(CursorError));
        let (p, _) = c.split_once('.').unwrap();
        let forged = format!("{p}.AAAA");
        assert_eq!(f.open_cursor("tools/list", &forged), Err(CursorError));
    }

    #[test]
    fn unprefixed_only_alone() {
        assert!(Federation::new(vec![spec("a", false), spec("b", true)], "__", b"k").is_err());
        let f = Federation::new(vec![spec("a", false)], "__", b"k").unwrap();
        assert_eq!(f.expose_name(0, "x"), "x");
        assert_eq!(f.resolve_uri("test://static"), Some((0, "test://static")));
    }
}
