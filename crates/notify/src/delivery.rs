//! Delivering one notification to one sink: attempts, which failures are retried, and the
//! exponential backoff with jitter between attempts.
//!
//! Retried: transport errors (connect, timeout, reset), 408, 429 and 5xx. A `Retry-After`
//! header in seconds on a 429 or 503 replaces the computed delay (capped at the sink's
//! maximum backoff). Any other answer is permanent: a 4xx means the request itself is
//! wrong (a revoked Slack URL, a bad routing key) and sending it again will not help.

use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER, USER_AGENT};

use crate::notification::Notification;
use crate::sink::Sink;
use crate::stats::SinkCounters;

const USER_AGENT_VALUE: &str = concat!("sallyport/", env!("CARGO_PKG_VERSION"));
/// Failure warnings per sink are logged at most this often; the rest go to DEBUG.
const WARN_INTERVAL: Duration = Duration::from_secs(10);

/// How many times and how patiently a sink retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Attempts per notification, the first included (at least 1).
    pub(crate) max_attempts: u32,
    /// Delay before the first retry.
    pub(crate) initial_backoff: Duration,
    /// Longest delay, also the cap on `Retry-After`.
    pub(crate) max_backoff: Duration,
}

impl RetryPolicy {
    /// The delay before retry number `retry` (1 for the first): `initial × 2^(retry-1)`,
    /// capped, then drawn uniformly from its upper half ("equal jitter"), so sinks that
    /// failed together do not retry in lockstep.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(31);
        let full = self
            .initial_backoff
            .saturating_mul(1 << exponent)
            .min(self.max_backoff);
        let half = full / 2;
        let spread = u64::try_from((full - half).as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(rand::rng().random_range(0..=spread))
    }

    /// The delay before retry number `retry`, honouring the receiver's `Retry-After`.
    fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        retry_after.map_or_else(|| self.backoff(retry), |wait| wait.min(self.max_backoff))
    }
}

/// What one attempt came to.
enum Outcome {
    Delivered(StatusCode),
    Retryable {
        failure: Failure,
        retry_after: Option<Duration>,
    },
    Permanent(Failure),
}

/// Why an attempt failed. Rendered without the URL (a Slack URL is a credential).
enum Failure {
    Status(StatusCode),
    Transport(reqwest::Error),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(status) => write!(f, "HTTP {}", status.as_u16()),
            Self::Transport(error) => {
                write!(f, "{error}")?;
                let mut source = std::error::Error::source(error);
                while let Some(cause) = source {
                    write!(f, ": {cause}")?;
                    source = cause.source();
                }
                Ok(())
            }
        }
    }
}

/// Logs at most one failure warning per [`WARN_INTERVAL`], so a dead receiver under an
/// alert storm cannot flood the logs; it counts the ones it held back.
#[derive(Debug, Default)]
pub(crate) struct WarnLimiter {
    last: Option<Instant>,
    suppressed: u64,
}

impl WarnLimiter {
    /// `Some(held back since the last warning)` when a warning may be logged now.
    fn allow(&mut self) -> Option<u64> {
        self.allow_at(Instant::now())
    }

    fn allow_at(&mut self, now: Instant) -> Option<u64> {
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < WARN_INTERVAL)
        {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// Delivers `notification` to `sink`, retrying as the policy allows, and counts the result.
pub(crate) async fn deliver(
    sink: &Sink,
    client: &reqwest::Client,
    notification: &Notification,
    counters: &SinkCounters,
    warnings: &mut WarnLimiter,
) {
    let body = sink.format.body(notification);
    let policy = sink.retry;
    let mut attempt = 1;
    loop {
        let (failure, retry_after) = match send_once(sink, client, notification, &body).await {
            Outcome::Delivered(status) => {
                SinkCounters::add(&counters.sent, 1);
                tracing::debug!(
                    event_id = %notification.id,
                    attempt,
                    status = status.as_u16(),
                    "Notification delivered."
                );
                return;
            }
            Outcome::Permanent(failure) => {
                SinkCounters::add(&counters.failed, 1);
                give_up(notification, attempt, &failure, warnings);
                return;
            }
            Outcome::Retryable {
                failure,
                retry_after,
            } => (failure, retry_after),
        };
        if attempt >= policy.max_attempts {
            SinkCounters::add(&counters.failed, 1);
            give_up(notification, attempt, &failure, warnings);
            return;
        }
        let delay = policy.delay(attempt, retry_after);
        tracing::debug!(
            event_id = %notification.id,
            attempt,
            reason = %failure,
            delay_ms = delay.as_millis(),
            "Notification delivery failed; retrying."
        );
        SinkCounters::add(&counters.retried, 1);
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

fn give_up(
    notification: &Notification,
    attempts: u32,
    failure: &Failure,
    warnings: &mut WarnLimiter,
) {
    match warnings.allow() {
        Some(suppressed) => tracing::warn!(
            event_id = %notification.id,
            attempts,
            reason = %failure,
            suppressed,
            "Notification not delivered."
        ),
        None => tracing::debug!(
            event_id = %notification.id,
            attempts,
            reason = %failure,
            "Notification not delivered."
        ),
    }
}

async fn send_once(
    sink: &Sink,
    client: &reqwest::Client,
    notification: &Notification,
    body: &str,
) -> Outcome {
    let now_secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let mut request = client
        .post(sink.endpoint.expose().clone())
        .timeout(sink.timeout)
        .header(CONTENT_TYPE, "application/json")
        .header(USER_AGENT, USER_AGENT_VALUE);
    for (name, value) in sink.format.headers(notification, body, now_secs) {
        request = request.header(name, value);
    }
    match request.body(body.to_owned()).send().await {
        Ok(response) => classify_status(response.status(), response.headers()),
        // A request that cannot be built (a header value with a newline) never will be.
        Err(error) if error.is_builder() => {
            Outcome::Permanent(Failure::Transport(error.without_url()))
        }
        Err(error) => Outcome::Retryable {
            failure: Failure::Transport(error.without_url()),
            retry_after: None,
        },
    }
}

fn classify_status(status: StatusCode, headers: &HeaderMap) -> Outcome {
    if status.is_success() {
        return Outcome::Delivered(status);
    }
    let retryable = status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error();
    if !retryable {
        return Outcome::Permanent(Failure::Status(status));
    }
    let honours_retry_after =
        status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE;
    Outcome::Retryable {
        failure: Failure::Status(status),
        retry_after: honours_retry_after.then(|| retry_after(headers)).flatten(),
    }
}

/// `Retry-After` in delay-seconds form; the HTTP-date form falls back to the backoff.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(initial_ms: u64, max_ms: u64) -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(initial_ms),
            max_backoff: Duration::from_millis(max_ms),
        }
    }

    #[test]
    fn backoff_doubles_within_its_jitter_band_and_is_capped() {
        let policy = policy(100, 1_000);
        for _ in 0..200 {
            for (retry, full) in [
                (1, 100),
                (2, 200),
                (3, 400),
                (4, 800),
                (5, 1_000),
                (40, 1_000),
            ] {
                let delay = policy.backoff(retry);
                assert!(
                    delay >= Duration::from_millis(full / 2),
                    "{retry}: {delay:?}"
                );
                assert!(delay <= Duration::from_millis(full), "{retry}: {delay:?}");
            }
        }
    }

    #[test]
    fn retry_after_replaces_the_backoff_but_not_the_cap() {
        let policy = policy(100, 1_000);
        assert_eq!(policy.delay(1, Some(Duration::ZERO)), Duration::ZERO);
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3_600))),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn statuses_are_classified() {
        let mut headers = HeaderMap::new();
        let class = |status: u16, headers: &HeaderMap| match classify_status(
            StatusCode::from_u16(status).unwrap_or_default(),
            headers,
        ) {
            Outcome::Delivered(_) => "delivered",
            Outcome::Retryable { .. } => "retry",
            Outcome::Permanent(_) => "permanent",
        };
        for (status, expected) in [
            (200, "delivered"),
            (202, "delivered"),
            (301, "permanent"),
            (400, "permanent"),
            (401, "permanent"),
            (404, "permanent"),
            (408, "retry"),
            (429, "retry"),
            (500, "retry"),
            (503, "retry"),
        ] {
            assert_eq!(class(status, &headers), expected, "{status}");
        }
        headers.insert(
            RETRY_AFTER,
            reqwest::header::HeaderValue::from_static(" 7 "),
        );
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            reqwest::header::HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn warnings_are_limited_and_count_what_they_hold_back() {
        let mut limiter = WarnLimiter::default();
        let start = Instant::now();
        assert_eq!(limiter.allow_at(start), Some(0));
        assert_eq!(limiter.allow_at(start + Duration::from_secs(1)), None);
        assert_eq!(limiter.allow_at(start + Duration::from_secs(9)), None);
        assert_eq!(limiter.allow_at(start + WARN_INTERVAL), Some(2));
        assert_eq!(limiter.allow_at(start + WARN_INTERVAL), None);
    }
}
