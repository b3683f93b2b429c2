//! Console logins: a random session id in a `__Host-` cookie, kept server-side with the
//! operator and a CSRF token, for a fixed lifetime.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::operator::Operator;

/// The cookie's name. `__Host-` makes browsers insist on `Secure`, `Path=/` and no
/// `Domain`, so no sibling host can set or shadow it.
pub const COOKIE: &str = "__Host-sallyport-console";

/// Most concurrent console logins; the oldest goes first beyond it.
const MAX_SESSIONS: usize = 1024;

/// One login.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    /// Who logged in.
    pub operator: Operator,
    /// The token every form must echo.
    pub csrf: String,
    expires: Instant,
}

/// The logins, keyed by the SHA-256 of their session id (the id itself is never stored).
#[derive(Debug)]
pub struct ConsoleSessions {
    ttl: Duration,
    by_digest: Mutex<HashMap<[u8; 32], ConsoleSession>>,
}

impl ConsoleSessions {
    /// Logins lasting `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            by_digest: Mutex::new(HashMap::new()),
        }
    }

    /// Starts a login; returns the session id for the cookie.
    pub fn start(&self, operator: Operator) -> (String, ConsoleSession) {
        let id = random_hex();
        let session = ConsoleSession {
            operator,
            csrf: random_hex(),
            expires: Instant::now() + self.ttl,
        };
        let mut map = self.lock();
        let now = Instant::now();
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS {
            let oldest = map.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k);
            if let Some(k) = oldest {
                map.remove(&k);
            }
        }
        map.insert(digest(&id), session.clone());
        (id, session)
    }

    /// The live login with this id.
    pub fn get(&self, id: &str) -> Option<ConsoleSession> {
        let mut map = self.lock();
        let key = digest(id);
        match map.get(&key) {
            Some(s) if s.expires > Instant::now() => Some(s.clone()),
            Some(_) => {
                map.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Ends a login.
    pub fn end(&self, id: &str) {
        self.lock().remove(&digest(id));
    }

    /// Seconds a login lasts.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl.as_secs()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], ConsoleSession>> {
        self.by_digest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether `presented` equals `expected`, in constant time.
pub(crate) fn same_token(presented: &str, expected: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(presented.as_bytes(), expected.as_bytes())
        .is_ok()
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sallyport_config::admin::AdminRole;

    fn op() -> Operator {
        Operator {
            name: "ops".into(),
            role: AdminRole::Admin,
            via: "admin_token".into(),
        }
    }

    #[test]
    fn a_login_is_found_by_its_id_until_it_ends() {
        let s = ConsoleSessions::new(Duration::from_secs(60));
        let (id, session) = s.start(op());
        assert_eq!(id.len(), 64);
        assert_eq!(s.get(&id).unwrap().csrf, session.csrf);
        assert!(s.get(&"0".repeat(64)).is_none());
        s.end(&id);
        assert!(s.get(&id).is_none());
    }

    #[test]
    fn an_expired_login_is_gone() {
        let s = ConsoleSessions::new(Duration::from_secs(0));
        let (id, _) = s.start(op());
        assert!(s.get(&id).is_none());
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("ab", "abc"));
    }
}
