//! Sallyport's edges: downstream listeners (Streamable HTTP, HTTP+SSE, stdio), upstream
//! connectors, sessions, federation of many upstreams behind one endpoint, and the relay that
//! runs the guard chain on every message in both directions.

pub mod approvals;
pub mod audit;
pub mod build;
pub mod bus;
pub mod downstream;
pub mod exchange_span;
pub mod federation;
pub mod gateway;
pub mod health;
pub mod inline_wakes;
pub mod inventory;
pub mod mirrored;
pub mod relay;
pub mod session;
pub mod trace_context;
pub mod traffic;
pub mod upstream;

pub use gateway::{Core, EdgeSettings, Gateway};

/// Locks a std mutex, tolerating poison: a task that panicked mid-update leaves maps that are
/// still usable (every critical section here is a single insert, remove or lookup).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
