//! Alert notifications for the response orchestrator: a generic webhook signed with
//! HMAC-SHA-256, Slack incoming webhooks and the PagerDuty Events API v2, each delivered in
//! the background with retries, exponential backoff and jitter.
//!
//! The gateway builds [`Sink`]s from a [`NotifyConfig`], starts a [`Notifier`], and hands it
//! [`Notification`]s; [`Notifier::notify`] never blocks the data path. Receivers of the
//! generic webhook check requests with [`verify_signature`]. User documentation:
//! `docs/notifications.md`.
//!
//! ```no_run
//! use std::time::Duration;
//! use sallyport_notify::{Notification, Notifier, NotifyConfig, Severity};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config: NotifyConfig = serde_json::from_str(
//!     r#"{"sinks": [{"name": "soc", "kind": "webhook",
//!                    "url": "https://soc.example.com/hooks/sallyport",
//!                    "secret_env": "SALLYPORT_WEBHOOK_SECRET"}]}"#,
//! )?;
//! let sinks = config.build().map_err(|errors| format!("{errors:?}"))?;
//! let client = reqwest::Client::builder()
//!     .redirect(reqwest::redirect::Policy::none())
//!     .build()?;
//! let notifier = Notifier::start(sinks, client);
//! notifier.notify(&Notification {
//!     id: "n-1".into(),
//!     time_ms: 1_700_000_000_000,
//!     rule_id: "credential_stuffing".into(),
//!     title: "Credential stuffing".into(),
//!     severity: Severity::High,
//!     mitre: vec!["T1110".into()],
//!     key: vec![("principal".into(), "alice".into())],
//!     summary: "12 failed logins in 60 s".into(),
//!     actions_taken: vec![],
//!     incident_id: None,
//! });
//! notifier.shutdown(Duration::from_secs(5)).await;
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod config;
mod delivery;
mod format;
mod notification;
mod notifier;
mod secret;
mod signature;
mod sink;
mod stats;

pub use config::{ConfigError, ConfigProblem, NotifyConfig, SinkConfig, SinkKind};
pub use notification::{Notification, Severity};
pub use notifier::Notifier;
pub use secret::{REDACTED, Secret};
pub use signature::{
    DEFAULT_TOLERANCE, EVENT_ID_HEADER, SIGNATURE_HEADER, SIGNATURE_PREFIX, TIMESTAMP_HEADER,
    VerifyError, sign, verify_signature,
};
pub use sink::Sink;
pub use stats::SinkStats;

/// The notification unit tests share.
#[cfg(test)]
fn test_notification() -> Notification {
    Notification {
        id: "n-1".to_owned(),
        time_ms: 1_700_000_000_000,
        rule_id: "credential_stuffing".to_owned(),
        title: "Credential stuffing".to_owned(),
        severity: Severity::High,
        mitre: vec!["T1110".to_owned()],
        key: vec![
            ("principal".to_owned(), "alice".to_owned()),
            ("client_ip".to_owned(), "203.0.113.7".to_owned()),
        ],
        summary: "12 failed logins in 60 s".to_owned(),
        actions_taken: vec!["blocked principal alice for 3600 s".to_owned()],
        incident_id: Some("inc-7".to_owned()),
    }
}
