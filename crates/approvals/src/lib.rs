//! Human approval of held calls.
//!
//! A guard that holds a `tools/call` (a detector's `require_approval`, an unmet step-up with
//! `on_unmet: hold`) makes the gateway file an [`Approval`] request bound to the exact call:
//! principal, tenant, server, tool, the digest of the arguments and the policy version
//! ([`ApprovalBinding`]). An operator approves or denies it (`sallyport approvals`, or the
//! admin API); an approval expires and admits one call only, the one it is bound to: other
//! arguments make another binding and need their own approval.
//!
//! The store is SQLite, a file shared by the gateway and the CLI (or memory for tests).
//!
//! ```
//! use sallyport_approvals::{ApprovalBinding, ApprovalState, ApprovalStore};
//!
//! let store = ApprovalStore::in_memory().unwrap();
//! let call = ApprovalBinding::new("alice", None, "fs", "delete_file", "sha256:ab12", "p1");
//! let pending = store.request(&call, "require_approval: destructive tool", 1_000, 3_600_000).unwrap();
//! assert_eq!(pending.state, ApprovalState::Pending);
//! store.approve(&pending.id, "bob", None, 2_000, 600_000).unwrap();
//! assert!(store.consume(&pending.id, &call, 3_000).unwrap());
//! // Single use: the same call needs a new approval.
//! assert!(!store.consume(&pending.id, &call, 4_000).unwrap());
//! ```
#![deny(missing_docs)]

mod binding;
mod config;
mod store;
mod wait;

pub use binding::ApprovalBinding;
pub use config::ApprovalsConfig;
pub use store::{Approval, ApprovalError, ApprovalState, ApprovalStore, now_ms};
pub use wait::{Waited, wait_for_decision};
