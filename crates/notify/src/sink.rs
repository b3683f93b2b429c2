//! A validated sink, ready to deliver: built by [`crate::NotifyConfig::build`].

use std::fmt;
use std::time::Duration;

use url::Url;

use crate::config::SinkKind;
use crate::delivery::RetryPolicy;
use crate::format::Format;
use crate::notification::Severity;
use crate::secret::Secret;

/// One destination with its secrets loaded. `Debug` shows its name, kind and host only,
/// never the URL path or query (a Slack URL is a credential) nor any key.
pub struct Sink {
    pub(crate) name: String,
    pub(crate) endpoint: Secret<Url>,
    pub(crate) format: Format,
    pub(crate) min_severity: Severity,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) queue_capacity: usize,
}

impl Sink {
    /// The configured name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the sink speaks.
    pub fn kind(&self) -> SinkKind {
        self.format.kind()
    }

    /// Notifications below this severity are not sent here.
    pub fn min_severity(&self) -> Severity {
        self.min_severity
    }

    /// The host notifications are sent to (not secret, unlike the rest of a Slack URL).
    pub fn host(&self) -> &str {
        self.endpoint.expose().host_str().unwrap_or_default()
    }
}

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sink")
            .field("name", &self.name)
            .field("kind", &self.kind())
            .field("host", &self.host())
            .field("min_severity", &self.min_severity)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("queue_capacity", &self.queue_capacity)
            .finish_non_exhaustive()
    }
}
