//! Circuit breakers per upstream and per tool, with seed 001's profiles built in.
//!
//! **What counts as a failure** is for the caller to say, and only three things do: the
//! transport failed (connect error, reset, child process died), the call timed out, or an
//! HTTP upstream answered 5xx. A JSON-RPC error response or a tool result with
//! `isError: true` is an *answer* — the upstream is working — and is recorded as a success.

mod state;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use self::state::{Admission, Breaker};
pub use self::state::{BreakerProfile, BreakerState};
use crate::clock::Clock;
use crate::config::{BreakerProfileConfig, CircuitBreakerConfig, ConfigError};
use crate::pattern::most_specific;

/// The profile used when no pattern names one.
pub const DEFAULT_PROFILE: &str = "default";

/// How a call ended, as far as breakers care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// The upstream answered (including JSON-RPC errors and `isError` tool results).
    Answered,
    /// The upstream did not answer usefully.
    Failed(CallFailure),
}

/// The failures that count against a breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallFailure {
    /// Connect error, reset, broken pipe, child process exit.
    Transport,
    /// No answer within the request timeout.
    Timeout,
    /// An HTTP upstream answered with a 5xx status.
    UpstreamServerError,
}

/// A call refused because a breaker is open (or half-open with its probe in flight).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("circuit open for this {scope:?}")]
pub struct BreakerRefusal {
    /// Which breaker refused.
    pub scope: BreakerScope,
    /// When to retry, if the breaker's profile says to tell (`critical_tools` does).
    pub retry_after: Option<Duration>,
}

/// Which breaker refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerScope {
    /// The upstream's breaker.
    Upstream,
    /// The tool's breaker.
    Tool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum BreakerKey {
    Upstream(String),
    Tool { server: String, tool: String },
}

/// All breakers. Every upstream has one; every tool (per upstream) has one too. A call passes
/// only if both admit it, and its outcome is recorded on both.
#[derive(Debug)]
pub struct CircuitBreakers {
    default_profile: BreakerProfile,
    per_server: Vec<(String, BreakerProfile)>,
    per_tool: Vec<(String, BreakerProfile)>,
    breakers: Mutex<HashMap<BreakerKey, Arc<Breaker>>>,
    clock: Clock,
}

impl CircuitBreakers {
    /// Compile `config` over the built-in profiles, collecting every error.
    pub fn new(config: &CircuitBreakerConfig, clock: Clock) -> Result<Self, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut profiles = builtin_profiles();
        for (name, profile) in &config.profiles {
            match compile_profile(profile) {
                Ok(profile) => {
                    profiles.insert(name.clone(), profile);
                }
                Err(message) => errors.push(ConfigError::new(format!("profiles.{name}"), message)),
            }
        }
        let mut resolve = |path: String, name: &str| match profiles.get(name) {
            Some(&profile) => Some(profile),
            None => {
                errors.push(ConfigError::new(path, format!("no profile named {name:?}")));
                None
            }
        };
        let default_name = config.default_profile.as_deref().unwrap_or(DEFAULT_PROFILE);
        let default_profile = resolve("default_profile".into(), default_name);
        let mut table = |section: &str, map: &std::collections::BTreeMap<String, String>| {
            map.iter()
                .filter_map(|(pattern, name)| {
                    let profile = resolve(format!("{section}.{pattern}"), name)?;
                    Some((pattern.clone(), profile))
                })
                .collect::<Vec<_>>()
        };
        let per_server = table("per_server", &config.per_server);
        let per_tool = table("per_tool", &config.per_tool);
        match default_profile {
            Some(default_profile) if errors.is_empty() => Ok(Self {
                default_profile,
                per_server,
                per_tool,
                breakers: Mutex::new(HashMap::new()),
                clock,
            }),
            _ => Err(errors),
        }
    }

    /// Let a call to `tool` (or a non-tool request, `None`) on `server` through, or refuse
    /// it. Record the outcome on the returned pass; dropping it unrecorded records nothing
    /// (and frees a half-open breaker's probe slot).
    pub fn admit(&self, server: &str, tool: Option<&str>) -> Result<BreakerPass, BreakerRefusal> {
        let now = self.clock.now_nanos();
        let upstream = self.breaker(BreakerKey::Upstream(server.to_owned()));
        let upstream = PassEntry::admit(upstream, now, BreakerScope::Upstream)?;
        let tool = match tool {
            Some(tool) => {
                let key = BreakerKey::Tool {
                    server: server.to_owned(),
                    tool: tool.to_owned(),
                };
                Some(PassEntry::admit(
                    self.breaker(key),
                    now,
                    BreakerScope::Tool,
                )?)
            }
            None => None,
        };
        Ok(BreakerPass {
            entries: [Some(upstream), tool],
            clock: self.clock.clone(),
        })
    }

    /// A health checker's verdict on `server`: a failure opens its breaker at once; a
    /// success lets an open breaker send a probe now instead of waiting out its recovery.
    pub fn record_health(&self, server: &str, ok: bool) {
        let breaker = self.breaker(BreakerKey::Upstream(server.to_owned()));
        if ok {
            breaker.allow_probe();
        } else {
            breaker.force_open(self.clock.now_nanos());
        }
    }

    /// The state of the upstream's breaker (`tool: None`) or of a tool's breaker.
    pub fn state(&self, server: &str, tool: Option<&str>) -> BreakerState {
        let key = match tool {
            Some(tool) => BreakerKey::Tool {
                server: server.to_owned(),
                tool: tool.to_owned(),
            },
            None => BreakerKey::Upstream(server.to_owned()),
        };
        self.breaker(key).state(self.clock.now_nanos())
    }

    fn breaker(&self, key: BreakerKey) -> Arc<Breaker> {
        let mut breakers = self.breakers.lock().unwrap_or_else(PoisonError::into_inner);
        let profile = match &key {
            BreakerKey::Upstream(server) => most_specific(&self.per_server, server),
            BreakerKey::Tool { tool, .. } => most_specific(&self.per_tool, tool),
        };
        let profile = profile.copied().unwrap_or(self.default_profile);
        breakers
            .entry(key)
            .or_insert_with(|| Arc::new(Breaker::new(profile)))
            .clone()
    }
}

/// A call let through by the breakers. Report how it ended with [`record`](Self::record).
#[derive(Debug)]
pub struct BreakerPass {
    entries: [Option<PassEntry>; 2],
    clock: Clock,
}

impl BreakerPass {
    /// Record how the call ended on the upstream's and the tool's breaker.
    pub fn record(mut self, outcome: CallOutcome) {
        let now = self.clock.now_nanos();
        let success = matches!(outcome, CallOutcome::Answered);
        for entry in self.entries.iter_mut().flatten() {
            entry.breaker.record(entry.admission, success, now);
            entry.recorded = true;
        }
    }
}

#[derive(Debug)]
struct PassEntry {
    breaker: Arc<Breaker>,
    admission: Admission,
    recorded: bool,
}

impl PassEntry {
    fn admit(breaker: Arc<Breaker>, now: u64, scope: BreakerScope) -> Result<Self, BreakerRefusal> {
        match breaker.admit(now) {
            Ok(admission) => Ok(Self {
                breaker,
                admission,
                recorded: false,
            }),
            Err(wait) => Err(BreakerRefusal {
                scope,
                retry_after: breaker.profile.include_retry_after.then_some(wait),
            }),
        }
    }
}

impl Drop for PassEntry {
    fn drop(&mut self) {
        if !self.recorded && self.admission == Admission::Probe {
            self.breaker.release_probe();
        }
    }
}

/// Seed 001's `CIRCUIT_BREAKER_CONFIG`.
fn builtin_profiles() -> HashMap<String, BreakerProfile> {
    let profile = |failure_threshold, secs, include_retry_after| BreakerProfile {
        failure_threshold,
        recovery_timeout: Duration::from_secs(secs),
        include_retry_after,
    };
    HashMap::from([
        (DEFAULT_PROFILE.to_owned(), profile(5, 60, false)),
        ("critical_tools".to_owned(), profile(3, 30, true)),
        ("non_critical_tools".to_owned(), profile(10, 120, false)),
    ])
}

fn compile_profile(config: &BreakerProfileConfig) -> Result<BreakerProfile, &'static str> {
    if config.failure_threshold == 0 {
        return Err("failure_threshold must be at least 1");
    }
    if config.recovery_timeout_secs == 0 {
        return Err("recovery_timeout_secs must be at least 1");
    }
    Ok(BreakerProfile {
        failure_threshold: config.failure_threshold,
        recovery_timeout: Duration::from_secs(config.recovery_timeout_secs),
        include_retry_after: config.include_retry_after,
    })
}
