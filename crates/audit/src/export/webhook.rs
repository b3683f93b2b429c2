//! HTTP webhook exporter: JSON Lines bodies signed with HMAC-SHA-256, retried with backoff.

use std::time::Duration;

use aws_lc_rs::hmac;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::chain::ChainEntry;
use crate::export::{ExportError, ExportFuture, Exporter};

/// Header carrying `sha256=<hex HMAC-SHA-256(secret, "<timestamp>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "x-sallyport-signature";
/// Header carrying the Unix timestamp (seconds) that was signed.
pub const TIMESTAMP_HEADER: &str = "x-sallyport-timestamp";

/// A webhook receiver.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct WebhookConfig {
    /// The URL events are POSTed to.
    pub url: String,
    /// Environment variable holding the HMAC secret.
    pub secret_env: String,
    /// Attempts per batch before giving up.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt up to 30 s.
    #[serde(default = "default_backoff")]
    pub initial_backoff_ms: u64,
    /// Per-request timeout.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

fn default_attempts() -> u32 {
    5
}

fn default_backoff() -> u64 {
    200
}

fn default_timeout() -> u64 {
    10_000
}

/// POSTs batches of entries as `application/x-ndjson`.
#[derive(Debug)]
pub struct WebhookExporter {
    client: reqwest::Client,
    url: String,
    key: hmac::Key,
    max_attempts: u32,
    initial_backoff: Duration,
}

impl WebhookExporter {
    /// From configuration (reads the secret from the environment).
    pub fn from_config(config: &WebhookConfig) -> Result<Self, ExportError> {
        let secret = std::env::var(&config.secret_env)
            .map_err(|_| ExportError::MissingSecret(config.secret_env.clone()))?;
        Self::new(
            &config.url,
            secret.as_bytes(),
            config.max_attempts,
            Duration::from_millis(config.initial_backoff_ms),
            Duration::from_millis(config.timeout_ms),
        )
    }

    /// An exporter posting to `url`, signing with `secret`.
    pub fn new(
        url: &str,
        secret: &[u8],
        max_attempts: u32,
        initial_backoff: Duration,
        timeout: Duration,
    ) -> Result<Self, ExportError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            client,
            url: url.to_owned(),
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            max_attempts: max_attempts.max(1),
            initial_backoff,
        })
    }

    async fn send(&self, entries: &[ChainEntry]) -> Result<(), ExportError> {
        let mut body = String::new();
        for e in entries {
            body.push_str(&e.to_json_line());
            body.push('\n');
        }
        let timestamp = (crate::event::now_unix_ms() / 1000).to_string();
        let signature = sign(&self.key, &timestamp, body.as_bytes());
        let mut backoff = self.initial_backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .client
                .post(&self.url)
                .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
                .header(TIMESTAMP_HEADER, &timestamp)
                .header(SIGNATURE_HEADER, &signature)
                .body(body.clone())
                .send()
                .await;
            let retry = match result {
                Ok(resp) if resp.status().is_success() => return Ok(()),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if !(status == 408 || status == 429 || status >= 500)
                        || attempt >= self.max_attempts
                    {
                        return Err(ExportError::Status {
                            status,
                            attempts: attempt,
                        });
                    }
                    status
                }
                Err(error) if attempt >= self.max_attempts => return Err(error.into()),
                Err(_) => 0,
            };
            tracing::debug!(
                attempt,
                status = retry,
                "Audit webhook delivery failed; retrying."
            );
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }
}

impl Exporter for WebhookExporter {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn export<'a>(&'a self, entries: &'a [ChainEntry]) -> ExportFuture<'a> {
        Box::pin(self.send(entries))
    }
}

/// `sha256=<hex HMAC-SHA-256(key, "<timestamp>.<body>")>`: what receivers recompute.
pub fn sign(key: &hmac::Key, timestamp: &str, body: &[u8]) -> String {
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(timestamp.as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("sha256={}", hex::encode(ctx.sign().as_ref()))
}
