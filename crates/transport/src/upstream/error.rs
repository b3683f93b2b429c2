//! Why talking to an upstream failed.

use thiserror::Error;

/// A failure reaching or talking to an upstream server.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The child process could not be started.
    #[error("upstream {server}: could not start {command:?}: {reason}")]
    Spawn {
        /// Upstream name.
        server: String,
        /// Program.
        command: String,
        /// OS error.
        reason: String,
    },
    /// An HTTP request failed before any response.
    #[error("upstream {server}: HTTP request failed: {reason}")]
    Http {
        /// Upstream name.
        server: String,
        /// What failed.
        reason: String,
    },
    /// The handshake (initialize or discover) failed.
    #[error("upstream {server}: handshake failed: {reason}")]
    Handshake {
        /// Upstream name.
        server: String,
        /// What failed.
        reason: String,
    },
    /// The connection is closed (process exited, stream ended, session expired).
    #[error("upstream {server} is not connected")]
    Closed {
        /// Upstream name.
        server: String,
    },
    /// Restarts are exhausted, or the upstream is in back-off.
    #[error("upstream {server} is unavailable: {reason}")]
    Unavailable {
        /// Upstream name.
        server: String,
        /// Why.
        reason: String,
    },
    /// No answer within the request timeout.
    #[error("upstream {server} did not answer within {secs} s")]
    Timeout {
        /// Upstream name.
        server: String,
        /// Timeout.
        secs: u64,
    },
}
