//! A value that never shows itself: routing keys, webhook URLs that embed a token.

use std::fmt;

/// What `Debug` prints instead of a secret.
pub const REDACTED: &str = "***";

/// A secret held in memory. `Debug` prints `***`; only [`Secret::expose`] hands the value
/// out, at the point where it is consumed (a request body, a request URL).
///
/// ```
/// use sallyport_notify::Secret;
///
/// let key = Secret::new("R0UT1NGKEY".to_owned());
/// assert_eq!(format!("{key:?}"), "***");
/// assert_eq!(key.expose(), "R0UT1NGKEY");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself. Use it only where the value is consumed.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}
