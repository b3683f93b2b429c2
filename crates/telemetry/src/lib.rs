//! Prometheus metrics for Sallyport, fed from the decision bus, and OpenTelemetry trace export.
//!
//! [`Metrics`] holds every family (seed 001's security metrics, seed 003's server metrics and
//! the `sallyport_*` ones) in one registry. A [`DecisionObserver`] turns each
//! [`DecisionRecord`](sallyport_pipeline::DecisionRecord) into metric updates;
//! [`subscriber::spawn`] runs one on a bus subscription. Values that records do not carry
//! (sessions, breaker states, the audit queue) are set through hooks on [`Metrics`].
//! Labels are bounded: no principals, only configured servers, a capped set of tool names.
//! [`otlp`] exports `tracing` spans (a span per exchange) to an OTLP/HTTP collector.
//!
//! ```
//! use std::sync::Arc;
//! use sallyport_telemetry::{DecisionObserver, Metrics};
//! let metrics = Arc::new(Metrics::new(["fs".to_owned()]));
//! let mut observer = DecisionObserver::new(metrics.clone());
//! # let record = sallyport_telemetry::testing::record();
//! observer.observe(&record);
//! metrics.set_active_sessions("http", 2);
//! assert!(metrics.encode().contains("mcp_active_sessions{session_type=\"http\"} 2"));
//! ```
#![deny(missing_docs)]

pub mod classify;
pub mod families;
pub mod in_flight;
pub mod labels;
mod metrics;
mod observer;
pub mod otlp;
mod response;
pub mod subscriber;
#[doc(hidden)]
pub mod testing;

pub use metrics::{AuditSnapshot, BreakerPosition, CONTENT_TYPE, Metrics};
pub use observer::DecisionObserver;
pub use response::{ActionLabels, ResponseSnapshot, RuleLabels, SinkLabels};
