//! Timeout lookup: which deadline applies to a call.

use std::time::Duration;

use crate::config::{ConfigError, TimeoutConfig};
use crate::pattern::most_specific;

/// Compiled [`TimeoutConfig`].
#[derive(Debug, Clone)]
pub struct Timeouts {
    connect: Duration,
    request: Duration,
    per_server: Vec<(String, Duration)>,
    per_tool: Vec<(String, Duration)>,
    idle_stream: Duration,
    max_stream_life: Duration,
}

impl Timeouts {
    /// Compile `config`; every timeout must be at least one second.
    pub fn new(config: &TimeoutConfig) -> Result<Self, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut secs = |path: String, value: u64| {
            if value == 0 {
                errors.push(ConfigError::new(path, "must be at least 1"));
            }
            Duration::from_secs(value)
        };
        let connect = secs("connect_timeout_secs".into(), config.connect_timeout_secs);
        let request = secs("request_timeout_secs".into(), config.request_timeout_secs);
        let idle_stream = secs(
            "idle_stream_timeout_secs".into(),
            config.idle_stream_timeout_secs,
        );
        let max_stream_life = secs("max_stream_life_secs".into(), config.max_stream_life_secs);
        let mut table = |section: &str, map: &std::collections::BTreeMap<String, u64>| {
            map.iter()
                .map(|(pattern, &value)| {
                    (pattern.clone(), secs(format!("{section}.{pattern}"), value))
                })
                .collect::<Vec<_>>()
        };
        let per_server = table(
            "per_server_request_timeout_secs",
            &config.per_server_request_timeout_secs,
        );
        let per_tool = table(
            "per_tool_request_timeout_secs",
            &config.per_tool_request_timeout_secs,
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            connect,
            request,
            per_server,
            per_tool,
            idle_stream,
            max_stream_life,
        })
    }

    /// The request timeout of a call to `tool` (a `tools/call`) or of any other request
    /// (`None`) on `server`: the most specific tool pattern, else the most specific server
    /// pattern, else `request_timeout_secs`.
    pub fn timeout_for(&self, server: &str, tool: Option<&str>) -> Duration {
        tool.and_then(|tool| most_specific(&self.per_tool, tool))
            .or_else(|| most_specific(&self.per_server, server))
            .copied()
            .unwrap_or(self.request)
    }

    /// Establishing a connection to an upstream.
    pub fn connect_timeout(&self) -> Duration {
        self.connect
    }

    /// How long an SSE stream may go without an event.
    pub fn idle_stream_timeout(&self) -> Duration {
        self.idle_stream
    }

    /// How long an SSE stream may live.
    pub fn max_stream_life(&self) -> Duration {
        self.max_stream_life
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        let config = TimeoutConfig::default();
        Self {
            connect: Duration::from_secs(config.connect_timeout_secs),
            request: Duration::from_secs(config.request_timeout_secs),
            per_server: Vec::new(),
            per_tool: Vec::new(),
            idle_stream: Duration::from_secs(config.idle_stream_timeout_secs),
            max_stream_life: Duration::from_secs(config.max_stream_life_secs),
        }
    }
}
