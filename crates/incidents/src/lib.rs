//! Incidents: the alerts of correlation rules, grouped.
//!
//! Alerts for the same key (a principal, an address) within `group_window_secs` of the
//! incident's last alert join that incident while it is open or acknowledged; its severity is
//! the highest of its alerts. Operators move an incident from `open` to `acknowledged` to
//! `resolved` (`sallyport incidents`). A resolved incident takes no more alerts: the next
//! alert for its key opens a new one.
//!
//! ```
//! use sallyport_incidents::{IncidentState, IncidentStore, NewAlert};
//!
//! let store = IncidentStore::in_memory().unwrap();
//! let alert = |rule: &str, at| NewAlert {
//!     key: "source_ip=203.0.113.7".into(),
//!     rule_id: rule.into(),
//!     title: rule.into(),
//!     severity: "high".into(),
//!     mitre: vec!["T1110".into()],
//!     time_ms: at,
//!     detail: "{}".into(),
//! };
//! let first = store.record(&alert("brute_force", 1_000), 3_600_000).unwrap();
//! let second = store.record(&alert("credential_stuffing", 2_000), 3_600_000).unwrap();
//! assert_eq!(first.id, second.id);
//! assert_eq!(second.alerts, 2);
//! store.acknowledge(&first.id, "olga", None, 3_000).unwrap();
//! let resolved = store.resolve(&first.id, "olga", Some("blocked upstream"), 4_000).unwrap();
//! assert_eq!(resolved.state, IncidentState::Resolved);
//! ```
#![deny(missing_docs)]

mod config;
mod store;

pub use config::IncidentsConfig;
pub use store::{Incident, IncidentAlert, IncidentError, IncidentState, IncidentStore, NewAlert};
