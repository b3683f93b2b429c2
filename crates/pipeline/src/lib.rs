//! The message pipeline: every JSON-RPC message that crosses Sallyport, in either direction,
//! passes an ordered [`Chain`] of [`Guard`]s. Each guard returns a [`Verdict`] (allow, rewrite,
//! deny or hold); the chain folds them into a [`Decision`] and a [`DecisionRecord`] that the
//! relay publishes for audit, metrics and logs.
//!
//! This crate knows nothing of transports: guards see an [`Exchange`] (who, which upstream,
//! which method and tool, the message) and never bytes, sockets or HTTP.
//!
//! ```
//! use sallyport_pipeline::{Chain, Direction, Exchange, Principal, guards::ProtocolGuard};
//! use sallyport_mcp::{Message, RequestId, version::Era};
//! let chain = Chain::new(vec![Box::new(ProtocolGuard)]);
//! let msg = Message::request(RequestId::Number(1), "tools/list", None);
//! let principal = Principal::local();
//! let ex = Exchange::new(Direction::ClientToServer, &msg, &principal, Era::Legacy);
//! assert!(chain.run(&ex).decision.is_allowed());
//! ```
#![deny(missing_docs)]

mod chain;
mod deny;
mod exchange;
pub mod glob;
pub mod guards;
mod principal;
mod record;
mod verdict;

pub use chain::{Chain, ChainOutput, Decision};
pub use deny::{Denial, DenyCode, Origin};
pub use exchange::{Direction, Exchange};
pub use principal::{Principal, PrincipalDetails, PrincipalKind};
pub use record::{DecisionRecord, DecisionSink, GuardRecord, Outcome};
pub use verdict::{FailureMode, Guard, GuardError, Hold, Verdict};
