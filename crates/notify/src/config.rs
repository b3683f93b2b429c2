//! Configuration of notification sinks (`notifications:` in sallyport.yaml), and its errors.

mod build;
mod endpoint;

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::notification::Severity;
use crate::sink::Sink;

/// Where alerts are sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct NotifyConfig {
    /// The destinations; each gets every notification at or above its `min_severity`.
    #[serde(default)]
    pub sinks: Vec<SinkConfig>,
}

/// What a sink speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SinkKind {
    /// A JSON POST signed with HMAC-SHA-256 (`X-Sallyport-Signature`), for your own receiver.
    Webhook,
    /// A Slack incoming webhook (Block Kit message).
    Slack,
    /// The PagerDuty Events API v2 (a `trigger` event).
    #[serde(rename = "pagerduty")]
    PagerDuty,
}

impl SinkKind {
    /// The stable name used in configuration, logs and metrics (`"pagerduty"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Slack => "slack",
            Self::PagerDuty => "pagerduty",
        }
    }
}

impl fmt::Display for SinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One destination.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct SinkConfig {
    /// Name in logs and metrics: 1 to 64 letters, digits, `-`, `_` or `.`; unique.
    pub name: String,
    /// What the sink speaks: `webhook`, `slack` or `pagerduty`.
    pub kind: SinkKind,
    /// Where to POST. `https` is required except to a loopback host. Required for `webhook`
    /// and `slack` unless `url_env` is given; `pagerduty` defaults to
    /// `https://events.pagerduty.com/v2/enqueue`.
    #[serde(default)]
    pub url: Option<String>,
    /// Environment variable holding the URL instead of `url`: a Slack incoming-webhook URL is
    /// itself a credential.
    #[serde(default)]
    pub url_env: Option<String>,
    /// `webhook` only, required: environment variable holding the HMAC-SHA-256 key (at
    /// least 16 bytes; 32 random bytes recommended).
    #[serde(default)]
    pub secret_env: Option<String>,
    /// `pagerduty` only, required: environment variable holding the Events API v2 routing
    /// (integration) key.
    #[serde(default)]
    pub routing_key_env: Option<String>,
    /// Notifications below this severity are not sent to this sink.
    #[serde(default = "default_min_severity")]
    pub min_severity: Severity,
    /// Timeout of one delivery attempt, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Attempts per notification (the first included) before it counts as failed.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Delay before the first retry, in milliseconds; doubles per retry, with jitter.
    #[serde(default = "default_initial_backoff_ms")]
    pub initial_backoff_ms: u64,
    /// Longest delay between attempts, in milliseconds (also caps `Retry-After`).
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// Notifications waiting for this sink at most; more are dropped and counted.
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: usize,
}

fn default_min_severity() -> Severity {
    Severity::High
}

fn default_timeout_ms() -> u64 {
    5_000
}

fn default_max_attempts() -> u32 {
    5
}

fn default_initial_backoff_ms() -> u64 {
    500
}

fn default_max_backoff_ms() -> u64 {
    30_000
}

fn default_queue_capacity() -> usize {
    1_000
}

impl NotifyConfig {
    /// Validates every sink and reads its secrets from the process environment.
    /// Returns every problem found, not only the first.
    pub fn build(&self) -> Result<Vec<Sink>, Vec<ConfigError>> {
        self.build_with_env(|var| std::env::var(var).ok())
    }

    /// [`NotifyConfig::build`] with environment variables looked up by `env`.
    pub fn build_with_env(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<Sink>, Vec<ConfigError>> {
        build::build_sinks(&self.sinks, &env)
    }
}

/// A configuration problem, located at one field of one sink.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sinks[{index}] ({sink}): {field}: {problem}")]
pub struct ConfigError {
    /// Position of the sink in `sinks`.
    pub index: usize,
    /// Name of the sink, as configured.
    pub sink: String,
    /// The offending field (`"secret_env"`).
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: ConfigProblem,
}

/// What is wrong with a sink's field. Never contains a secret or a secret URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// The named environment variable is not set (or not valid UTF-8).
    #[error("environment variable `{var}` is not set")]
    MissingEnv {
        /// Name of the variable.
        var: String,
    },
    /// The named environment variable is set but empty.
    #[error("environment variable `{var}` is empty")]
    EmptyEnv {
        /// Name of the variable.
        var: String,
    },
    /// The field is required for this kind of sink.
    #[error("required for kind `{kind}`")]
    Required {
        /// The sink's kind.
        kind: SinkKind,
    },
    /// The field means nothing for this kind of sink.
    #[error("not used by kind `{kind}`")]
    NotAllowed {
        /// The sink's kind.
        kind: SinkKind,
    },
    /// Two fields that exclude each other are both set.
    #[error("cannot be combined with `{other}`")]
    Conflict {
        /// The other field.
        other: &'static str,
    },
    /// The URL does not parse.
    #[error("not a valid URL: {reason}")]
    InvalidUrl {
        /// The parser's reason.
        reason: String,
    },
    /// The URL's scheme is neither `https` nor `http`.
    #[error("scheme `{scheme}` is not supported; use https")]
    UnsupportedScheme {
        /// The scheme found.
        scheme: String,
    },
    /// Plain `http` to a host that is not loopback: alerts and signatures would cross the
    /// network in clear.
    #[error("plain http is allowed only to a loopback host, not `{host}`; use https")]
    InsecureHttp {
        /// The host found.
        host: String,
    },
    /// A number below its minimum.
    #[error("must be at least {min}")]
    TooSmall {
        /// The smallest accepted value.
        min: u64,
    },
    /// A number above its maximum.
    #[error("must be at most {max}")]
    TooLarge {
        /// The largest accepted value.
        max: u64,
    },
    /// The HMAC secret is too short to resist guessing.
    #[error("the secret in `{var}` is {len} bytes; at least {min} are required")]
    SecretTooShort {
        /// Name of the variable.
        var: String,
        /// Its length in bytes.
        len: usize,
        /// The minimum length in bytes.
        min: usize,
    },
    /// The name is empty, too long, or has characters other than letters, digits, `-`,
    /// `_` and `.`.
    #[error("must be 1 to 64 letters, digits, `-`, `_` or `.`")]
    InvalidName,
    /// Another sink already has this name.
    #[error("already used by sinks[{first}]")]
    DuplicateName {
        /// Position of the first sink with this name.
        first: usize,
    },
}
