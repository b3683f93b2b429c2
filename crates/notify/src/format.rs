//! Payload formats: what each kind of sink sends for a notification.

mod pagerduty;
mod slack;
mod webhook;

use aws_lc_rs::hmac;
use serde_json::{Map, Value};

use crate::config::SinkKind;
use crate::notification::Notification;
use crate::secret::Secret;
use crate::signature::{EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_with_key};

/// A sink's payload format together with the credential it needs.
pub(crate) enum Format {
    /// Generic JSON, signed with this HMAC-SHA-256 key.
    Webhook {
        /// The signing key, boxed: it is large and the other variants are small.
        key: Box<hmac::Key>,
    },
    /// A Slack Block Kit message; the credential is the URL itself.
    Slack,
    /// A PagerDuty Events API v2 trigger event.
    PagerDuty {
        /// The integration's routing key.
        routing_key: Secret<String>,
    },
}

impl Format {
    /// The kind of sink this format belongs to.
    pub(crate) fn kind(&self) -> SinkKind {
        match self {
            Self::Webhook { .. } => SinkKind::Webhook,
            Self::Slack => SinkKind::Slack,
            Self::PagerDuty { .. } => SinkKind::PagerDuty,
        }
    }

    /// The JSON body, rendered once per notification and reused by every attempt.
    pub(crate) fn body(&self, notification: &Notification) -> String {
        let value = match self {
            Self::Webhook { .. } => webhook::body(notification),
            Self::Slack => slack::message(notification),
            Self::PagerDuty { routing_key } => pagerduty::event(notification, routing_key.expose()),
        };
        value.to_string()
    }

    /// Headers beyond `Content-Type` for one attempt sent at `now_secs` (Unix seconds).
    /// Webhook requests are signed per attempt, so a retry carries a fresh timestamp.
    pub(crate) fn headers(
        &self,
        notification: &Notification,
        body: &str,
        now_secs: u64,
    ) -> Vec<(&'static str, String)> {
        match self {
            Self::Webhook { key } => {
                let timestamp = now_secs.to_string();
                let signature = sign_with_key(key, &timestamp, body.as_bytes());
                vec![
                    (EVENT_ID_HEADER, notification.id.clone()),
                    (TIMESTAMP_HEADER, timestamp),
                    (SIGNATURE_HEADER, signature),
                ]
            }
            Self::Slack | Self::PagerDuty { .. } => Vec::new(),
        }
    }
}

/// The correlation key as a JSON object, in order (a repeated name keeps its last value).
fn key_object(notification: &Notification) -> Value {
    let map: Map<String, Value> = notification
        .key
        .iter()
        .map(|(name, value)| (name.clone(), Value::String(value.clone())))
        .collect();
    Value::Object(map)
}
