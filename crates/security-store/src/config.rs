//! The `security_state` section: where blocks, quarantines and approval holds are kept.

use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where the security state is kept. Absent: in the gateway's memory only (a restart lifts
/// every block, quarantine and hold, and replicas do not share them). Set exactly one of
/// `path` and `redis`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct SecurityStateConfig {
    /// SQLite file that keeps them across restarts, for one gateway. Relative paths resolve
    /// against the gateway's working directory; the file is created when missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Redis shared by the replicas of a fleet: every change is stored there and published
    /// to every other replica at once; a replica loads them all when it starts or reconnects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<StateRedisConfig>,
}

/// The Redis that replicas share their security state through.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct StateRedisConfig {
    /// `redis://[user:password@]host:port[/db]`. May hold a password: take it from the
    /// environment; it is never logged.
    pub url: StateRedisUrl,
    /// Prefix of the hash (`<prefix>:entries`) and the channel (`<prefix>:changes`) used.
    /// Replicas that share state must use the same prefix.
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
    /// Seconds between full reloads of the shared entries, which repair a change message
    /// lost on the way (Redis pub/sub delivers at most once).
    #[serde(default = "default_resync_secs")]
    pub resync_secs: u64,
}

fn default_key_prefix() -> String {
    "sallyport:security".into()
}

fn default_resync_secs() -> u64 {
    30
}

/// A Redis URL. Its `Debug` output hides the value: it may carry a password.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct StateRedisUrl(pub String);

impl fmt::Debug for StateRedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StateRedisUrl(<redacted>)")
    }
}

impl SecurityStateConfig {
    /// Every problem with the section: the field to fix and what is wrong.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match (&self.path, &self.redis) {
            (Some(_), Some(_)) => out.push((
                "security_state",
                "set either path (one gateway) or redis (a fleet), not both".to_owned(),
            )),
            (None, None) => out.push((
                "security_state",
                "set path (a SQLite file, one gateway) or redis (a fleet); remove the section to keep the state in memory".to_owned(),
            )),
            _ => {}
        }
        if let Some(r) = &self.redis {
            if !(r.url.0.starts_with("redis://") || r.url.0.starts_with("rediss://")) {
                out.push((
                    "security_state.redis.url",
                    "must start with redis:// or rediss://".to_owned(),
                ));
            }
            if r.key_prefix.is_empty() {
                out.push((
                    "security_state.redis.key_prefix",
                    "must not be empty".to_owned(),
                ));
            }
            if r.resync_secs == 0 {
                out.push((
                    "security_state.redis.resync_secs",
                    "must be at least 1".to_owned(),
                ));
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, reason = "test code")]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> SecurityStateConfig {
        serde_saphyr::from_str(yaml).expect("valid yaml")
    }

    #[test]
    fn exactly_one_store_is_accepted() {
        assert!(parse("path: state.db").problems().is_empty());
        assert!(
            parse("redis: { url: 'redis://127.0.0.1:6379' }")
                .problems()
                .is_empty()
        );
        let both = parse("{ path: a.db, redis: { url: 'redis://h' } }").problems();
        assert!(both[0].1.contains("not both"), "{both:?}");
        let none = parse("{}").problems();
        assert!(none[0].1.contains("set path"), "{none:?}");
        let bad = parse("redis: { url: 'http://h', resync_secs: 0 }").problems();
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert_eq!(bad[0].0, "security_state.redis.url");
    }

    #[test]
    fn the_url_is_never_printed() {
        let c = parse("redis: { url: 'redis://:hunter2@h:6379' }");
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let r: Result<SecurityStateConfig, _> = serde_saphyr::from_str("paht: x.db");
        assert!(r.is_err());
    }
}
